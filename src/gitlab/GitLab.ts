/**
 * What pipeline-learner needs from GitLab. The gitbeaker implementation lives beside this file;
 * tests use the fake server in test/fakes/ through the same implementation.
 * Project references are numeric ids or full paths ("group/sub/project"), never pre-encoded.
 * Failures are `GitLabError`; "not found" for reads that can legitimately miss returns null.
 */
export type ProjectRef = number | string;

export interface ProjectInfo {
  id: number;
  path_with_namespace: string;
  default_branch: string | null;
  ci_config_path: string | null;
  web_url: string;
}

export interface TreeEntry {
  path: string;
  type: 'blob' | 'tree' | 'commit';
  /** the git object id (a blob's id changes exactly when its content does) */
  id?: string;
}

export interface FileInfo {
  content: string;
  /** sha of the last commit that touched the file, for `last_commit_id` on updates */
  lastCommitId: string;
  blobId: string;
}

export interface PipelineInfo {
  id: number;
  iid: number;
  project_id: number;
  sha: string;
  ref: string;
  status: string;
  source: string | null;
  duration: number | null;
  queued_duration: number | null;
  created_at: string | null;
  finished_at: string | null;
  updated_at: string | null;
  web_url: string | null;
}

export interface JobInfo {
  id: number;
  name: string;
  stage: string;
  status: string;
  failure_reason: string | null;
  allow_failure: boolean;
  when: string | null;
  duration: number | null;
  pipeline: { id: number; project_id: number; ref: string; sha: string; status: string };
  user: { id: number; username: string } | null;
  /** a superseded attempt (listed only with `includeRetried`) */
  retried?: boolean;
  /** the job's coverage in percent (GitLab's `coverage`), null when the job reports none */
  coverage?: number | null;
}

export interface MergeRequestInfo {
  iid: number;
  project_id: number;
  source_project_id: number;
  target_project_id: number;
  source_branch: string;
  target_branch: string;
  state: string;
  sha: string | null;
  web_url: string;
  title: string;
}

export interface CommitFileAction {
  action: 'create' | 'update' | 'delete';
  filePath: string;
  content?: string;
  /** GitLab refuses the write when the file changed since this commit */
  lastCommitId?: string;
}

export interface CommitResult {
  id: string;
  web_url: string | null;
}

export interface LintResult {
  valid: boolean;
  errors: string[];
  warnings: string[];
}

export interface NoteRef {
  id: number;
}

export interface GitLab {
  currentUser(): Promise<{ id: number; username: string }>;
  project(project: ProjectRef): Promise<ProjectInfo>;
  /** Recursive listing of the whole tree at `ref`, following keyset pagination. */
  tree(project: ProjectRef, ref: string): Promise<TreeEntry[]>;
  /** Raw file text, or null when the file does not exist at `ref`. */
  fileRaw(project: ProjectRef, path: string, ref: string): Promise<string | null>;
  file(project: ProjectRef, path: string, ref: string): Promise<FileInfo | null>;
  branchHead(project: ProjectRef, branch: string): Promise<string | null>;
  pipeline(project: ProjectRef, pipelineId: number): Promise<PipelineInfo>;
  /** Every job of the pipeline (latest attempts; retried ones too with `includeRetried`), all pages. */
  pipelineJobs(project: ProjectRef, pipelineId: number, options?: { includeRetried?: boolean }): Promise<JobInfo[]>;
  /** `GET /projects/:id/pipelines/:pipeline_id/test_report_summary`: the response body as GitLab sends it. */
  pipelineTestReportSummary(project: ProjectRef, pipelineId: number): Promise<unknown>;
  pipelines(
    project: ProjectRef,
    options: { updatedAfter?: string; ref?: string; sha?: string; limit?: number },
  ): Promise<PipelineInfo[]>;
  /** `GET /job` authenticated with a CI job token: the job that owns the token. */
  jobForToken(jobToken: string): Promise<JobInfo>;
  lint(project: ProjectRef, content: string, options: { ref?: string; dryRun: boolean }): Promise<LintResult>;
  createCommit(
    project: ProjectRef,
    commit: {
      branch: string;
      message: string;
      actions: CommitFileAction[];
      authorName?: string;
      authorEmail?: string;
      /** creates `branch` from this branch when it does not exist yet */
      startBranch?: string;
    },
  ): Promise<CommitResult>;
  /** `GET /projects/:id/jobs/:job_id/trace`: the job's log as text (empty when it has none) */
  jobTrace(project: ProjectRef, jobId: number): Promise<string>;
  /** `POST /projects/:id/merge_requests` */
  createMergeRequest(
    project: ProjectRef,
    mr: { sourceBranch: string; targetBranch: string; title: string; description?: string },
  ): Promise<{ iid: number; web_url: string | null }>;
  mergeRequest(project: ProjectRef, iid: number): Promise<MergeRequestInfo>;
  /** Effective access level (inherited included); 0 when the user is not a member. */
  memberAccessLevel(project: ProjectRef, userId: number): Promise<number>;
  createMergeRequestNote(project: ProjectRef, iid: number, body: string): Promise<NoteRef>;
  replyToDiscussion(project: ProjectRef, iid: number, discussionId: string, body: string): Promise<NoteRef>;
  updateMergeRequestNote(project: ProjectRef, iid: number, noteId: number, body: string): Promise<void>;
  awardEmojiOnNote(project: ProjectRef, iid: number, noteId: number, name: string): Promise<void>;
}

export type GitLabRetry = 'wait' | 'backoff' | 'never';

/** GitLab answered with an error status, timed out, or could not be reached. Never carries a token. */
export class GitLabError extends Error {
  constructor(
    message: string,
    /** HTTP status; null for timeouts and network failures */
    readonly status: number | null,
    /** from Retry-After or RateLimit-Reset on a 429, in ms */
    readonly retryAfterMs: number | null = null,
  ) {
    super(message);
    this.name = 'GitLabError';
  }
  /**
   * The one retry vocabulary for GitLab answers (workers, handlers and the HTTP API all read it):
   * - `wait`: a 429, GitLab asked the service to wait (`retryAfterMs`, from Retry-After / RateLimit-Reset);
   * - `backoff`: unreachable, timed out (also 408) or failing (5xx): retry on the worker's own backoff;
   * - `never`: another attempt gets the same answer: the token lacks access (401, 403), the thing does
   *   not exist (404), GitLab refuses the request as made (400, 409, 422, …) or redirects it elsewhere.
   */
  get retry(): GitLabRetry {
    const s = this.status;
    if (s === 429) return 'wait';
    if (s === null || s === 408 || s >= 500) return 'backoff';
    return 'never';
  }
}
