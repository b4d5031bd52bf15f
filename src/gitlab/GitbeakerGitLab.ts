import { createRequesterFn, type RequestHandlerFn } from '@gitbeaker/requester-utils';
import { Gitlab } from '@gitbeaker/rest';
import { type CallLimiter, noteGitLabCall } from './callBudget.js';
import {
  type CommitResult,
  type FileInfo,
  type GitLab,
  GitLabError,
  type JobInfo,
  type LintResult,
  type MergeRequestInfo,
  type PipelineInfo,
  type ProjectInfo,
  type TreeEntry,
} from './GitLab.js';

/** The slice of a pino logger we use; any `(obj, msg)` logger fits. */
export interface GitLabLogger {
  debug(obj: Record<string, unknown>, msg: string): void;
}

export interface GitLabClientOptions {
  /** Instance base URL, e.g. `https://gitlab.example.com` (a trailing `/api/v4` is tolerated) */
  url: string;
  token: string;
  /** Per HTTP attempt; default 15 s */
  timeoutMs?: number;
  logger?: GitLabLogger;
  /**
   * Every HTTP attempt takes a token from it first (pages of a listing included), and a 429 drains it until
   * GitLab's Retry-After / RateLimit-Reset: the call budget shared by all workers (src/db/callBudget.ts).
   */
  limiter?: CallLimiter;
}

const DEFAULT_TIMEOUT_MS = 15_000;
const MAX_ERROR_DETAIL = 300;

type Json = Record<string, unknown>;

/**
 * `Retry-After` is either delta-seconds or an HTTP date; GitLab sends seconds. Returns ms, or null when
 * absent or unparseable.
 */
export function parseRetryAfter(value: string | null | undefined, now: number = Date.now()): number | null {
  if (value == null) return null;
  const trimmed = value.trim();
  if (trimmed === '') return null;
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Math.round(Number(trimmed) * 1000);
  const date = Date.parse(trimmed);
  if (Number.isNaN(date)) return null;
  return Math.max(0, date - now);
}

/** GitLab's own rate-limit headers, for 429s that come without Retry-After. */
function retryAfterFrom(headers: Headers, now: number): number | null {
  const direct = parseRetryAfter(headers.get('retry-after'), now);
  if (direct !== null) return direct;
  const reset = headers.get('ratelimit-reset');
  if (reset && /^\d+$/.test(reset.trim())) return Math.max(0, Number(reset) * 1000 - now);
  return parseRetryAfter(headers.get('ratelimit-resettime'), now);
}

export function normaliseBaseUrl(url: string): string {
  return url.replace(/\/+$/, '').replace(/\/api\/v4$/, '');
}

/** Defence in depth: whatever a server echoes back, a secret never reaches a message. */
function redact(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const secret of secrets) if (secret.length >= 4) out = out.split(secret).join('[REDACTED]');
  return out;
}

function errorDetail(raw: string, contentType: string | null): string {
  let detail = raw;
  if (contentType?.includes('json')) {
    try {
      const parsed = JSON.parse(raw) as unknown;
      if (parsed && typeof parsed === 'object') {
        const obj = parsed as Json;
        const picked = obj.message ?? obj.error ?? obj.error_description ?? parsed;
        detail = typeof picked === 'string' ? picked : JSON.stringify(picked);
      }
    } catch {
      // not JSON after all: keep the text
    }
  }
  detail = detail.replace(/\s+/g, ' ').trim();
  return detail.length > MAX_ERROR_DETAIL ? `${detail.slice(0, MAX_ERROR_DETAIL)}…` : detail;
}

interface RequestContext {
  timeoutMs: number;
  secrets: readonly string[];
  logger?: GitLabLogger;
  limiter?: CallLimiter;
}

interface OnceRequest {
  method: string;
  url: URL;
  headers: Record<string, string>;
  body?: string | FormData;
}

interface OnceResponse {
  status: number;
  headers: Headers;
  response: Response;
}

