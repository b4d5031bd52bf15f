/**
 * A fake GitLab REST API (v4) for tests: a real HTTP server on 127.0.0.1 speaking the paths, encodings,
 * auth headers, pagination headers and status codes that GitLab (and gitbeaker) use, over in-memory state.
 *
 *   const gl = await startFakeGitLab();                 // { url, token, bot, ... }
 *   const api = createGitLab({ url: gl.url, token: gl.token, timeoutMs: 2000 });
 *   const p = gl.addProject({ path: 'acme/team/app', files: { '.gitlab-ci.yml': 'test:\n  script: [echo]\n' } });
 *   const dev = gl.addUser({ username: 'dev' }); p.addMember(dev.id, 30);
 *   const sha = p.commit('feature', { 'src/a b.go': 'package a' }, { from: 'main' });  // new branch from main
 *   const mr = p.addMergeRequest({ sourceBranch: 'feature' });                          // iid 1
 *   const { pipeline, jobs } = p.addPipeline({ sha, ref: 'feature', status: 'failed',
 *     jobs: [{ name: 'build', stage: 'build' }, { name: 'test', stage: 'test', status: 'failed', failure_reason: 'script_failure' }] });
 *   gl.addJobToken('job-token-1', jobs[0].id);         // GET /job answers for that job while it is `running`
 *   gl.failNext({ method: 'POST', path: '/repository/commits', status: 429, retryAfter: 7 }); // or 500, or hang: true
 *   gl.count({ method: 'GET', path: '/repository/files/' });                                  // recorded calls
 *   p.notes(mr.iid)                                     // notes the client posted (with discussion ids, emoji)
 *   await gl.close();
 *
 * Conventions that match GitLab:
 * - Base URL `gl.url` is the instance (no /api/v4). Every API path wants `PRIVATE-TOKEN` (or
 *   `Authorization: Bearer`) of a known token, else 401; `GET /job` wants `JOB-TOKEN` of a running job.
 * - `:id` is a numeric id or the URL-encoded full path (`acme%2Fteam%2Fapp`); file paths are one encoded
 *   segment (`dir%2Fa%20b.yml`). An unencoded slash does not match (404), as gitbeaker always encodes.
 * - Refs: branch names, full or abbreviated commit shas, or `HEAD` (default branch).
 * - Tree: `pagination=keyset` answers `Link: <…&page_token=…>; rel="next"`; otherwise offset pagination.
 *   Lists (pipelines, jobs, notes, discussions, MRs) use offset pagination with x-page, x-per-page,
 *   x-total, x-total-pages, x-next-page, x-prev-page and Link. `maxPerPage` clamps `per_page` so tests
 *   can force many pages.
 * - Commits: 201; 400 when an update/delete's `last_commit_id` is stale, a create targets an existing
 *   file, an update/delete targets a missing one, or the branch is missing without `start_branch`.
 * - CI lint: valid when the YAML parses and has at least one visible job; every job needs script/run/
 *   trigger/extends and, when `stages:` is explicit, a declared stage. Includes are not resolved.
 * - Errors are `{"message": "404 File Not Found"}` style bodies.
 * Fault injection (`failNext`) applies to the next `times` requests whose method matches and whose raw
 * or decoded path (after /api/v4) contains the string or matches the RegExp; `hang` never answers
 * (until `close()`), for client timeouts.
 */
import { createHash } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import { parseAllDocuments } from 'yaml';

export type AccessLevel = 0 | 5 | 10 | 15 | 20 | 30 | 40 | 50 | 60;

export interface FakeUser {
  id: number;
  username: string;
  name: string;
  email: string;
}

interface FileEntry {
  content: string;
  lastCommitId: string;
  blobId: string;
}

export interface FakeCommit {
  id: string;
  parentIds: string[];
  message: string;
  authorName: string;
  authorEmail: string;
  createdAt: string;
  files: Map<string, FileEntry>;
}

export interface FakeMergeRequest {
  id: number;
  iid: number;
  projectId: number;
  sourceProjectId: number;
  sourceBranch: string;
  targetBranch: string;
  state: 'opened' | 'closed' | 'merged' | 'locked';
  title: string;
  authorId: number;
  description?: string;
}

export interface FakeAward {
  id: number;
  name: string;
  userId: number;
  createdAt: string;
}

export interface FakeNote {
  id: number;
  body: string;
  authorId: number;
  discussionId: string;
  /** true when posted as `POST /notes` (its own discussion of one) */
  individual: boolean;
  system: boolean;
  createdAt: string;
  updatedAt: string;
  awards: FakeAward[];
}

export interface FakeJob {
  id: number;
  name: string;
  stage: string;
  status: string;
  failure_reason: string | null;
  allow_failure: boolean;
  when: string;
  duration: number | null;
  queued_duration: number | null;
  retried: boolean;
  userId: number | null;
  pipelineId: number;
  /** the job's junit report, as counted in the pipeline's test report summary */
  tests: { success: number; failed: number; skipped: number; error: number } | null;
  coverage: number | null;
  /** the job's log (`GET /projects/:id/jobs/:job_id/trace`) */
  trace: string;
}

export interface FakePipeline {
  id: number;
  iid: number;
  projectId: number;
  sha: string;
  ref: string;
  status: string;
  source: string;
  name: string | null;
  duration: number | null;
  queued_duration: number | null;
  created_at: string;
  updated_at: string;
  finished_at: string | null;
  userId: number | null;
}

export interface JobSpec {
  name: string;
  stage?: string;
  status?: string;
  failure_reason?: string | null;
  allow_failure?: boolean;
  when?: string;
  duration?: number | null;
  queued_duration?: number | null;
  retried?: boolean;
  userId?: number | null;
  /** a junit report for this job: it appears as a suite (named after the job) in test_report_summary */
  tests?: { success: number; failed: number; skipped?: number; error?: number } | null;
  coverage?: number | null;
  /** the job's log, as the trace endpoint answers it */
  trace?: string;
}

export interface RecordedRequest {
  method: string;
  /** raw path after /api/v4, still encoded: `/projects/acme%2Fapp/repository/files/a%2Fb.yml/raw` */
  path: string;
  /** the same with each segment decoded: `/projects/acme/app/repository/files/a/b.yml/raw` */
  decodedPath: string;
  query: Record<string, string>;
  auth: 'private' | 'job' | 'none';
  status: number;
}

export interface FaultSpec {
  method?: string;
  path: string | RegExp;
  /** how many matching requests fail (default 1) */
  times?: number;
  /** default 500; 429 adds Retry-After when `retryAfter` is given */
  status?: number;
  /** seconds (number) or a raw header value (string, e.g. an HTTP date) */
  retryAfter?: number | string;
  /** never answer (until close) */
  hang?: boolean;
  body?: unknown;
  /** further response headers (GitLab sends RateLimit-* on every answer when rate limits are on) */
  headers?: Record<string, string>;
}

export interface FakeGitLabOptions {
  /** clamp for per_page, to force pagination in tests (GitLab's is 100) */
  maxPerPage?: number;
  /** the token `gl.token` (belongs to the bot user) */
  token?: string;
  bot?: { id?: number; username?: string; name?: string };
}

