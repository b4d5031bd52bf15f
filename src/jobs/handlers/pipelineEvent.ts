import { z } from 'zod';
import { type PipelineEventPayload, type PipelineSnapshot, TERMINAL_STATUSES } from '../../webhooks/events.js';
import type { JobContext, JobHandler } from '../Worker.js';
import { fetchSnapshot } from './pipelineSnapshot.js';
import { type RecordDeps, recordPipeline } from './recordPipeline.js';

const payloadSchema = z.union([
  z.object({ source: z.literal('webhook'), snapshot: z.custom<PipelineSnapshot>((v) => !!v && typeof v === 'object') }),
  z.object({ source: z.literal('reconcile'), projectId: z.number(), pipelineId: z.number() }),
]);

/** `afterRecord` runs once the run is recorded (and handed to the learner): the proposal outcome notes. */
export function pipelineEventHandler(
  deps: RecordDeps,
  afterRecord?: (snapshot: PipelineSnapshot, ctx: JobContext) => Promise<void>,
): JobHandler {
  return async (raw: unknown, ctx: JobContext) => {
    const payload = payloadSchema.parse(raw) as PipelineEventPayload;
    const snapshot =
      payload.source === 'webhook'
        ? payload.snapshot
        : await fetchSnapshot(deps.gitlab, payload.projectId, payload.pipelineId);
    if (!TERMINAL_STATUSES.has(snapshot.status)) {
      ctx.log.info({ status: snapshot.status }, 'pipeline is not finished; nothing to record');
      return;
    }
    await recordPipeline({ ...deps, log: ctx.log }, snapshot);
    await afterRecord?.(snapshot, ctx);
  };
}
