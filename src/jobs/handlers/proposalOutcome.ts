import type { Proposal } from '../../commands/CommandDeps.js';
import { capLength, inlineCode, safeReply, shortSha } from '../../commands/markdown.js';
import { type FailedJob, renderFailedJobs, summariseJobs } from '../../commands/runners/status.js';
import { commandStoreFor } from '../../db/commandStore.js';
import type { GitLab, JobInfo } from '../../gitlab/GitLab.js';
import type { PipelineHook } from '../../webhooks/webhookPayloads.js';
import { type CommandHandlerDeps, dryRunGitLab } from './noteEvent.js';

/** A pipeline run as the pipeline-event handler knows it (webhook or API). */
export interface PipelineRunView {
  projectId: number;
  pipelineId: number;
  sha: string;
  status: string;
  webUrl?: string | null;
  /** the webhook's builds, when there; otherwise the jobs are read from the API for failures */
  builds?: Array<{
    id?: number;
    name: string;
    stage: string;
    status: string;
    failure_reason?: string | null;
    allow_failure?: boolean | null;
  }>;
}

export type OutcomeResult = 'no_proposal' | 'stale' | 'unchanged' | 'updated';

const REWARDED = new Set(['success', 'failed']);

/**
 * Called by the pipeline-event handler for every status change of a pipeline: when its sha is a
 * proposal's approval commit, the learner gets the reward and the proposal's outcome note (one per
 * proposal, edited in place) says how it went. Safe to call twice with the same event.
 */
export async function handleProposalOutcome(run: PipelineRunView, deps: CommandHandlerDeps): Promise<OutcomeResult> {
  const first = await commandStoreFor(deps.db).proposalByCommit(run.projectId, run.sha);
  if (!first) return 'no_proposal';
  const gitlab = deps.config.dryRun ? dryRunGitLab(deps.gitlab, deps.log) : deps.gitlab;
  // A newer pipeline on the same commit already spoke for this decision.
  if (first.outcomePipelineId !== null && run.pipelineId < first.outcomePipelineId) return 'stale';
  const recorded = first.outcomePipelineId === run.pipelineId && first.outcomeStatus === run.status;
  if (!recorded && REWARDED.has(run.status) && first.decisionId) {
    // Outside the MR lock: the learner writes through the database itself (a serialised PGlite would
    // wait for our transaction). attachReward is idempotent per (decision, pipeline).
    await deps.learner.attachReward(first.decisionId, run.pipelineId);
  }
  return commandStoreFor(deps.db).withMergeRequestLock(first.projectId, first.mrIid, async (store) => {
    const p = await store.proposalByCommit(run.projectId, run.sha);
    if (!p) return 'no_proposal';
    if (p.outcomePipelineId !== null && run.pipelineId < p.outcomePipelineId) return 'stale';
    const sameRun = p.outcomePipelineId === run.pipelineId && p.outcomeStatus === run.status;
    if (sameRun && p.outcomeNoteId !== null) return 'unchanged';
    const failed = run.status === 'failed' ? await failedJobs(run, gitlab, deps) : [];
    const body = capLength(safeReply(renderOutcome(p, run, failed, { explainAvailable: !!deps.assistant })));

    let noteId = p.outcomeNoteId;
    if (noteId !== null) {
      if (body !== p.outcomeBody) await gitlab.updateMergeRequestNote(p.projectId, p.mrIid, noteId, body);
    } else {
      const note = p.discussionId
        ? await gitlab.replyToDiscussion(p.projectId, p.mrIid, p.discussionId, body)
        : await gitlab.createMergeRequestNote(p.projectId, p.mrIid, body);
      noteId = deps.config.dryRun ? null : note.id;
    }
    const status =
      p.status === 'rolled_back'
        ? 'rolled_back'
        : run.status === 'success'
          ? 'succeeded'
          : run.status === 'failed'
            ? 'failed'
            : p.status === 'approved'
              ? 'committed'
              : p.status;
    await store.updateProposal(p.id, {
      status,
      outcomePipelineId: run.pipelineId,
      outcomeStatus: run.status,
      outcomeNoteId: noteId ?? undefined,
      outcomeBody: body,
    });
    return 'updated';
  });
}

async function failedJobs(run: PipelineRunView, gitlab: GitLab, deps: CommandHandlerDeps): Promise<FailedJob[]> {
  if (run.builds && run.builds.length > 0) {
    const jobs: JobInfo[] = run.builds.map((b, i) => ({
      id: b.id ?? i,
      name: b.name,
      stage: b.stage,
      status: b.status,
      failure_reason: b.failure_reason ?? null,
      allow_failure: b.allow_failure === true,
      when: null,
      duration: null,
      pipeline: { id: run.pipelineId, project_id: run.projectId, ref: '', sha: run.sha, status: run.status },
      user: null,
    }));
    return summariseJobs(jobs).failedJobs;
  }
  try {
    return summariseJobs(await gitlab.pipelineJobs(run.projectId, run.pipelineId)).failedJobs;
  } catch (err) {
    deps.log.warn({ pipeline: run.pipelineId, err: String(err) }, 'could not list the failed jobs');
    return [];
  }
}

function renderOutcome(
  p: Proposal,
  run: PipelineRunView,
  failed: FailedJob[],
  options: { explainAvailable?: boolean } = {},
): string {
  const pipeline = run.webUrl ? `[pipeline #${run.pipelineId}](${run.webUrl})` : `pipeline #${run.pipelineId}`;
  const subject = `The ${pipeline} for proposal ${p.number} (commit ${shortSha(p.commitSha)})`;
  const config = inlineCode(p.hash.slice(0, 12));
  switch (run.status) {
    case 'success':
      return [
        `:white_check_mark: ${subject} passed.`,
        '',
        `Recorded as a success for configuration ${config}${p.decisionId ? ` (decision ${inlineCode(p.decisionId)})` : ''}.`,
      ].join('\n');
    case 'failed': {
      const blocking = failed.filter((j) => !j.allowFailure);
      return [
        `:x: ${subject} failed.`,
        '',
        ...(blocking.length ? ['**Failed jobs:**', ...renderFailedJobs(blocking), ''] : []),
        `Recorded as a failure for configuration ${config}, so the learner will favour other configurations.`,
        '',
        `Two ways forward: ${inlineCode('/pipeline rollback')} restores the ${inlineCode(p.configPath)} from before the approval, or ${inlineCode('/pipeline generate')} proposes a new configuration that avoids this one.`,
        ...(options.explainAvailable
          ? [
              '',
              `${inlineCode('/pipeline explain')} reads the failed job's log (secrets masked first), states the likely cause and, when it is the configuration, proposes a repaired one.`,
            ]
          : []),
      ].join('\n');
    }
    case 'canceled':
    case 'skipped':
      return `:no_entry_sign: ${subject} was ${run.status}; that does not count for or against the configuration. Next: ${inlineCode('/pipeline status')}.`;
    default:
      return `:hourglass: ${subject} is ${run.status}. This comment will show the outcome when it finishes.`;
  }
}

/** The view of a Pipeline Hook payload this handler needs. */
export function pipelineRunFromHook(hook: PipelineHook): PipelineRunView {
  return {
    projectId: hook.project.id,
    pipelineId: hook.object_attributes.id,
    sha: hook.object_attributes.sha,
    status: hook.object_attributes.status,
    webUrl: hook.object_attributes.url ?? null,
    builds: hook.builds.map((b) => ({
      id: b.id ?? undefined,
      name: b.name,
      stage: b.stage,
      status: b.status,
      failure_reason: b.failure_reason ?? null,
      allow_failure: b.allow_failure ?? false,
    })),
  };
}
