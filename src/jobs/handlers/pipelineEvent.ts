import { z } from 'zod';
import { countGitLabCalls } from '../../gitlab/callBudget.js';
import { type PipelineEventPayload, type PipelineSnapshot, TERMINAL_STATUSES } from '../../webhooks/events.js';
import type { JobContext, JobHandler } from '../Worker.js';
import { fetchSnapshot } from './pipelineSnapshot.js';
import { type RecordDeps, type RecordOutcome, recordPipeline } from './recordPipeline.js';

const payloadSchema = z.union([
  z.object({ source: z.literal('webhook'), snapshot: z.custom<PipelineSnapshot>((v) => !!v && typeof v === 'object') }),
  z.object({ source: z.literal('reconcile'), projectId: z.number(), pipelineId: z.number() }),
]);

/** `afterRecord` runs once the run is recorded (and handed to the learner): the proposal outcome notes. */
export function pipelineEventHandler(
  deps: RecordDeps,
  afterRecord?: (snapshot: PipelineSnapshot, ctx: JobContext, recorded: RecordOutcome) => Promise<void>,
): JobHandler {
  return async (raw: unknown, ctx: JobContext) => {
    const payload = payloadSchema.parse(raw) as PipelineEventPayload;
    const { result: outcome, calls } = await countGitLabCalls(async () => {
      const snapshot =
        payload.source === 'webhook'
          ? payload.snapshot
          : await fetchSnapshot(deps.gitlab, payload.projectId, payload.pipelineId);
      if (!TERMINAL_STATUSES.has(snapshot.status)) {
        ctx.log.info({ status: snapshot.status }, 'pipeline is not finished; nothing to record');
        return null;
      }
      const recorded = await recordPipeline({ ...deps, log: ctx.log }, snapshot);
      await afterRecord?.(snapshot, ctx, recorded);
      return recorded;
    });
    if (!outcome) return;
    deps.budget?.observe({ facts: outcome.facts, calls });
    const remaining = deps.budget?.remaining() ?? null;
    // the call budget per pipeline (issue 10 item 3): never a token or a payload here
    ctx.log.info(
      {
        facts_source: outcome.facts.source,
        facts_calls: outcome.facts.calls,
        gitlab_calls: calls,
        budget_remaining: remaining === null ? null : Math.floor(remaining),
      },
      'pipeline event processed',
    );
  };
}