/**
 * Exactly one HTTP attempt with its own timeout. Every failure becomes a GitLabError whose message names
 * method, path and status only: never headers, query strings or the request object.
 */
async function requestOnce(req: OnceRequest, ctx: RequestContext): Promise<OnceResponse> {
  const label = `${req.method} ${req.url.pathname}`;
  // may wait for a token, or throw a RetryableError when the budget is exhausted beyond the wait allowed
  await ctx.limiter?.take();
  noteGitLabCall();
  const started = Date.now();
  let response: Response;
  try {
    response = await fetch(req.url, {
      method: req.method,
      headers: req.headers,
      body: req.body,
      signal: AbortSignal.timeout(ctx.timeoutMs),
      redirect: 'manual',
    });
  } catch (err) {
    const name = (err as { name?: string })?.name;
    const timedOut = name === 'TimeoutError' || name === 'AbortError';
    const code = (err as { cause?: { code?: string } })?.cause?.code;
    ctx.logger?.debug(
      { gitlab: label, ms: Date.now() - started, error: timedOut ? 'timeout' : (code ?? name) },
      'gitlab request failed',
    );
    throw new GitLabError(
      redact(
        timedOut
          ? `GitLab ${label} timed out after ${ctx.timeoutMs} ms`
          : `GitLab ${label} could not be reached (${code ?? (err as Error)?.message ?? 'network error'})`,
        ctx.secrets,
      ),
      null,
    );
  }
  ctx.logger?.debug({ gitlab: label, status: response.status, ms: Date.now() - started }, 'gitlab request');
  if (response.ok) return { status: response.status, headers: response.headers, response };

  const now = Date.now();
  let raw = '';
  try {
    raw = await response.text();
  } catch {
    // body lost (timeout mid-body): the status is enough
  }
  const location = response.status >= 300 && response.status < 400 ? response.headers.get('location') : null;
  // Redirects are not followed: PRIVATE-TOKEN would go along to wherever they point.
  const detail = location
    ? `redirected to ${location.split('?')[0]}; set the GitLab URL to the final address`
    : errorDetail(raw, response.headers.get('content-type'));
  // Only a 429 is a request to wait: GitLab sends RateLimit-Reset (the end of the rate-limit window,
  // often 20–60 s away) on every answer, and a 5xx is retried on the worker's own backoff.
  const retryAfterMs = response.status === 429 ? retryAfterFrom(response.headers, now) : null;
  if (retryAfterMs !== null && ctx.limiter) {
    await ctx.limiter.rateLimited(retryAfterMs).catch((err) => {
      ctx.logger?.debug(
        { gitlab: label, error: (err as Error)?.message },
        'could not record the 429 in the call budget',
      );
    });
  }
  throw new GitLabError(
    redact(`GitLab ${label} answered ${response.status}${detail ? `: ${detail}` : ''}`, ctx.secrets),
    response.status,
    retryAfterMs,
  );
}

async function readBody(res: OnceResponse, asStream: boolean): Promise<unknown> {
  if (asStream) return res.response.body;
  if (res.status === 204) return null;
  const contentType = (res.headers.get('content-type') ?? '').split(';')[0].trim();
  if (contentType === 'application/json') {
    const text = await res.response.text();
    return text === '' ? {} : JSON.parse(text);
  }
  // Raw files may come as octet-stream: we only ever read text.
  return res.response.text();
}

/** gitbeaker's requester, minus its ten silent retries and client-side rate limiter. */
function oneShotRequesterFn(ctx: RequestContext) {
  const handler: RequestHandlerFn = async (endpoint, options) => {
    const opts = (options ?? {}) as {
      prefixUrl?: string;
      searchParams?: string;
      method?: string;
      headers?: Record<string, string>;
      body?: string | FormData;
      asStream?: boolean;
    };
    const base = opts.prefixUrl?.endsWith('/') ? opts.prefixUrl : `${opts.prefixUrl ?? ''}/`;
    const url = new URL(endpoint, base);
    url.search = opts.searchParams ?? '';
    const res = await requestOnce(
      { method: opts.method ?? 'GET', url, headers: opts.headers ?? {}, body: opts.body },
      ctx,
    );
    const body = await readBody(res, opts.asStream ?? false);
    return { body: body as never, headers: Object.fromEntries(res.headers.entries()), status: res.status };
  };
  return createRequesterFn(async (_service, requestOptions) => requestOptions, handler);
}