const JSON_HEADERS = { 'content-type': 'application/json' };
const RESERVED_KEYS = new Set([
  'image',
  'services',
  'stages',
  'types',
  'before_script',
  'after_script',
  'variables',
  'cache',
  'include',
  'default',
  'workflow',
  'spec',
]);

const sha1 = (s: string) => createHash('sha1').update(s).digest('hex');
const blobSha = (content: string) => {
  const buf = Buffer.from(content, 'utf8');
  return createHash('sha1').update(`blob ${buf.length}\0`).update(buf).digest('hex');
};
const now = () => new Date().toISOString();

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}
const notFound = (what: string) => new HttpError(404, `404 ${what} Not Found`);
const badRequest = (message: string) => new HttpError(400, message);

export class FakeProject {
  readonly branches = new Map<string, string>();
  readonly commits = new Map<string, FakeCommit>();
  readonly members = new Map<number, number>();
  readonly mergeRequests = new Map<number, FakeMergeRequest>();
  readonly mrNotes = new Map<number, FakeNote[]>();
  defaultBranch: string;
  ciConfigPath: string | null;

  constructor(
    private readonly gl: FakeGitLabState,
    readonly id: number,
    readonly path: string,
    defaultBranch: string,
    ciConfigPath: string | null,
  ) {
    this.defaultBranch = defaultBranch;
    this.ciConfigPath = ciConfigPath;
  }

  get webUrl(): string {
    return `${this.gl.url}/${this.path}`;
  }

  /**
   * Commits `files` on `branch` (null deletes a file) and moves the branch head. A missing branch is
   * created from `from` (default: the default branch; an empty history if that does not exist either).
   */
  commit(
    branch: string,
    files: Record<string, string | null>,
    opts: { message?: string; from?: string; authorName?: string; authorEmail?: string } = {},
  ): string {
    let parentSha = this.branches.get(branch);
    if (parentSha === undefined) parentSha = this.branches.get(opts.from ?? this.defaultBranch);
    const parent = parentSha ? this.commits.get(parentSha) : undefined;
    const id = sha1(`${this.id}:${this.gl.nextId('commit')}:${branch}:${opts.message ?? ''}`);
    const snapshot = new Map(parent?.files ?? []);
    for (const [path, content] of Object.entries(files)) {
      if (content === null) snapshot.delete(path);
      else snapshot.set(path, { content, lastCommitId: id, blobId: blobSha(content) });
    }
    this.commits.set(id, {
      id,
      parentIds: parent ? [parent.id] : [],
      message: opts.message ?? `Update ${Object.keys(files).join(', ')}`,
      authorName: opts.authorName ?? 'Test Author',
      authorEmail: opts.authorEmail ?? 'author@example.com',
      createdAt: now(),
      files: snapshot,
    });
    this.branches.set(branch, id);
    return id;
  }

  createBranch(name: string, from: string = this.defaultBranch): string {
    const sha = this.resolveRef(from);
    if (!sha) throw new Error(`fake: no ref ${from}`);
    this.branches.set(name, sha);
    return sha;
  }

  head(branch: string = this.defaultBranch): string | undefined {
    return this.branches.get(branch);
  }

  /** File content at a ref, or undefined. */
  file(path: string, ref: string = this.defaultBranch): string | undefined {
    const sha = this.resolveRef(ref);
    return sha ? this.commits.get(sha)?.files.get(path)?.content : undefined;
  }

  /** Commits reachable from a branch head, newest first. */
  history(branch: string = this.defaultBranch): FakeCommit[] {
    const out: FakeCommit[] = [];
    let sha = this.branches.get(branch);
    while (sha) {
      const c = this.commits.get(sha);
      if (!c) break;
      out.push(c);
      sha = c.parentIds[0];
    }
    return out;
  }

  resolveRef(ref: string): string | undefined {
    if (ref === 'HEAD') return this.branches.get(this.defaultBranch);
    const branch = this.branches.get(ref);
    if (branch) return branch;
    if (/^[0-9a-f]{7,40}$/.test(ref)) {
      for (const id of this.commits.keys()) if (id.startsWith(ref)) return id;
    }
    return undefined;
  }

  addMember(userId: number, accessLevel: AccessLevel | number): void {
    this.members.set(userId, accessLevel);
  }

  addMergeRequest(opts: {
    iid?: number;
    sourceBranch: string;
    targetBranch?: string;
    state?: FakeMergeRequest['state'];
    title?: string;
    /** for merge requests from forks */
    sourceProjectId?: number;
    authorId?: number;
  }): FakeMergeRequest {
    const iid = opts.iid ?? Math.max(0, ...this.mergeRequests.keys()) + 1;
    const mr: FakeMergeRequest = {
      id: this.gl.nextId('mr'),
      iid,
      projectId: this.id,
      sourceProjectId: opts.sourceProjectId ?? this.id,
      sourceBranch: opts.sourceBranch,
      targetBranch: opts.targetBranch ?? this.defaultBranch,
      state: opts.state ?? 'opened',
      title: opts.title ?? `Merge ${opts.sourceBranch}`,
      authorId: opts.authorId ?? this.gl.bot.id,
    };
    this.mergeRequests.set(iid, mr);
    return mr;
  }

  /**
   * A pipeline with its jobs (`status` defaults to the pipeline's). Finished statuses get
   * `finished_at`; `sha` defaults to the ref's head.
   */
  addPipeline(opts: {
    id?: number;
    iid?: number;
    sha?: string;
    ref?: string;
    status: string;
    source?: string;
    name?: string | null;
    duration?: number | null;
    queued_duration?: number | null;
    userId?: number | null;
    updatedAt?: string;
    jobs?: JobSpec[];
  }): { pipeline: FakePipeline; jobs: FakeJob[] } {
    const ref = opts.ref ?? this.defaultBranch;
    const sha = opts.sha ?? this.resolveRef(ref);
    if (!sha) throw new Error(`fake: pipeline needs a sha (no ref ${ref})`);
    const id = opts.id ?? this.gl.nextId('pipeline');
    const ownIids = [...this.gl.pipelines.values()].filter((p) => p.projectId === this.id).map((p) => p.iid);
    const created = now();
    const pipeline: FakePipeline = {
      id,
      iid: opts.iid ?? Math.max(0, ...ownIids) + 1,
      projectId: this.id,
      sha,
      ref,
      status: opts.status,
      source: opts.source ?? 'push',
      name: opts.name ?? null,
      duration: opts.duration ?? (isFinished(opts.status) ? 60 : null),
      queued_duration: opts.queued_duration ?? 2,
      created_at: created,
      updated_at: opts.updatedAt ?? created,
      finished_at: isFinished(opts.status) ? created : null,
      userId: opts.userId ?? this.gl.bot.id,
    };
    this.gl.pipelines.set(id, pipeline);
    const jobs = (opts.jobs ?? []).map((j) => this.gl.addJob(pipeline, j));
    return { pipeline, jobs };
  }

