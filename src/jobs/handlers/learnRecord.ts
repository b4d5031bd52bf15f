import { UserFacingError } from '../../errors.js';
import { GitLabError } from '../../gitlab/GitLab.js';
import type { LearnRecordRequest, LearnRecordResult } from '../../http/learnRoutes.js';
import { TERMINAL_STATUSES } from '../../webhooks/events.js';
import { fetchSnapshot, learnStageStatus } from './pipelineSnapshot.js';
import { type RecordDeps, recordPipeline } from './recordPipeline.js';

/** The project path in a repository URL (`https://gitlab/acme/app.git` → `acme/app`). */
async function verifyJobToken(deps: RecordDeps, req: LearnRecordRequest, token: string): Promise<number> {
  let job: Awaited<ReturnType<RecordDeps['gitlab']['jobForToken']>>;
  try {
    job = await deps.gitlab.jobForToken(token);
  } catch (err) {
    if (err instanceof GitLabError && (err.status === 401 || err.status === 403 || err.status === 404)) {
      throw new UserFacingError('GitLab did not accept the JOB-TOKEN (it is valid only while its job runs)', {
        status: 401,
      });
    }
    throw err;
  }
  if (job.pipeline.id !== req.pipelineId) {
    throw new UserFacingError(
      `the JOB-TOKEN belongs to a job of pipeline ${job.pipeline.id}, not pipeline ${req.pipelineId}`,
      { status: 403 },
    );
  }
  const projectId = typeof req.project === 'number' ? req.project : (await deps.gitlab.project(req.project)).id;
  if (projectId !== job.pipeline.project_id) {
    throw new UserFacingError(`the JOB-TOKEN belongs to a job of another project`, { status: 403 });
  }
  return job.id;
}

/**
 * The seed's POST /learn/record: the learn stage reports its own pipeline. A pipeline still
 * running counts as a success once every other job passed (the learn job is the last stage).
 */
export async function learnRecord(deps: RecordDeps, req: LearnRecordRequest): Promise<LearnRecordResult> {
  const callerJobId = req.jobToken ? await verifyJobToken(deps, req, req.jobToken) : null;
  const snapshot = await fetchSnapshot(deps.gitlab, req.project, req.pipelineId);
  if (req.branch && req.branch !== snapshot.ref) {
    throw new UserFacingError(`pipeline ${req.pipelineId} ran on ${snapshot.ref}, not on branch ${req.branch}`, {
      status: 400,
    });
  }
  const status = learnStageStatus(snapshot, callerJobId);
  const base = { success: true as const, pipeline_id: req.pipelineId, status };
  if (!TERMINAL_STATUSES.has(status)) {
    return {
      ...base,
      message: `Pipeline is still ${status}; nothing recorded yet (the pipeline webhook will record it when it finishes).`,
      stored: false,
      config_hash: null,
    };
  }
  const outcome = await recordPipeline(deps, { ...snapshot, status });
  const message =
    status === 'success'
      ? outcome.stored
        ? 'Pipeline succeeded! Configuration stored for reinforcement learning.'
        : 'Pipeline succeeded, but it has no CI configuration file to store.'
      : status === 'failed'
        ? 'Pipeline failed. Result recorded as negative evidence for its configuration.'
        : `Pipeline ${status}. Result logged.`;
  return { ...base, message, stored: outcome.stored, config_hash: outcome.configHash };
}
