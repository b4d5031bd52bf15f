import { UserFacingError } from '../errors.js';
import { projectPathFromRepoUrl } from '../gitlab/repoUrl.js';
import type { CommandDeps } from './CommandDeps.js';
import type { CommandContext } from './Runner.js';
import { commitProposal } from './runners/approve.js';
import { pipelineStatusReport, type StatusReport } from './runners/status.js';

/**
 * Seed 003's REST operations: the same as `approve` and `status`, for tools that are not comments.
 * The HTTP layer validates the body's shape and authenticates; these throw UserFacingError (with
 * `status`) for what the caller can fix.
 */
export interface RestCommitInput {
  /** numeric id or full path; or `repo_url` (seed 003) */
  project?: number | string;
  repo_url?: string;
  merge_request_iid: number;
  /** default: the MR's latest proposal */
  proposal?: number;
  force?: boolean;
  /** recorded in the Approved-by trailer; default `api` */
  approved_by?: string;
}

export interface RestCommitResult {
  proposal: number;
  status: string;
  committed: boolean;
  commit_sha: string | null;
  branch: string;
  decision_id: string | null;
}

export interface RestStatusInput {
  project?: number | string;
  repo_url?: string;
  /** the MR's head, or else the head of `branch` */
  merge_request_iid?: number;
  branch?: string;
}

export interface RestStatusResult {
  sha: string | null;
  pipeline: { id: number; status: string; ref: string; web_url: string | null } | null;
  stages: StatusReport['stages'];
  failed_jobs: Array<{ name: string; stage: string; failure_reason: string | null; allow_failure: boolean }>;
}

/** `https://gitlab.example.com/acme/app(.git)` → `acme/app`. */
export function projectFromInput(input: { project?: number | string; repo_url?: string }): number | string {
  if (input.project !== undefined && input.project !== '') return input.project;
  if (input.repo_url) return projectPathFromRepoUrl(input.repo_url, null);
  throw new UserFacingError('give `project` (id or full path) or `repo_url`', { status: 400, code: 'bad_request' });
}

export async function restCommit(input: RestCommitInput, deps: CommandDeps): Promise<RestCommitResult> {
  const info = await deps.gitlab.project(projectFromInput(input));
  const mr = await deps.gitlab.mergeRequest(info.id, input.merge_request_iid);
  if (mr.state !== 'opened') {
    throw new UserFacingError(`merge request !${mr.iid} is ${mr.state}`, { status: 409, code: 'mr_not_open' });
  }
  const ctx: CommandContext = {
    verb: 'approve',
    args: { ...(input.proposal ? { proposal: input.proposal } : {}), ...(input.force ? { force: true } : {}) },
    project: { id: info.id, path: info.path_with_namespace, configPath: info.ci_config_path || '.gitlab-ci.yml' },
    mr,
    user: { id: 0, username: input.approved_by?.trim() || 'api' },
    note: null,
  };
  const outcome = await commitProposal(ctx, deps);
  return {
    proposal: outcome.proposal.number,
    status: outcome.proposal.status,
    committed: outcome.kind === 'committed',
    commit_sha: outcome.commitSha,
    branch: outcome.proposal.branch,
    decision_id: outcome.proposal.decisionId,
  };
}

export async function restStatus(input: RestStatusInput, deps: CommandDeps): Promise<RestStatusResult> {
  const info = await deps.gitlab.project(projectFromInput(input));
  let sha: string | null;
  const projects: number[] = [info.id];
  if (input.merge_request_iid !== undefined) {
    const mr = await deps.gitlab.mergeRequest(info.id, input.merge_request_iid);
    sha = mr.sha;
    projects.push(mr.source_project_id);
  } else {
    const branch = input.branch ?? info.default_branch;
    if (!branch) throw new UserFacingError('the project has no branches yet', { status: 404, code: 'no_branch' });
    sha = await deps.gitlab.branchHead(info.id, branch);
    if (!sha) throw new UserFacingError(`no branch ${branch}`, { status: 404, code: 'no_branch' });
  }
  const r = await pipelineStatusReport(deps.gitlab, projects, sha);
  return {
    sha: r.sha,
    pipeline: r.pipeline
      ? { id: r.pipeline.id, status: r.pipeline.status, ref: r.pipeline.ref, web_url: r.pipeline.web_url }
      : null,
    stages: r.stages,
    failed_jobs: r.failedJobs.map((j) => ({
      name: j.name,
      stage: j.stage,
      failure_reason: j.failureReason,
      allow_failure: j.allowFailure,
    })),
  };
}
