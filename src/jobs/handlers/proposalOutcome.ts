import { failureLines } from '../../chat/explain.js';
import type { Proposal, RecordedRunView } from '../../commands/CommandDeps.js';
import { capLength, codeBlock, inlineCode, safeReply, shortSha } from '../../commands/markdown.js';
import { type FailedJob, learnerReading, renderFailedJobs, summariseJobs } from '../../commands/runners/status.js';
import { commandStoreFor } from '../../db/commandStore.js';
import { type GitLab, GitLabError, type JobInfo } from '../../gitlab/GitLab.js';
import { maskTraceTail } from '../../llm/maskTraceTail.js';
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
  const seen = first.outcomePipelineId === run.pipelineId && first.outcomeStatus === run.status;
  if (!seen && REWARDED.has(run.status) && first.decisionId) {
    // Outside the MR lock: the learner writes through the database itself (a serialised PGlite would
    // wait for our transaction). attachReward is idempotent per (decision, pipeline).
    await deps.learner.attachReward(first.decisionId, run.pipelineId);
  }
  // The pipeline-event handler records the run (attribution included) before this runs: the reply says what
  // the learner stored, not what the colour suggests. Read outside the MR lock, like the reward above.
  const recorded = REWARDED.has(run.status) ? ((await deps.learner.recordedRun?.(run.pipelineId)) ?? null) : null;
  return commandStoreFor(deps.db).withMergeRequestLock(first.projectId, first.mrIid, async (store) => {
    const p = await store.proposalByCommit(run.projectId, run.sha);
    if (!p) return 'no_proposal';
    if (p.outcomePipelineId !== null && run.pipelineId < p.outcomePipelineId) return 'stale';
    const sameRun = p.outcomePipelineId === run.pipelineId && p.outcomeStatus === run.status;
    if (sameRun && p.outcomeNoteId !== null) return 'unchanged';
    const failed = run.status === 'failed' ? await failedJobs(run, gitlab, deps) : [];
    // One GitLab call at most, only when the configuration is blamed: the deciding job's log, masked here.
    const cause =
      run.status === 'failed' && recorded?.attribution === 'broken'
        ? await causeFromTrace(run, failed, recorded, gitlab, deps)
        : null;
    const body = capLength(
      safeReply(renderOutcome(p, run, { failed, recorded, cause, explainAvailable: !!deps.assistant })),
    );

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
    const unknownIds = new Set<number>();
    const jobs: JobInfo[] = run.builds.map((b, i) => ({
      id: b.id ?? unknownId(i, unknownIds),
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
    return summariseJobs(jobs).failedJobs.map((j) => (unknownIds.has(j.id ?? 0) ? { ...j, id: null } : j));
  }
  try {
    return summariseJobs(await gitlab.pipelineJobs(run.projectId, run.pipelineId)).failedJobs;
  } catch (err) {
    deps.log.warn({ pipeline: run.pipelineId, err: String(err) }, 'could not list the failed jobs');
    return [];
  }
}

/** A payload job without an id sorts after the others, in payload order; its id is never sent to GitLab. */
function unknownId(i: number, unknown: Set<number>): number {
  const id = Number.MAX_SAFE_INTEGER - 1_000_000 + i;
  unknown.add(id);
  return id;
}

/** The failed job's masked log, cut to its likely error lines; or why it could not be read. */
export type TraceCause = { job: FailedJob; lines: string } | { job: FailedJob | null; unreadable: string };

/**
 * The job that decided a "broken" verdict: the blocking failed job the attribution line names (its latest
 * attempt), else the first blocking failed one.
 */
function decidingJob(failed: FailedJob[], summary: string | null): FailedJob | null {
  const blocking = failed.filter((j) => !j.allowFailure);
  const named = summary
    ? blocking.filter(
        (j) =>
          summary.includes(`${j.name} (`) || summary.includes(`${j.name}:`) || summary.includes(`${j.name} failed`),
      )
    : [];
  const pool = named.length ? named : blocking;
  if (!pool.length) return null;
  const first = pool[0]!;
  const attempts = pool.filter((j) => j.name === first.name && j.id != null);
  return attempts.length ? attempts.reduce((a, b) => ((b.id ?? 0) > (a.id ?? 0) ? b : a)) : first;
}

async function causeFromTrace(
  run: PipelineRunView,
  failed: FailedJob[],
  recorded: RecordedRunView,
  gitlab: GitLab,
  deps: CommandHandlerDeps,
): Promise<TraceCause> {
  const job = decidingJob(failed, recorded.summary);
  if (!job) return { job: null, unreadable: 'no failed job was listed' };
  if (job.id == null) return { job, unreadable: 'GitLab did not give the job’s id' };
  try {
    const trace = await gitlab.jobTrace(run.projectId, job.id);
    // masked before anything else reads it: the reply quotes it
    const lines = failureLines(maskTraceTail(trace, { secretValues: deps.secretValues ?? [] }));
    return lines ? { job, lines } : { job, unreadable: 'the log is empty' };
  } catch (err) {
    deps.log.warn({ pipeline: run.pipelineId, job: job.id, err: String(err) }, 'could not read the failed job log');
    const why =
      err instanceof GitLabError && err.status !== null
        ? `GitLab answered ${err.status}`
        : 'GitLab did not answer in time';
    return { job, unreadable: why };
  }
}

interface OutcomeFacts {
  failed: FailedJob[];
  /** what the learner stored for this pipeline; null: nothing (not recorded, or canceled) */
  recorded: RecordedRunView | null;
  cause: TraceCause | null;
  explainAvailable?: boolean;
}

function renderOutcome(p: Proposal, run: PipelineRunView, facts: OutcomeFacts): string {
  const pipeline = run.webUrl ? `[pipeline #${run.pipelineId}](${run.webUrl})` : `pipeline #${run.pipelineId}`;
  const subject = `The ${pipeline} for proposal ${p.number} (commit ${shortSha(p.commitSha)})`;
  const config = inlineCode(p.hash.slice(0, 12));
  const decision = p.decisionId ? ` (decision ${inlineCode(p.decisionId)})` : '';
  const { recorded } = facts;
  const reading = recorded
    ? `**What the learner recorded** for configuration ${config}${decision}: ${learnerReading(recorded)}.`
    : `The learner holds no record of this pipeline for configuration ${config}${decision}, so it counts neither way.`;
  const explain = facts.explainAvailable
    ? [
        '',
        `${inlineCode('/pipeline explain')} reads the failed job's log (secrets masked first), states the likely cause and, when it is the configuration, proposes a repaired one.`,
      ]
    : [];
  switch (run.status) {
    case 'success':
      return [
        `:white_check_mark: ${subject} passed.`,
        '',
        reading,
        ...(recorded?.attribution === 'weak'
          ? [
              '',
              `Green without tests says little: a job that runs the tests with a junit report (${inlineCode('artifacts:reports:junit')}) makes the next green count in full.`,
            ]
          : []),
      ].join('\n');
    case 'failed': {
      const blocking = facts.failed.filter((j) => !j.allowFailure);
      return [
        `:x: ${subject} failed.`,
        '',
        ...(blocking.length ? ['**Failed jobs:**', ...renderFailedJobs(blocking), ''] : []),
        reading,
        ...renderCause(facts.cause),
        '',
        ...waysForward(p, recorded, facts.failed),
        ...explain,
      ].join('\n');
    }
    case 'canceled':
    case 'skipped':
      return `:no_entry_sign: ${subject} was ${run.status}; that does not count for or against the configuration. Next: ${inlineCode('/pipeline status')}.`;
    default:
      return `:hourglass: ${subject} is ${run.status}. This comment will show the outcome when it finishes.`;
  }
}

/** The deterministic cause: the log's likely error lines, quoted as data in a fence nothing inside can close. */
function renderCause(cause: TraceCause | null): string[] {
  if (!cause) return [];
  const job = cause.job ? inlineCode(cause.job.name) : 'the failed job';
  if ('unreadable' in cause)
    return ['', `The log of ${job} could not be read (${cause.unreadable}), so no cause is quoted.`];
  return [
    '',
    `**Likely cause**, the last error lines of the ${job} log (secrets masked; quoted as written, not interpreted):`,
    '',
    codeBlock(cause.lines, 'text'),
  ];
}

/** What to do next follows who is to blame: rollback and generate only when it is the configuration. */
function waysForward(p: Proposal, recorded: RecordedRunView | null, failed: FailedJob[]): string[] {
  const rollback = `${inlineCode('/pipeline rollback')} restores the ${inlineCode(p.configPath)} from before the approval`;
  const generate = `${inlineCode('/pipeline generate')} proposes a new configuration that avoids this one`;
  const job = failed.find((j) => !j.allowFailure);
  switch (recorded?.attribution) {
    case 'works':
      return [
        'The configuration is not to blame: it installed and ran the tests, and the code’s tests failed. Fix the code (or the tests) and push; no rollback is needed.',
      ];
    case 'no_evidence':
      return [
        'Neither the configuration nor the code is to blame: the runner or GitLab failed. Retry the pipeline in GitLab; no rollback is needed.',
      ];
    case 'partial':
      return [
        `Whether the configuration or the code is to blame is not clear${job ? `: read the log of ${inlineCode(job.name)}` : ''}. If it is the configuration, ${rollback}, or ${generate}; if it is the code, fix it and push.`,
      ];
    default:
      return [`Two ways forward: ${rollback}, or ${generate}.`];
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