  /** Moves a pipeline to a new status (and optionally its jobs by name). */
  setPipelineStatus(pipelineId: number, status: string, jobStatuses: Record<string, string> = {}): FakePipeline {
    const p = this.gl.pipelines.get(pipelineId);
    if (!p) throw new Error(`fake: no pipeline ${pipelineId}`);
    p.status = status;
    p.updated_at = now();
    if (isFinished(status)) p.finished_at = p.updated_at;
    for (const job of this.gl.jobs.values()) {
      if (job.pipelineId === pipelineId && jobStatuses[job.name] && !job.retried) job.status = jobStatuses[job.name];
    }
    return p;
  }

  /** Notes on a merge request, oldest first. */
  notes(iid: number): FakeNote[] {
    return this.mrNotes.get(iid) ?? [];
  }

  /** A note as a user would write it in the UI (for building Note Hook payloads). */
  addNote(iid: number, authorId: number, body: string, discussionId?: string): FakeNote {
    return this.gl.addNote(this, iid, authorId, body, discussionId);
  }
}

function isFinished(status: string): boolean {
  return ['success', 'failed', 'canceled', 'skipped'].includes(status);
}

/** The whole in-memory GitLab, exposed for assertions. */
export class FakeGitLabState {
  url = '';
  readonly users = new Map<number, FakeUser>();
  readonly tokens = new Map<string, number>();
  readonly projects = new Map<number, FakeProject>();
  readonly groupMembers = new Map<string, Map<number, number>>();
  readonly pipelines = new Map<number, FakePipeline>();
  readonly jobs = new Map<number, FakeJob>();
  readonly jobTokens = new Map<string, number>();
  readonly bot: FakeUser;
  private readonly counters = new Map<string, number>();

  constructor(options: FakeGitLabOptions) {
    this.bot = this.addUser({
      id: options.bot?.id ?? 900,
      username: options.bot?.username ?? 'pipeline-bot',
      name: options.bot?.name ?? 'Pipeline Bot',
    });
  }

  nextId(kind: string): number {
    const bases: Record<string, number> = {
      pipeline: 1000,
      job: 5000,
      note: 100,
      mr: 10,
      project: 1,
      user: 1,
      award: 1,
    };
    const next = (this.counters.get(kind) ?? bases[kind] ?? 1) + 1;
    this.counters.set(kind, next);
    return next;
  }

  addUser(opts: { id?: number; username: string; name?: string; email?: string }): FakeUser {
    const id = opts.id ?? this.nextId('user');
    const user = {
      id,
      username: opts.username,
      name: opts.name ?? opts.username,
      email: opts.email ?? `${opts.username}@example.com`,
    };
    this.users.set(id, user);
    return user;
  }

  addProject(opts: {
    id?: number;
    path: string;
    defaultBranch?: string;
    ciConfigPath?: string | null;
    /** initial files on the default branch */
    files?: Record<string, string>;
  }): FakeProject {
    const id = opts.id ?? this.nextId('project');
    const project = new FakeProject(this, id, opts.path, opts.defaultBranch ?? 'main', opts.ciConfigPath ?? null);
    this.projects.set(id, project);
    if (opts.files) project.commit(project.defaultBranch, opts.files, { message: 'Initial commit' });
    return project;
  }

  /** Membership on a group path (`acme` or `acme/team`): projects below inherit it. */
  addGroupMember(groupPath: string, userId: number, accessLevel: AccessLevel | number): void {
    const m = this.groupMembers.get(groupPath.toLowerCase()) ?? new Map<number, number>();
    m.set(userId, accessLevel);
    this.groupMembers.set(groupPath.toLowerCase(), m);
  }

  /** A PRIVATE-TOKEN for a user. */
  addToken(token: string, userId: number): void {
    this.tokens.set(token, userId);
  }

  /** A CI job token: `GET /job` answers with this job while its status is `running`. */
  addJobToken(token: string, jobId: number): void {
    this.jobTokens.set(token, jobId);
  }

  addJob(pipeline: FakePipeline, spec: JobSpec): FakeJob {
    const job: FakeJob = {
      id: this.nextId('job'),
      name: spec.name,
      stage: spec.stage ?? 'test',
      status: spec.status ?? (pipeline.status === 'failed' ? 'success' : pipeline.status),
      failure_reason: spec.failure_reason ?? null,
      allow_failure: spec.allow_failure ?? false,
      when: spec.when ?? 'on_success',
      duration: spec.duration ?? null,
      queued_duration: spec.queued_duration ?? null,
      retried: spec.retried ?? false,
      userId: spec.userId ?? pipeline.userId,
      pipelineId: pipeline.id,
      tests: spec.tests ? { skipped: 0, error: 0, ...spec.tests } : null,
      coverage: spec.coverage ?? null,
      trace: spec.trace ?? '',
    };
    this.jobs.set(job.id, job);
    return job;
  }

  project(ref: string | number): FakeProject | undefined {
    if (typeof ref === 'number' || /^\d+$/.test(ref)) return this.projects.get(Number(ref));
    const wanted = ref.toLowerCase();
    for (const p of this.projects.values()) if (p.path.toLowerCase() === wanted) return p;
    return undefined;
  }

  effectiveAccess(project: FakeProject, userId: number): number {
    let level = project.members.get(userId) ?? 0;
    const segments = project.path.toLowerCase().split('/');
    for (let i = 1; i < segments.length; i++) {
      const group = this.groupMembers.get(segments.slice(0, i).join('/'));
      level = Math.max(level, group?.get(userId) ?? 0);
    }
    return level;
  }

  addNote(project: FakeProject, iid: number, authorId: number, body: string, discussionId?: string): FakeNote {
    if (!project.mergeRequests.has(iid)) throw notFound('Merge Request');
    const list = project.mrNotes.get(iid) ?? [];
    const id = this.nextId('note');
    const t = now();
    const note: FakeNote = {
      id,
      body,
      authorId,
      discussionId: discussionId ?? sha1(`discussion:${id}`),
      individual: discussionId === undefined,
      system: false,
      createdAt: t,
      updatedAt: t,
      awards: [],
    };
    list.push(note);
    project.mrNotes.set(iid, list);
    return note;
  }
}

export interface FakeGitLab {
  /** instance base URL, e.g. http://127.0.0.1:40123 (the API is under /api/v4) */
  url: string;
  /** a valid PRIVATE-TOKEN of the bot user */
  token: string;
  bot: FakeUser;
  state: FakeGitLabState;
  requests: RecordedRequest[];
  addUser: FakeGitLabState['addUser'];
  addProject: FakeGitLabState['addProject'];
  addGroupMember: FakeGitLabState['addGroupMember'];
  addToken: FakeGitLabState['addToken'];
  addJobToken: FakeGitLabState['addJobToken'];
  project(ref: string | number): FakeProject;
  failNext(fault: FaultSpec): void;
  /** recorded requests matching method and a path substring/RegExp (raw or decoded) */
  count(filter?: { method?: string; path?: string | RegExp }): number;
  resetRequests(): void;
  close(): Promise<void>;
}

function pathMatches(req: { path: string; decodedPath: string }, pattern: string | RegExp): boolean {
  if (typeof pattern === 'string') return req.path.includes(pattern) || req.decodedPath.includes(pattern);
  return pattern.test(req.path) || pattern.test(req.decodedPath);
}

interface Ctx {
  method: string;
  params: Record<string, string>;
  query: URLSearchParams;
  body: Record<string, unknown>;
  userId: number;
  url: URL;
}

