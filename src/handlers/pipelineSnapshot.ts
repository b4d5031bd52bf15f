import type { RunJob } from '../db/tables/core.js';
import type { GitLab, JobInfo, ProjectRef } from '../gitlab/GitLab.js';
import type { PipelineHook } from '../gitlab/webhookPayloads.js';
import type { PipelineSnapshot } from './recordPipeline.js';

/** GitLab's webhook timestamps look like "2016-08-12 15:26:29 UTC"; normalised to ISO. */
function isoOrNull(value: string | null | undefined): string | null {
  if (!value) return null;
  const d = new Date(value.replace(' UTC', 'Z').replace(/^(\d{4}-\d\d-\d\d) /, '$1T'));
  return Number.isNaN(d.getTime()) ? null : d.toISOString();
}

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

/** The snapshot a Pipeline Hook carries (builds are the latest attempt of each job). */
export function snapshotFromHook(hook: PipelineHook): PipelineSnapshot {
  const a = hook.object_attributes;
  return {
    projectId: hook.project.id,
    projectPath: hook.project.path_with_namespace,
    ciConfigPath: hook.project.ci_config_path ?? null,
    pipelineId: a.id,
    iid: a.iid ?? null,
    sha: a.sha,
    ref: a.ref,
    source: a.source ?? null,
    status: a.status,
    durationS: a.duration ?? null,
    queuedDurationS: a.queued_duration ?? null,
    finishedAt: isoOrNull(a.finished_at),
    webUrl: a.url ?? null,
    jobs: (hook.builds ?? []).map((b) => ({
      id: b.id ?? null,
      name: b.name,
      stage: b.stage,
      status: b.status,
      failure_reason: b.failure_reason ?? null,
      allow_failure: !!b.allow_failure,
      when: b.when ?? (b.manual ? 'manual' : null),
    })),
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
