import type { GitLab, JobInfo, PipelineInfo, ProjectRef } from '../../gitlab/GitLab.js';
import { attributionEffect } from '../../learning/attribution.js';
import type { RecordedRunView } from '../CommandDeps.js';
import { foldIfLong, inlineCode, shortSha } from '../markdown.js';
import type { Runner } from '../Runner.js';

export interface StageStatus {
  name: string;
  status: string;
  jobs: number;
}

export interface FailedJob {
  /** GitLab's job id; null when the payload did not give one */
  id?: number | null;
  name: string;
  stage: string;
  failureReason: string | null;
  allowFailure: boolean;
}

export interface StatusReport {
  sha: string | null;
  pipeline: PipelineInfo | null;
  stages: StageStatus[];
  failedJobs: FailedJob[];
}

/** What GitLab's `failure_reason` values mean for the person reading the reply. */
export const FAILURE_REASONS: Record<string, string> = {
  script_failure: 'the job script exited with an error',
  runner_system_failure: 'the runner failed (not your script)',
  stuck_or_timeout_failure: 'the job was stuck or timed out',
  job_execution_timeout: 'the job ran longer than its timeout',
  missing_dependency_failure: 'an artifact it needs from an earlier job is missing',
  api_failure: 'a GitLab API failure',
  unmet_prerequisites: 'the runner could not prepare the job',
  scheduler_failure: 'the job could not be scheduled',
  data_integrity_failure: 'a GitLab data integrity problem',
  runner_unsupported: 'the runner does not support a feature the job uses',
  image_pull_failure: 'the job image could not be pulled',
  unknown_failure: 'an unknown failure',
};

export function explainFailure(reason: string | null): string {
  if (!reason) return 'no reason given';
  return FAILURE_REASONS[reason] ? `${reason}: ${FAILURE_REASONS[reason]}` : reason;
}

function stageStatus(jobs: JobInfo[]): string {
  const has = (...s: string[]) => jobs.some((j) => s.includes(j.status));
  if (jobs.some((j) => j.status === 'failed' && !j.allow_failure)) return 'failed';
  if (has('running')) return 'running';
  if (has('pending', 'created', 'preparing', 'waiting_for_resource', 'scheduled')) return 'pending';
  if (has('canceled')) return 'canceled';
  if (jobs.every((j) => j.status === 'skipped')) return 'skipped';
  if (jobs.every((j) => j.status === 'manual' || j.status === 'skipped')) return 'manual';
  if (has('failed')) return 'success (allowed failures)';
  return 'success';
}

/** Stages in pipeline order (jobs' creation order), each with an overall status, plus failed jobs. */
export function summariseJobs(jobs: JobInfo[]): { stages: StageStatus[]; failedJobs: FailedJob[] } {
  const ordered = [...jobs].sort((a, b) => a.id - b.id);
  const byStage = new Map<string, JobInfo[]>();
  for (const j of ordered) byStage.set(j.stage, [...(byStage.get(j.stage) ?? []), j]);
  const stages = [...byStage].map(([name, js]) => ({ name, status: stageStatus(js), jobs: js.length }));
  const failedJobs = ordered
    .filter((j) => j.status === 'failed')
    .map((j) => ({
      id: j.id,
      name: j.name,
      stage: j.stage,
      failureReason: j.failure_reason,
      allowFailure: j.allow_failure,
    }));
  return { stages, failedJobs };
}

/** The newest pipeline of a commit, looked up in each project in turn (MR pipelines live in the target). */
export async function pipelineStatusReport(
  gitlab: GitLab,
  projects: ProjectRef[],
  sha: string | null,
): Promise<StatusReport> {
  if (!sha) return { sha, pipeline: null, stages: [], failedJobs: [] };
  for (const project of [...new Set(projects)]) {
    const [newest] = await gitlab.pipelines(project, { sha, limit: 1 });
    if (!newest) continue;
    const jobs = await gitlab.pipelineJobs(project, newest.id);
    return { sha, pipeline: newest, ...summariseJobs(jobs) };
  }
  return { sha, pipeline: null, stages: [], failedJobs: [] };
}