const MAX_PAGES = 1000;

/**
 * Offset pagination driven by `x-next-page`, page by page: gitbeaker's own follower trusts `maxPages`
 * arithmetic on the requested per_page, which undercounts when GitLab clamps it.
 */
async function offsetPages(
  fetchPage: (page: number) => Promise<unknown>,
  limit = Number.POSITIVE_INFINITY,
): Promise<Json[]> {
  const out: Json[] = [];
  for (let page = 1, n = 0; n < MAX_PAGES && out.length < limit; n++) {
    const res = (await fetchPage(page)) as { data?: unknown; paginationInfo?: { next?: number | null } };
    const data = Array.isArray(res?.data) ? (res.data as Json[]) : [];
    out.push(...data);
    const next = res?.paginationInfo?.next;
    if (!next || next <= page || data.length === 0) break;
    page = next;
  }
  return out.slice(0, limit);
}

function isNotFound(err: unknown): boolean {
  return err instanceof GitLabError && err.status === 404;
}

async function orNullOn404<T>(p: Promise<T>): Promise<T | null> {
  try {
    return await p;
  } catch (err) {
    if (isNotFound(err)) return null;
    throw err;
  }
}

const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);
const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);

function toProject(p: Json): ProjectInfo {
  return {
    id: Number(p.id),
    path_with_namespace: String(p.path_with_namespace),
    default_branch: str(p.default_branch),
    ci_config_path: str(p.ci_config_path) || null,
    web_url: String(p.web_url ?? ''),
  };
}

function toPipeline(p: Json): PipelineInfo {
  return {
    id: Number(p.id),
    iid: Number(p.iid),
    project_id: Number(p.project_id),
    sha: String(p.sha),
    ref: String(p.ref),
    status: String(p.status),
    source: str(p.source),
    duration: num(p.duration),
    queued_duration: num(p.queued_duration),
    created_at: str(p.created_at),
    finished_at: str(p.finished_at),
    updated_at: str(p.updated_at),
    web_url: str(p.web_url),
  };
}

function toJob(j: Json): JobInfo {
  const pipeline = (j.pipeline ?? {}) as Json;
  const user = j.user as Json | null | undefined;
  return {
    id: Number(j.id),
    name: String(j.name),
    stage: String(j.stage),
    status: String(j.status),
    failure_reason: str(j.failure_reason),
    allow_failure: j.allow_failure === true,
    when: str(j.when),
    duration: num(j.duration),
    pipeline: {
      id: Number(pipeline.id),
      project_id: Number(pipeline.project_id),
      ref: String(pipeline.ref ?? j.ref ?? ''),
      sha: String(pipeline.sha ?? ''),
      status: String(pipeline.status ?? ''),
    },
    user: user && typeof user === 'object' ? { id: Number(user.id), username: String(user.username) } : null,
    retried: j.retried === true,
    coverage: num(j.coverage),
  };
}

function toMergeRequest(m: Json): MergeRequestInfo {
  return {
    iid: Number(m.iid),
    project_id: Number(m.project_id),
    source_project_id: Number(m.source_project_id),
    target_project_id: Number(m.target_project_id),
    source_branch: String(m.source_branch),
    target_branch: String(m.target_branch),
    state: String(m.state),
    sha: str(m.sha),
    web_url: String(m.web_url ?? ''),
    title: String(m.title ?? ''),
  };
}

