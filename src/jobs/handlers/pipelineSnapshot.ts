import type { RunJob } from '../../db/tables/core.js';
import type { GitLab, JobInfo, ProjectRef } from '../../gitlab/GitLab.js';
import type { PipelineSnapshot } from '../../webhooks/events.js';

function runJobFromJob(j: JobInfo): RunJob {
  return {
    id: j.id,
    name: j.name,
    stage: j.stage,
    status: j.status,
    failure_reason: j.failure_reason ?? null,
    allow_failure: !!j.allow_failure,
    when: j.when ?? null,
  };
}

/** The same snapshot built from the REST API (reconciler, learn/record). */
export async function fetchSnapshot(
  gitlab: GitLab,
  project: ProjectRef,
  pipelineId: number,
): Promise<PipelineSnapshot> {
  const [info, pipeline, jobs] = await Promise.all([
    gitlab.project(project),
    gitlab.pipeline(project, pipelineId),
    gitlab.pipelineJobs(project, pipelineId),
  ]);
  return {
    projectId: info.id,
    projectPath: info.path_with_namespace,
    ciConfigPath: info.ci_config_path,
    pipelineId: pipeline.id,
    iid: pipeline.iid ?? null,
    sha: pipeline.sha,
    ref: pipeline.ref,
    source: pipeline.source,
    status: pipeline.status,
    durationS: pipeline.duration,
    queuedDurationS: pipeline.queued_duration,
    finishedAt: pipeline.finished_at,
    webUrl: pipeline.web_url,
    jobs: jobs.map(runJobFromJob),
  };
}

const PASSED_OR_IRRELEVANT = new Set(['success', 'manual', 'skipped']);

/**
 * The seed's learn-stage rule for a pipeline that is still running: when every other job passed
 * (allowed failures and manual jobs nobody played aside) the pipeline counts as a success;
 * a real failure counts as failed; anything still to run means it is too early to tell.
 */
export function learnStageStatus(snapshot: PipelineSnapshot, callerJobId: number | null): string {
  if (snapshot.status !== 'running' && snapshot.status !== 'pending') return snapshot.status;
  // without a caller (API token), the running learn stage itself is not waited for
  const others = snapshot.jobs.filter((j) =>
    callerJobId !== null
      ? j.id !== callerJobId
      : !(j.stage === 'learn' && (j.status === 'running' || j.status === 'pending')),
  );
  if (others.some((j) => (j.status === 'failed' || j.status === 'canceled') && !j.allow_failure)) return 'failed';
  const done = others.every(
    (j) =>
      PASSED_OR_IRRELEVANT.has(j.status) || (j.allow_failure && (j.status === 'failed' || j.status === 'canceled')),
  );
  return done ? 'success' : snapshot.status;
}