type Handler = (ctx: Ctx) => Response | Promise<Response>;

interface Route {
  method: string;
  segments: string[];
  auth: 'private' | 'job';
  handler: Handler;
}

export async function startFakeGitLab(options: FakeGitLabOptions = {}): Promise<FakeGitLab> {
  const state = new FakeGitLabState(options);
  const token = options.token ?? 'glpat-fake-bot-token-0123456789';
  state.addToken(token, state.bot.id);
  const maxPerPage = Math.min(100, options.maxPerPage ?? 100);
  const requests: RecordedRequest[] = [];
  const faults: Array<FaultSpec & { remaining: number }> = [];
  const hanging = new Set<() => void>();
  const routes: Route[] = [];

  const route = (method: string, pattern: string, handler: Handler, auth: 'private' | 'job' = 'private') =>
    routes.push({ method, segments: pattern.split('/').filter(Boolean), auth, handler });

  const json = (status: number, body: unknown, headers: Record<string, string> = {}) =>
    new Response(JSON.stringify(body), { status, headers: { ...JSON_HEADERS, ...headers } });

  const projectOf = (ctx: Ctx): FakeProject => {
    const p = state.project(ctx.params.id);
    if (!p) throw notFound('Project');
    return p;
  };
  const userJson = (id: number | null) => {
    const u = id === null ? undefined : state.users.get(id);
    return u
      ? {
          id: u.id,
          username: u.username,
          name: u.name,
          state: 'active',
          avatar_url: null,
          web_url: `${state.url}/${u.username}`,
        }
      : null;
  };
  const requireRef = (p: FakeProject, ref: string | null, what = 'Commit'): string => {
    const sha = p.resolveRef(ref ?? 'HEAD');
    if (!sha) throw notFound(what);
    return sha;
  };
  const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : v == null ? undefined : String(v));

  /** offset pagination with GitLab's headers */
  const paginate = (ctx: Ctx, items: unknown[]) => {
    const perPage = Math.max(1, Math.min(maxPerPage, Number(ctx.query.get('per_page') ?? 20) || 20));
    const totalPages = Math.max(1, Math.ceil(items.length / perPage));
    const page = Math.max(1, Number(ctx.query.get('page') ?? 1) || 1);
    const slice = items.slice((page - 1) * perPage, page * perPage);
    const link = (p: number) => {
      const u = new URL(ctx.url);
      u.searchParams.set('page', String(p));
      u.searchParams.set('per_page', String(perPage));
      return u.toString();
    };
    const links: string[] = [];
    if (page > 1) links.push(`<${link(page - 1)}>; rel="prev"`);
    if (page < totalPages) links.push(`<${link(page + 1)}>; rel="next"`);
    links.push(`<${link(1)}>; rel="first"`, `<${link(totalPages)}>; rel="last"`);
    return json(200, slice, {
      'x-page': String(page),
      'x-per-page': String(perPage),
      'x-total': String(items.length),
      'x-total-pages': String(totalPages),
      'x-next-page': page < totalPages ? String(page + 1) : '',
      'x-prev-page': page > 1 ? String(page - 1) : '',
      link: links.join(', '),
    });
  };

  const projectJson = (p: FakeProject) => ({
    id: p.id,
    name: p.path.split('/').pop(),
    path: p.path.split('/').pop(),
    path_with_namespace: p.path,
    name_with_namespace: p.path.split('/').join(' / '),
    namespace: { full_path: p.path.split('/').slice(0, -1).join('/') },
    default_branch: p.branches.size > 0 ? p.defaultBranch : null,
    ci_config_path: p.ciConfigPath,
    web_url: p.webUrl,
    http_url_to_repo: `${p.webUrl}.git`,
    visibility: 'private',
  });

  const commitJson = (p: FakeProject, c: FakeCommit) => ({
    id: c.id,
    short_id: c.id.slice(0, 8),
    title: c.message.split('\n')[0],
    message: c.message,
    author_name: c.authorName,
    author_email: c.authorEmail,
    authored_date: c.createdAt,
    committer_name: c.authorName,
    committer_email: c.authorEmail,
    committed_date: c.createdAt,
    created_at: c.createdAt,
    parent_ids: c.parentIds,
    web_url: `${p.webUrl}/-/commit/${c.id}`,
    status: null,
  });

  const pipelineJson = (p: FakePipeline) => {
    const project = state.projects.get(p.projectId)!;
    return {
      id: p.id,
      iid: p.iid,
      project_id: p.projectId,
      name: p.name,
      sha: p.sha,
      ref: p.ref,
      status: p.status,
      source: p.source,
      created_at: p.created_at,
      updated_at: p.updated_at,
      started_at: p.created_at,
      finished_at: p.finished_at,
      committed_at: null,
      duration: p.duration,
      queued_duration: p.queued_duration,
      coverage: null,
      tag: false,
      yaml_errors: null,
      before_sha: '0000000000000000000000000000000000000000',
      user: userJson(p.userId),
      web_url: `${project.webUrl}/-/pipelines/${p.id}`,
      detailed_status: { text: p.status, label: p.status === 'success' ? 'passed' : p.status, group: p.status },
    };
  };

  const jobJson = (j: FakeJob) => {
    const p = state.pipelines.get(j.pipelineId)!;
    const project = state.projects.get(p.projectId)!;
    return {
      id: j.id,
      name: j.name,
      stage: j.stage,
      status: j.status,
      ref: p.ref,
      tag: false,
      coverage: j.coverage,
      allow_failure: j.allow_failure,
      when: j.when,
      failure_reason: j.status === 'failed' ? (j.failure_reason ?? 'script_failure') : undefined,
      created_at: p.created_at,
      started_at: p.created_at,
      finished_at: isFinished(j.status) ? p.updated_at : null,
      duration: j.duration,
      queued_duration: j.queued_duration,
      retried: j.retried,
      user: userJson(j.userId),
      commit: { id: p.sha, short_id: p.sha.slice(0, 8) },
      pipeline: { id: p.id, project_id: p.projectId, ref: p.ref, sha: p.sha, status: p.status },
      web_url: `${project.webUrl}/-/jobs/${j.id}`,
      project: { ci_job_token_scope_enabled: false },
      artifacts: [],
      runner: null,
      tag_list: [],
    };
  };

  const mrJson = (p: FakeProject, mr: FakeMergeRequest) => {
    const source = state.projects.get(mr.sourceProjectId) ?? p;
    return {
      id: mr.id,
      iid: mr.iid,
      project_id: p.id,
      title: mr.title,
      description: mr.description ?? '',
      state: mr.state,
      source_branch: mr.sourceBranch,
      target_branch: mr.targetBranch,
      source_project_id: mr.sourceProjectId,
      target_project_id: p.id,
      author: userJson(mr.authorId),
      sha: source.branches.get(mr.sourceBranch) ?? null,
      draft: false,
      work_in_progress: false,
      merge_status: 'can_be_merged',
      detailed_merge_status: 'mergeable',
      web_url: `${p.webUrl}/-/merge_requests/${mr.iid}`,
    };
  };

  const noteJson = (p: FakeProject, iid: number, n: FakeNote) => ({
    id: n.id,
    type: n.individual ? null : 'DiscussionNote',
    body: n.body,
    attachment: null,
    author: userJson(n.authorId),
    created_at: n.createdAt,
    updated_at: n.updatedAt,
    system: n.system,
    noteable_id: p.mergeRequests.get(iid)?.id,
    noteable_type: 'MergeRequest',
    project_id: p.id,
    noteable_iid: iid,
    resolvable: false,
    confidential: false,
    internal: false,
  });

  const mrOf = (ctx: Ctx) => {
    const p = projectOf(ctx);
    const mr = p.mergeRequests.get(Number(ctx.params.iid));
    if (!mr) throw notFound('Merge Request');
    return { p, mr };
  };
  const noteOf = (ctx: Ctx) => {
    const { p, mr } = mrOf(ctx);
    const note = p.notes(mr.iid).find((n) => n.id === Number(ctx.params.note_id));
    if (!note) throw notFound('Note');
    return { p, mr, note };
  };
  const requireBody = (ctx: Ctx): string => {
    const body = str(ctx.body.body);
    if (!body) throw badRequest('body is missing');
    return body;
  };

  // ---- users ----
  route('GET', 'user', (ctx) => {
    const u = state.users.get(ctx.userId)!;
    return json(200, { ...userJson(u.id), email: u.email, bot: u.id === state.bot.id });
  });

  // ---- projects ----
  route('GET', 'projects/:id', (ctx) => json(200, projectJson(projectOf(ctx))));

  // ---- repository ----
  route('GET', 'projects/:id/repository/tree', (ctx) => {
    const p = projectOf(ctx);
    const sha = requireRef(p, ctx.query.get('ref'), 'Tree');
    const files = [...p.commits.get(sha)!.files.keys()];
    const base = (ctx.query.get('path') ?? '').replace(/^\/+|\/+$/g, '');
    const recursive = ctx.query.get('recursive') === 'true';
    const entries = new Map<string, 'tree' | 'blob'>();
    for (const f of files) {
      if (base && !f.startsWith(`${base}/`)) continue;
      const rel = base ? f.slice(base.length + 1) : f;
      const parts = rel.split('/');
      const depth = recursive ? parts.length : 1;
      for (let i = 1; i <= depth; i++) {
        const full = [base, ...parts.slice(0, i)].filter(Boolean).join('/');
        entries.set(full, i === parts.length ? 'blob' : 'tree');
      }
    }
    if (base && entries.size === 0) throw notFound('Tree');
    const items = [...entries]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([path, type]) => ({
        id: type === 'blob' ? p.commits.get(sha)!.files.get(path)!.blobId : sha1(`tree:${sha}:${path}`),
        name: path.split('/').pop(),
        type,
        path,
        mode: type === 'blob' ? '100644' : '040000',
      }));
    if (ctx.query.get('pagination') !== 'keyset') return paginate(ctx, items);
    const perPage = Math.max(1, Math.min(maxPerPage, Number(ctx.query.get('per_page') ?? 20) || 20));
    const after = ctx.query.get('page_token');
    const start = after ? items.findIndex((i) => i.path > after) : 0;
    const slice = start < 0 ? [] : items.slice(start, start + perPage);
    const headers: Record<string, string> = {};
    if (start >= 0 && start + perPage < items.length) {
      const next = new URL(ctx.url);
      next.searchParams.set('page_token', slice[slice.length - 1].path);
      headers.link = `<${next.toString()}>; rel="next"`;
    }
    return json(200, slice, headers);
  });

  const fileOf = (ctx: Ctx) => {
    const p = projectOf(ctx);
    const ref = ctx.query.get('ref');
    if (ref === null && !ctx.url.pathname.endsWith('/raw')) throw badRequest('ref is missing');
    const sha = requireRef(p, ref, 'Commit');
    const entry = p.commits.get(sha)!.files.get(ctx.params.file_path);
    if (!entry) throw notFound('File');
    return { p, sha, ref: ref ?? 'HEAD', entry };
  };
  route('GET', 'projects/:id/repository/files/:file_path', (ctx) => {
    const { sha, ref, entry } = fileOf(ctx);
    const buf = Buffer.from(entry.content, 'utf8');
    return json(200, {
      file_name: ctx.params.file_path.split('/').pop(),
      file_path: ctx.params.file_path,
      size: buf.length,
      encoding: 'base64',
      content: buf.toString('base64'),
      content_sha256: createHash('sha256').update(buf).digest('hex'),
      ref,
      blob_id: entry.blobId,
      commit_id: sha,
      last_commit_id: entry.lastCommitId,
      execute_filemode: false,
    });
  });
  route('GET', 'projects/:id/repository/files/:file_path/raw', (ctx) => {
    const { entry } = fileOf(ctx);
    return new Response(entry.content, { status: 200, headers: { 'content-type': 'text/plain; charset=utf-8' } });
  });

  route('GET', 'projects/:id/repository/branches/:branch', (ctx) => {
    const p = projectOf(ctx);
    const sha = p.branches.get(ctx.params.branch);
    if (!sha) throw notFound('Branch');
    return json(200, {
      name: ctx.params.branch,
      commit: commitJson(p, p.commits.get(sha)!),
      merged: false,
      protected: ctx.params.branch === p.defaultBranch,
      default: ctx.params.branch === p.defaultBranch,
      developers_can_push: false,
      developers_can_merge: false,
      can_push: true,
      web_url: `${p.webUrl}/-/tree/${ctx.params.branch}`,
    });
  });
  route('POST', 'projects/:id/repository/branches', (ctx) => {
    const p = projectOf(ctx);
    const name = str(ctx.body.branch);
    const ref = str(ctx.body.ref);
    if (!name || !ref) throw badRequest(`${name ? 'ref' : 'branch'} is missing`);
    if (p.branches.has(name)) throw badRequest('Branch already exists');
    const sha = p.resolveRef(ref);
    if (!sha) throw badRequest('Invalid reference name');
    p.branches.set(name, sha);
    return json(201, { name, commit: commitJson(p, p.commits.get(sha)!), default: false, protected: false });
  });

  route('GET', 'projects/:id/repository/commits/:sha', (ctx) => {
    const p = projectOf(ctx);
    const sha = p.resolveRef(ctx.params.sha);
    if (!sha) throw notFound('Commit');
    return json(200, commitJson(p, p.commits.get(sha)!));
  });

  route('POST', 'projects/:id/repository/commits', (ctx) => {
    const p = projectOf(ctx);
    const branch = str(ctx.body.branch);
    const message = str(ctx.body.commit_message);
    if (!branch) throw badRequest('branch is missing');
    if (!message) throw badRequest('commit_message is missing');
    const actions = Array.isArray(ctx.body.actions) ? (ctx.body.actions as Record<string, unknown>[]) : [];
    if (actions.length === 0) throw badRequest('actions is missing');
    let baseSha = p.branches.get(branch);
    if (baseSha === undefined) {
      const start = str(ctx.body.start_branch) ?? str(ctx.body.start_sha);
      if (start === undefined) throw badRequest('You can only create or edit files when you are on a branch');
      baseSha = p.resolveRef(start);
      if (!baseSha) throw badRequest(`Cannot find start_branch "${start}"`);
    }
    const files = p.commits.get(baseSha)!.files;
    const changes: Record<string, string | null> = {};
    for (const a of actions) {
      const filePath = str(a.file_path);
      if (!filePath) throw badRequest('actions[file_path] is missing');
      const existing = files.get(filePath);
      const lastCommitId = str(a.last_commit_id);
      const content =
        a.encoding === 'base64' ? Buffer.from(str(a.content) ?? '', 'base64').toString('utf8') : str(a.content);
      switch (a.action) {
        case 'create':
          if (existing) throw badRequest('A file with this name already exists');
          changes[filePath] = content ?? '';
          break;
        case 'update':
        case 'delete':
          if (!existing) throw badRequest("A file with this name doesn't exist");
          if (lastCommitId && lastCommitId !== existing.lastCommitId)
            throw badRequest('You are attempting to update a file that has changed since you started editing it.');
          changes[filePath] = a.action === 'delete' ? null : (content ?? '');
          break;
        default:
          throw badRequest('actions[action] does not have a valid value');
      }
    }
    if (!p.branches.has(branch)) p.branches.set(branch, baseSha);
    const id = p.commit(branch, changes, {
      message,
      authorName: str(ctx.body.author_name) ?? state.users.get(ctx.userId)?.name,
      authorEmail: str(ctx.body.author_email) ?? state.users.get(ctx.userId)?.email,
    });
    return json(201, { ...commitJson(p, p.commits.get(id)!), stats: { additions: 0, deletions: 0, total: 0 } });
  });

  // ---- CI ----
  route('POST', 'projects/:id/ci/lint', (ctx) => {
    projectOf(ctx);
    const content = str(ctx.body.content);
    if (content === undefined) throw badRequest('content is missing');
    return json(200, { ...lintYaml(content), includes: [] });
  });

  const pipelineOf = (ctx: Ctx) => {
    const p = projectOf(ctx);
    const pipeline = state.pipelines.get(Number(ctx.params.pipeline_id));
    if (!pipeline || pipeline.projectId !== p.id) throw notFound('');
    return pipeline;
  };
  route('GET', 'projects/:id/pipelines', (ctx) => {
    const p = projectOf(ctx);
    const q = ctx.query;
    const orderBy = q.get('order_by') ?? 'id';
    const asc = q.get('sort') === 'asc';
    const list = [...state.pipelines.values()]
      .filter((x) => x.projectId === p.id)
      .filter((x) => !q.get('ref') || x.ref === q.get('ref'))
      .filter((x) => !q.get('sha') || x.sha === q.get('sha'))
      .filter((x) => !q.get('status') || x.status === q.get('status'))
      .filter((x) => !q.get('source') || x.source === q.get('source'))
      .filter((x) => !q.get('updated_after') || Date.parse(x.updated_at) > Date.parse(q.get('updated_after')!))
      .filter((x) => !q.get('updated_before') || Date.parse(x.updated_at) < Date.parse(q.get('updated_before')!))
      .sort((a, b) => {
        const d =
          orderBy === 'updated_at' ? Date.parse(a.updated_at) - Date.parse(b.updated_at) || a.id - b.id : a.id - b.id;
        return asc ? d : -d;
      })
      .map((x) => {
        const full = pipelineJson(x);
        return {
          id: full.id,
          iid: full.iid,
          project_id: full.project_id,
          sha: full.sha,
          ref: full.ref,
          status: full.status,
          source: full.source,
          name: full.name,
          created_at: full.created_at,
          updated_at: full.updated_at,
          web_url: full.web_url,
        };
      });
    return paginate(ctx, list);
  });
  route('GET', 'projects/:id/pipelines/:pipeline_id', (ctx) => json(200, pipelineJson(pipelineOf(ctx))));
  // Shape of GitLab's Pipelines API docs: totals plus one suite per job with a junit report (latest attempts).
  route('GET', 'projects/:id/pipelines/:pipeline_id/test_report_summary', (ctx) => {
    const pipeline = pipelineOf(ctx);
    const suites = [...state.jobs.values()]
      .filter((j) => j.pipelineId === pipeline.id && !j.retried && j.tests)
      .sort((a, b) => a.id - b.id)
      .map((j) => {
        const t = j.tests!;
        return {
          name: j.name,
          total_time: j.duration ?? 0,
          total_count: t.success + t.failed + t.skipped + t.error,
          success_count: t.success,
          failed_count: t.failed,
          skipped_count: t.skipped,
          error_count: t.error,
          build_ids: [j.id],
          suite_error: null,
        };
      });
    const sum = (k: 'total_count' | 'success_count' | 'failed_count' | 'skipped_count' | 'error_count') =>
      suites.reduce((n, x) => n + x[k], 0);
    return json(200, {
      total: {
        time: suites.reduce((n, x) => n + x.total_time, 0),
        count: sum('total_count'),
        success: sum('success_count'),
        failed: sum('failed_count'),
        skipped: sum('skipped_count'),
        error: sum('error_count'),
        suite_error: null,
      },
      test_suites: suites,
    });
  });
  route('GET', 'projects/:id/pipelines/:pipeline_id/jobs', (ctx) => {
    const pipeline = pipelineOf(ctx);
    const includeRetried = ctx.query.get('include_retried') === 'true';
    const jobs = [...state.jobs.values()]
      .filter((j) => j.pipelineId === pipeline.id && (includeRetried || !j.retried))
      .sort((a, b) => b.id - a.id)
      .map(jobJson);
    return paginate(ctx, jobs);
  });
  route('GET', 'projects/:id/jobs/:job_id/trace', (ctx) => {
    const p = projectOf(ctx);
    const job = state.jobs.get(Number(ctx.params.job_id));
    const pipeline = job ? state.pipelines.get(job.pipelineId) : undefined;
    if (!job || pipeline?.projectId !== p.id) throw notFound('Job');
    return new Response(job.trace, { status: 200, headers: { 'content-type': 'text/plain; charset=utf-8' } });
  });
  route(
    'GET',
    'job',
    (ctx) => {
      const job = state.jobs.get(ctx.userId);
      return json(200, jobJson(job!));
    },
    'job',
  );

  // ---- merge requests ----
  route('GET', 'projects/:id/merge_requests', (ctx) => {
    const p = projectOf(ctx);
    const q = ctx.query;
    const list = [...p.mergeRequests.values()]
      .filter((m) => !q.get('source_branch') || m.sourceBranch === q.get('source_branch'))
      .filter((m) => !q.get('state') || q.get('state') === 'all' || m.state === q.get('state'))
      .sort((a, b) => b.iid - a.iid)
      .map((m) => mrJson(p, m));
    return paginate(ctx, list);
  });
  route('POST', 'projects/:id/merge_requests', (ctx) => {
    const p = projectOf(ctx);
    const source = str(ctx.body.source_branch);
    const target = str(ctx.body.target_branch);
    const title = str(ctx.body.title);
    if (!source || !target || !title) throw badRequest('source_branch, target_branch and title are required');
    if (!p.branches.has(source)) throw badRequest(`Source branch "${source}" does not exist`);
    if (!p.branches.has(target)) throw badRequest(`Target branch "${target}" does not exist`);
    const open = [...p.mergeRequests.values()].find(
      (m) => m.sourceBranch === source && m.targetBranch === target && m.state === 'opened',
    );
    if (open)
      throw new HttpError(409, `Another open merge request already exists for this source branch: !${open.iid}`);
    const mr = p.addMergeRequest({ sourceBranch: source, targetBranch: target, title, authorId: ctx.userId });
    mr.description = str(ctx.body.description) ?? '';
    return json(201, mrJson(p, mr));
  });
  route('GET', 'projects/:id/merge_requests/:iid', (ctx) => {
    const { p, mr } = mrOf(ctx);
    return json(200, mrJson(p, mr));
  });

  // ---- members ----
  const memberJson = (userId: number, level: number) => ({
    ...userJson(userId),
    access_level: level,
    created_at: '2024-01-01T00:00:00Z',
    expires_at: null,
  });
  route('GET', 'projects/:id/members/all/:user_id', (ctx) => {
    const level = state.effectiveAccess(projectOf(ctx), Number(ctx.params.user_id));
    if (level === 0 || !state.users.has(Number(ctx.params.user_id))) throw notFound('');
    return json(200, memberJson(Number(ctx.params.user_id), level));
  });
  route('GET', 'projects/:id/members/:user_id', (ctx) => {
    const level = projectOf(ctx).members.get(Number(ctx.params.user_id));
    if (!level || !state.users.has(Number(ctx.params.user_id))) throw notFound('');
    return json(200, memberJson(Number(ctx.params.user_id), level));
  });

  // ---- notes and discussions ----
  route('GET', 'projects/:id/merge_requests/:iid/notes', (ctx) => {
    const { p, mr } = mrOf(ctx);
    const notes = p.notes(mr.iid).map((n) => noteJson(p, mr.iid, n));
    return paginate(ctx, ctx.query.get('sort') === 'asc' ? notes : [...notes].reverse());
  });
  route('POST', 'projects/:id/merge_requests/:iid/notes', (ctx) => {
    const { p, mr } = mrOf(ctx);
    const note = state.addNote(p, mr.iid, ctx.userId, requireBody(ctx));
    return json(201, noteJson(p, mr.iid, note));
  });
  route('GET', 'projects/:id/merge_requests/:iid/notes/:note_id', (ctx) => {
    const { p, mr, note } = noteOf(ctx);
    return json(200, noteJson(p, mr.iid, note));
  });
  route('PUT', 'projects/:id/merge_requests/:iid/notes/:note_id', (ctx) => {
    const { p, mr, note } = noteOf(ctx);
    if (note.authorId !== ctx.userId) throw new HttpError(403, '403 Forbidden');
    note.body = requireBody(ctx);
    note.updatedAt = now();
    return json(200, noteJson(p, mr.iid, note));
  });
  const discussionsOf = (p: FakeProject, iid: number) => {
    const byId = new Map<string, FakeNote[]>();
    for (const n of p.notes(iid)) byId.set(n.discussionId, [...(byId.get(n.discussionId) ?? []), n]);
    return [...byId].map(([id, notes]) => ({
      id,
      individual_note: notes[0].individual,
      notes: notes.map((n) => noteJson(p, iid, n)),
    }));
  };
  route('GET', 'projects/:id/merge_requests/:iid/discussions', (ctx) => {
    const { p, mr } = mrOf(ctx);
    return paginate(ctx, discussionsOf(p, mr.iid));
  });
  route('GET', 'projects/:id/merge_requests/:iid/discussions/:discussion_id', (ctx) => {
    const { p, mr } = mrOf(ctx);
    const d = discussionsOf(p, mr.iid).find((x) => x.id === ctx.params.discussion_id);
    if (!d) throw notFound('');
    return json(200, d);
  });
  route('POST', 'projects/:id/merge_requests/:iid/discussions', (ctx) => {
    const { p, mr } = mrOf(ctx);
    const note = state.addNote(p, mr.iid, ctx.userId, requireBody(ctx), sha1(`thread:${state.nextId('note')}`));
    return json(
      201,
      discussionsOf(p, mr.iid).find((d) => d.id === note.discussionId),
    );
  });
  route('POST', 'projects/:id/merge_requests/:iid/discussions/:discussion_id/notes', (ctx) => {
    const { p, mr } = mrOf(ctx);
    const thread = p.notes(mr.iid).filter((n) => n.discussionId === ctx.params.discussion_id);
    if (thread.length === 0) throw notFound('Discussion');
    const body = requireBody(ctx);
    // Replying to a standalone note turns it into a thread, as in GitLab.
    for (const n of thread) n.individual = false;
    const note = state.addNote(p, mr.iid, ctx.userId, body, ctx.params.discussion_id);
    return json(201, noteJson(p, mr.iid, note));
  });
  const awardJson = (a: FakeAward, awardableId: number, type: string) => ({
    id: a.id,
    name: a.name,
    user: userJson(a.userId),
    created_at: a.createdAt,
    updated_at: a.createdAt,
    awardable_id: awardableId,
    awardable_type: type,
  });
  route('GET', 'projects/:id/merge_requests/:iid/notes/:note_id/award_emoji', (ctx) => {
    const { note } = noteOf(ctx);
    return paginate(
      ctx,
      note.awards.map((a) => awardJson(a, note.id, 'Note')),
    );
  });
  route('POST', 'projects/:id/merge_requests/:iid/notes/:note_id/award_emoji', (ctx) => {
    const { note } = noteOf(ctx);
    const name = str(ctx.body.name);
    if (!name) throw badRequest('name is missing');
    if (note.awards.some((a) => a.name === name && a.userId === ctx.userId))
      throw new HttpError(404, '404 Award Emoji Name has already been taken Not Found');
    const award: FakeAward = { id: state.nextId('award'), name, userId: ctx.userId, createdAt: now() };
    note.awards.push(award);
    return json(201, awardJson(award, note.id, 'Note'));
  });

  // ---- server ----
  const authenticate = (c: Request, url: URL, kind: 'private' | 'job'): number | null => {
    if (kind === 'job') {
      const jobToken = c.headers.get('job-token') ?? url.searchParams.get('job_token');
      const jobId = jobToken ? state.jobTokens.get(jobToken) : undefined;
      const job = jobId === undefined ? undefined : state.jobs.get(jobId);
      return job && job.status === 'running' ? job.id : null;
    }
    const bearer = c.headers.get('authorization')?.match(/^Bearer (.+)$/i)?.[1];
    const t = c.headers.get('private-token') ?? bearer;
    return t ? (state.tokens.get(t) ?? null) : null;
  };

  const app = new Hono();
  app.all('*', async (c) => {
    const url = new URL(c.req.url);
    const prefix = '/api/v4/';
    const rawPath = url.pathname.startsWith(prefix) ? url.pathname.slice(prefix.length - 1) : url.pathname;
    const rawSegments = rawPath.split('/').filter(Boolean);
    let segments: string[];
    try {
      segments = rawSegments.map((s) => decodeURIComponent(s));
    } catch {
      segments = rawSegments;
    }
    const rec: RecordedRequest = {
      method: c.req.method,
      path: rawPath,
      decodedPath: `/${segments.join('/')}`,
      query: Object.fromEntries(url.searchParams),
      auth: c.req.header('job-token')
        ? 'job'
        : c.req.header('private-token') || c.req.header('authorization')
          ? 'private'
          : 'none',
      status: 0,
    };
    requests.push(rec);
    const answer = (res: Response) => {
      rec.status = res.status;
      return res;
    };

    const fault = faults.find(
      (f) => f.remaining > 0 && (!f.method || f.method.toUpperCase() === rec.method) && pathMatches(rec, f.path),
    );
    if (fault) {
      fault.remaining--;
      if (fault.hang) {
        return new Promise<Response>((resolve) => {
          const release = () => resolve(answer(json(503, { message: 'fake closed' })));
          hanging.add(release);
        });
      }
      const status = fault.status ?? 500;
      const headers: Record<string, string> = {};
      if (fault.retryAfter !== undefined) headers['retry-after'] = String(fault.retryAfter);
      Object.assign(headers, fault.headers);
      const body = fault.body ?? { message: status === 429 ? 'Retry later' : `${status} Internal Server Error` };
      return answer(json(status, body, headers));
    }

    if (!url.pathname.startsWith(prefix)) return answer(json(404, { error: '404 Not Found' }));
    let params: Record<string, string> | null = null;
    let matched: Route | undefined;
    for (const r of routes) {
      if (r.method !== c.req.method || r.segments.length !== segments.length) continue;
      const p: Record<string, string> = {};
      const ok = r.segments.every((s, i) => {
        if (s.startsWith(':')) p[s.slice(1)] = segments[i];
        return s.startsWith(':') || s === segments[i];
      });
      if (ok) {
        matched = r;
        params = p;
        break;
      }
    }
    if (!matched || !params) return answer(json(404, { error: '404 Not Found' }));
    const userId = authenticate(c.req.raw, url, matched.auth);
    if (userId === null) return answer(json(401, { message: '401 Unauthorized' }));

    let body: Record<string, unknown> = {};
    if (c.req.method !== 'GET') {
      const type = c.req.header('content-type') ?? '';
      const text = await c.req.text();
      if (text) {
        try {
          body = type.includes('json')
            ? (JSON.parse(text) as Record<string, unknown>)
            : Object.fromEntries(new URLSearchParams(text));
        } catch {
          return answer(json(400, { error: 'Invalid JSON' }));
        }
      }
    }
    for (const [k, v] of url.searchParams) if (!(k in body)) body[k] = v;
    try {
      const res = await matched.handler({ method: c.req.method, params, query: url.searchParams, body, userId, url });
      return answer(res);
    } catch (err) {
      if (err instanceof HttpError) return answer(json(err.status, { message: err.message }));
      return answer(json(500, { message: `500 Internal Server Error: ${(err as Error).message}` }));
    }
  });

  const server = await new Promise<ReturnType<typeof serve>>((resolve) => {
    const s = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 }, () => resolve(s));
  });
  const port = (server.address() as AddressInfo).port;
  state.url = `http://127.0.0.1:${port}`;

  return {
    url: state.url,
    token,
    bot: state.bot,
    state,
    requests,
    addUser: (o) => state.addUser(o),
    addProject: (o) => state.addProject(o),
    addGroupMember: (g, u, l) => state.addGroupMember(g, u, l),
    addToken: (t, u) => state.addToken(t, u),
    addJobToken: (t, j) => state.addJobToken(t, j),
    project(ref) {
      const p = state.project(ref);
      if (!p) throw new Error(`fake: no project ${ref}`);
      return p;
    },
    failNext(fault) {
      faults.push({ ...fault, remaining: fault.times ?? 1 });
    },
    count(filter = {}) {
      return requests.filter(
        (r) =>
          (!filter.method || r.method === filter.method.toUpperCase()) && (!filter.path || pathMatches(r, filter.path)),
      ).length;
    },
    resetRequests() {
      requests.length = 0;
    },
    async close() {
      for (const release of hanging) release();
      hanging.clear();
      await new Promise<void>((resolve) => {
        const s = server as unknown as { close(cb: () => void): void; closeAllConnections?: () => void };
        s.close(() => resolve());
        s.closeAllConnections?.();
      });
    },
  };
}