function asText(body: unknown): string {
  if (typeof body === 'string') return body;
  if (body && typeof body === 'object' && Object.keys(body).length === 0) return '';
  return JSON.stringify(body);
}

/**
 * The GitLab implementation on @gitbeaker/rest. One HTTP attempt per call: retrying (with Retry-After)
 * is the durable job queue's business, so a failed POST is never silently repeated here.
 */
export function createGitLab(options: GitLabClientOptions): GitLab {
  const baseUrl = normaliseBaseUrl(options.url);
  const ctx: RequestContext = {
    timeoutMs: options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
    secrets: [options.token] as string[],
    logger: options.logger,
    limiter: options.limiter,
  };
  const api = new Gitlab({
    host: baseUrl,
    token: options.token,
    requesterFn: oneShotRequesterFn(ctx),
    // Our handler applies its own per-attempt timeout; gitbeaker's spans all pages of a listing.
    queryTimeout: null,
    // Its limiter queues calls client-side (3000/min); GitLab's 429 + Retry-After is the authority.
    rateLimits: {},
  });
  // gitbeaker's types are wide unions; we read plain JSON objects.
  const g = api as unknown as Record<string, Record<string, (...args: unknown[]) => Promise<unknown>>>;
  const call = async (resource: string, method: string, ...args: unknown[]): Promise<Json> =>
    (await g[resource][method](...args)) as Json;
  const callList = async (resource: string, method: string, ...args: unknown[]): Promise<Json[]> => {
    const body = await g[resource][method](...args);
    return Array.isArray(body) ? (body as Json[]) : [];
  };

  const client: GitLab = {
    async currentUser() {
      const u = await call('Users', 'showCurrentUser');
      return { id: Number(u.id), username: String(u.username) };
    },

    async project(project) {
      return toProject(await call('Projects', 'show', project));
    },

    async tree(project, ref) {
      const entries = await callList('Repositories', 'allRepositoryTrees', project, {
        ref,
        recursive: true,
        perPage: 100,
        pagination: 'keyset',
      });
      return entries.map((e) => ({
        path: String(e.path),
        type: String(e.type) as TreeEntry['type'],
        ...(typeof e.id === 'string' ? { id: e.id } : {}),
      }));
    },

    async fileRaw(project, path, ref) {
      const body = await orNullOn404(g.RepositoryFiles.showRaw(project, path, ref));
      if (body === null) return null;
      if (typeof Blob !== 'undefined' && body instanceof Blob) return body.text();
      return asText(body);
    },

    async file(project, path, ref): Promise<FileInfo | null> {
      const f = (await orNullOn404(g.RepositoryFiles.show(project, path, ref))) as Json | null;
      if (f === null) return null;
      const content =
        f.encoding === 'base64'
          ? Buffer.from(String(f.content ?? ''), 'base64').toString('utf8')
          : String(f.content ?? '');
      return { content, lastCommitId: String(f.last_commit_id), blobId: String(f.blob_id) };
    },

    async branchHead(project, branch) {
      const b = (await orNullOn404(g.Branches.show(project, branch))) as Json | null;
      const commit = b?.commit as Json | undefined;
      return commit ? String(commit.id) : null;
    },

    async pipeline(project, pipelineId) {
      return toPipeline(await call('Pipelines', 'show', project, pipelineId));
    },

    async pipelineJobs(project, pipelineId, options) {
      const includeRetried = options?.includeRetried === true ? true : undefined;
      const jobs = await offsetPages((page) =>
        g.Jobs.all(project, { pipelineId, includeRetried, perPage: 100, page, showExpanded: true }),
      );
      return jobs.map(toJob);
    },

    async pipelineTestReportSummary(project, pipelineId) {
      return call('Pipelines', 'showTestReportSummary', project, pipelineId);
    },

    async pipelines(project, opts) {
      const limit = opts.limit ?? 100;
      const list = await offsetPages(
        (page) =>
          g.Pipelines.all(project, {
            ref: opts.ref,
            sha: opts.sha,
            updatedAfter: opts.updatedAfter,
            orderBy: 'updated_at',
            sort: 'desc',
            perPage: Math.max(1, Math.min(100, limit)),
            page,
            showExpanded: true,
          }),
        limit,
      );
      return list.slice(0, limit).map(toPipeline);
    },

    async jobForToken(jobToken) {
      // gitbeaker's Jobs.showConnectedJob checks `headers['job-token']`, which its own jobToken option never
      // sets (it lives in authHeaders), so it always throws: one plain request instead.
      const res = await requestOnce(
        {
          method: 'GET',
          url: new URL(`${baseUrl}/api/v4/job`),
          headers: { 'JOB-TOKEN': jobToken, accept: 'application/json' },
        },
        { ...ctx, secrets: [...ctx.secrets, jobToken] },
      );
      return toJob((await readBody(res, false)) as Json);
    },

    async lint(project, content, opts): Promise<LintResult> {
      const r = await call('Lint', 'lint', project, content, { dryRun: opts.dryRun, ref: opts.ref });
      const list = (v: unknown) => (Array.isArray(v) ? v.map(String) : []);
      return { valid: r.valid === true, errors: list(r.errors), warnings: list(r.warnings) };
    },

    async createCommit(project, commit): Promise<CommitResult> {
      const actions = commit.actions.map((a) => ({
        action: a.action,
        filePath: a.filePath,
        ...(a.action === 'delete' ? {} : { content: a.content ?? '', encoding: 'text' }),
        ...(a.lastCommitId && a.action !== 'create' ? { lastCommitId: a.lastCommitId } : {}),
      }));
      const r = await call('Commits', 'create', project, commit.branch, commit.message, actions, {
        ...(commit.authorName ? { authorName: commit.authorName } : {}),
        ...(commit.authorEmail ? { authorEmail: commit.authorEmail } : {}),
        ...(commit.startBranch ? { startBranch: commit.startBranch } : {}),
      });
      return { id: String(r.id), web_url: str(r.web_url) };
    },

    async jobTrace(project, jobId) {
      const body = await orNullOn404(g.Jobs.showLog(project, jobId));
      if (body === null) return '';
      if (typeof Blob !== 'undefined' && body instanceof Blob) return body.text();
      return asText(body);
    },

    async createMergeRequest(project, mr) {
      const r = await call('MergeRequests', 'create', project, mr.sourceBranch, mr.targetBranch, mr.title, {
        ...(mr.description ? { description: mr.description } : {}),
        removeSourceBranch: true,
      });
      return { iid: Number(r.iid), web_url: str(r.web_url) };
    },

    async mergeRequest(project, iid) {
      return toMergeRequest(await call('MergeRequests', 'show', project, iid));
    },

    async memberAccessLevel(project, userId) {
      const m = (await orNullOn404(g.ProjectMembers.show(project, userId, { includeInherited: true }))) as Json | null;
      return m ? (num(m.access_level) ?? 0) : 0;
    },

    async createMergeRequestNote(project, iid, body) {
      const n = await call('MergeRequestNotes', 'create', project, iid, body);
      return { id: Number(n.id) };
    },

    async replyToDiscussion(project, iid, discussionId, body) {
      const n = await call('MergeRequestDiscussions', 'addNote', project, iid, discussionId, body);
      return { id: Number(n.id) };
    },

    async updateMergeRequestNote(project, iid, noteId, body) {
      await call('MergeRequestNotes', 'edit', project, iid, noteId, { body });
    },

    async awardEmojiOnNote(project, iid, noteId, name) {
      try {
        await call('MergeRequestNoteAwardEmojis', 'award', project, iid, noteId, name.replace(/^:|:$/g, ''));
      } catch (err) {
        // A repeated job awards again; GitLab refuses a duplicate (404 "has already been taken").
        if (err instanceof GitLabError && /already been taken/i.test(err.message)) return;
        throw err;
      }
    },
  };
  return client;
}