const ICON: Record<string, string> = {
  success: ':white_check_mark:',
  failed: ':x:',
  running: ':arrows_counterclockwise:',
  pending: ':hourglass:',
  canceled: ':no_entry_sign:',
  skipped: ':fast_forward:',
  manual: ':hand:',
};

export function renderFailedJobs(failed: FailedJob[]): string[] {
  return failed.map(
    (j) =>
      `- ${inlineCode(j.name)} (stage ${inlineCode(j.stage)}): ${explainFailure(j.failureReason)}${j.allowFailure ? ' (allowed to fail)' : ''}`,
  );
}

/** What to do about a red pipeline, by who is to blame (the learner's attribution, when it recorded one). */
function nextForRed(recorded: RecordedRunView | null): string {
  switch (recorded?.attribution) {
    case 'works':
      return 'Next: fix the code (or its tests) and push; the configuration ran the tests, so no rollback is needed.';
    case 'no_evidence':
      return 'Next: retry the pipeline in GitLab; the runner or GitLab failed, not the configuration.';
    default:
      return `Next: ${inlineCode('/pipeline rollback')} to undo the last approved commit, or ${inlineCode('/pipeline generate')} for a new proposal.`;
  }
}

export function renderStatus(r: StatusReport, recorded: RecordedRunView | null = null): string {
  if (!r.pipeline) {
    return [
      `No pipeline has run on the head commit ${shortSha(r.sha)} yet.`,
      '',
      `Next: ${inlineCode('/pipeline status')} again once GitLab has started one.`,
    ].join('\n');
  }
  const p = r.pipeline;
  const title = p.web_url ? `[pipeline #${p.id}](${p.web_url})` : `pipeline #${p.id}`;
  const out = [`${ICON[p.status] ?? ''} The ${title} on ${shortSha(p.sha)} is **${p.status}**.`.trim(), ''];
  if (r.stages.length > 0) {
    const table = ['| Stage | Status | Jobs |', '|---|---|---|'];
    for (const s of r.stages) table.push(`| ${s.name} | ${ICON[s.status] ?? ''} ${s.status} | ${s.jobs} |`);
    out.push(foldIfLong(`${r.stages.length} stages`, table.join('\n')));
  }
  if (r.failedJobs.length > 0) {
    out.push(
      '',
      '**Failed jobs:**',
      foldIfLong(`${r.failedJobs.length} failed jobs`, renderFailedJobs(r.failedJobs).join('\n')),
    );
    out.push('', nextForRed(recorded));
  } else if (p.status === 'running' || p.status === 'pending' || p.status === 'created') {
    out.push(
      '',
      `Next: ${inlineCode('/pipeline status')} again later; the outcome is also reported here when it finishes.`,
    );
  }
  return out.join('\n');
}

/**
 * The learner's reading of a recorded pipeline, one line (issue 11): the attribution's line and what it
 * counted for the configuration. `/pipeline status` and the proposal outcome reply both say it this way.
 */
export function learnerReading(r: RecordedRunView): string {
  if (!r.attribution) {
    const colour = r.success ? 'green' : 'red';
    return `${r.summary ?? `${colour} (no test evidence read)`}; ${attributionEffect(r.success ? 'works' : 'broken')} (${colour} only)`;
  }
  return `${r.summary ?? r.attribution}; ${attributionEffect(r.attribution)}`;
}

export const runStatus: Runner = async (ctx, deps) => {
  const report = await pipelineStatusReport(deps.gitlab, [ctx.project.id, ctx.mr.source_project_id], ctx.mr.sha);
  const recorded =
    report.pipeline && deps.learner.recordedRun ? await deps.learner.recordedRun(report.pipeline.id) : null;
  const evidence = recorded
    ? learnerReading(recorded)
    : report.pipeline
      ? await deps.learner.runEvidence?.(report.pipeline.id)
      : null;
  const body = renderStatus(report, recorded);
  // The learner's reading (issue 11) goes under the headline: what the outcome says about the configuration.
  if (!evidence) return { body };
  const [headline, ...rest] = body.split('\n');
  return { body: [headline, '', `The learner reads it as: ${evidence}.`, ...rest].join('\n') };
};