/** GitLab's project CI lint, reduced to what can be checked without resolving includes. */
export function lintYaml(content: string): {
  valid: boolean;
  errors: string[];
  warnings: string[];
  merged_yaml: string | null;
} {
  let docs: ReturnType<typeof parseAllDocuments>;
  try {
    const parsed = parseAllDocuments(content);
    docs = Array.isArray(parsed) ? parsed : [];
    if (!Array.isArray(parsed)) return invalid(['(<unknown>): empty document']);
  } catch (err) {
    return invalid([`(<unknown>): ${(err as Error).message}`]);
  }
  const firstError = docs.flatMap((d) => d.errors)[0];
  if (firstError) {
    const pos = firstError.linePos?.[0];
    return invalid([
      `(<unknown>): ${firstError.message.split('\n')[0]}${pos ? ` at line ${pos.line} column ${pos.col}` : ''}`,
    ]);
  }
  // A component file is `spec:` header, `---`, then the pipeline.
  const doc = docs.length > 1 && (docs[0].toJS() as Record<string, unknown> | null)?.spec ? docs[1] : docs[0];
  const config = doc?.toJS() as unknown;
  if (!config || typeof config !== 'object' || Array.isArray(config)) return invalid(['Invalid configuration format']);
  const root = config as Record<string, unknown>;
  const errors: string[] = [];
  const declared = Array.isArray(root.stages) ? root.stages.map(String) : null;
  const stages = ['.pre', ...(declared ?? ['build', 'test', 'deploy']), '.post'];
  const jobs = Object.entries(root).filter(([k]) => !RESERVED_KEYS.has(k));
  const visible = jobs.filter(([k]) => !k.startsWith('.'));
  if (visible.length === 0) errors.push('jobs config should contain at least one visible job');
  for (const [name, job] of visible) {
    if (!job || typeof job !== 'object' || Array.isArray(job)) {
      errors.push(`jobs:${name} config should be a hash`);
      continue;
    }
    const j = job as Record<string, unknown>;
    if (!('script' in j) && !('run' in j) && !('trigger' in j) && !('extends' in j))
      errors.push(`jobs:${name} config should implement the script:, run:, or trigger: keyword`);
    const stage = typeof j.stage === 'string' ? j.stage : 'test';
    if (!stages.includes(stage))
      errors.push(`${name} job: chosen stage ${stage} does not exist; available stages are ${stages.join(', ')}`);
    for (const target of [j.extends].flat().filter((x): x is string => typeof x === 'string')) {
      if (!(target in root)) errors.push(`${name}: unknown keys in \`extends\` (${target})`);
    }
    const needs = Array.isArray(j.needs) ? j.needs : [];
    for (const need of needs) {
      const target = typeof need === 'string' ? need : (need as { job?: string })?.job;
      if (typeof target === 'string' && !(target in root))
        errors.push(`jobs:${name}:needs:need job should be defined in the pipeline: ${target}`);
    }
  }
  if (errors.length > 0) return invalid(errors);
  return { valid: true, errors: [], warnings: [], merged_yaml: doc.toString() };
}

function invalid(errors: string[]) {
  return { valid: false, errors, warnings: [] as string[], merged_yaml: null };
}
