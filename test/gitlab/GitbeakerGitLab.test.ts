import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createGitLab, parseRetryAfter } from '../../src/gitlab/GitbeakerGitLab.js';
import { type GitLab, GitLabError } from '../../src/gitlab/GitLab.js';
import { type FakeGitLab, type FakeProject, startFakeGitLab } from '../fakes/fakeGitLab.js';

const TOKEN = 'glpat-SUPERSECRET-token-abcdef123456';
const JOB_TOKEN = 'glcbt-JOBSECRET-987654321';

let gl: FakeGitLab;
let api: GitLab;
let project: FakeProject;
let mainSha: string;
const logs: Array<Record<string, unknown>> = [];

async function caught(p: Promise<unknown>): Promise<GitLabError> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(GitLabError);
    return err as GitLabError;
  }
  throw new Error('expected a GitLabError');
}

beforeAll(async () => {
  // maxPerPage 2 forces every listing over several pages even though the client asks for 100
  gl = await startFakeGitLab({ token: TOKEN, maxPerPage: 2 });
  api = createGitLab({ url: gl.url, token: TOKEN, timeoutMs: 1500, logger: { debug: (obj) => logs.push(obj) } });
  project = gl.addProject({
    id: 42,
    path: 'acme/platform/web app',
    ciConfigPath: 'ci/pipeline.yml',
    files: {
      'ci/pipeline.yml': 'build:\n  script: [make]\n',
      'README.md': '# hello\n',
      'src/main.go': 'package main\n',
      'src/util/strings.go': 'package util\n',
      'docs/with space/a b.md': 'spaced\n',
    },
  });
  mainSha = project.head()!;
});

afterAll(async () => {
  await gl.close();
});

afterEach(() => {
  gl.resetRequests();
});

describe('reads', () => {
  it('currentUser is the bot behind the token', async () => {
    expect(await api.currentUser()).toEqual({ id: gl.bot.id, username: gl.bot.username });
  });

  it('project by numeric id and by nested path (URL-encoded on the wire)', async () => {
    const byId = await api.project(42);
    const byPath = await api.project('acme/platform/web app');
    expect(byPath).toEqual(byId);
    expect(byId).toMatchObject({
      id: 42,
      path_with_namespace: 'acme/platform/web app',
      default_branch: 'main',
      ci_config_path: 'ci/pipeline.yml',
    });
    expect(gl.requests.map((r) => r.path)).toContain('/projects/acme%2Fplatform%2Fweb%20app');
  });

  it('project 404 is a GitLabError with status', async () => {
    const err = await caught(api.project('nope/missing'));
    expect(err.status).toBe(404);
    expect(err.retry).toBe('never');
  });

  it('tree lists every entry across keyset pages', async () => {
    const tree = await api.tree('acme/platform/web app', 'main');
    const blobs = tree.filter((e) => e.type === 'blob').map((e) => e.path);
    expect(blobs.sort()).toEqual([
      'README.md',
      'ci/pipeline.yml',
      'docs/with space/a b.md',
      'src/main.go',
      'src/util/strings.go',
    ]);
    expect(tree.filter((e) => e.type === 'tree').map((e) => e.path)).toContain('src/util');
    const calls = gl.requests.filter((r) => r.decodedPath.endsWith('/repository/tree'));
    expect(calls.length).toBe(Math.ceil(tree.length / 2));
    expect(calls[0].query).toMatchObject({ pagination: 'keyset', per_page: '100', recursive: 'true', ref: 'main' });
    expect(calls[1].query.page_token).toBeTruthy();
  });

  it('fileRaw reads paths with slashes and spaces, null on 404', async () => {
    expect(await api.fileRaw(42, 'docs/with space/a b.md', 'main')).toBe('spaced\n');
    expect(gl.requests.at(-1)!.path).toBe('/projects/42/repository/files/docs%2Fwith%20space%2Fa%20b.md/raw');
    expect(await api.fileRaw(42, 'missing.yml', 'main')).toBeNull();
    expect(await api.fileRaw(42, 'README.md', mainSha)).toBe('# hello\n');
  });

  it('file returns decoded content and last commit id, null when missing', async () => {
    const f = await api.file('acme/platform/web app', 'ci/pipeline.yml', 'main');
    expect(f).toMatchObject({ content: 'build:\n  script: [make]\n', lastCommitId: mainSha });
    expect(f!.blobId).toMatch(/^[0-9a-f]{40}$/);
    expect(await api.file(42, 'nope', 'main')).toBeNull();
  });

  it('branchHead follows the branch, null for a missing branch', async () => {
    expect(await api.branchHead(42, 'main')).toBe(mainSha);
    expect(await api.branchHead(42, 'feature/none')).toBeNull();
  });

  it('pipelineJobs with retried attempts, and the test report summary (issue 11 evidence)', async () => {
    const { pipeline } = project.addPipeline({
      sha: mainSha,
      status: 'failed',
      jobs: [
        { name: 'build', stage: 'build', status: 'success' },
        { name: 'unit', stage: 'test', status: 'failed', retried: true, failure_reason: 'runner_system_failure' },
        { name: 'unit', stage: 'test', status: 'failed', tests: { success: 409, failed: 3 }, coverage: 71.5 },
      ],
    });
    const jobs = await api.pipelineJobs(42, pipeline.id, { includeRetried: true });
    expect(
      jobs
        .filter((j) => j.name === 'unit')
        .map((j) => j.retried)
        .sort(),
    ).toEqual([false, true]);
    expect(jobs.find((j) => j.name === 'unit' && !j.retried)!.coverage).toBe(71.5);
    const unitId = jobs.find((j) => j.name === 'unit' && !j.retried)!.id;
    const body = await api.pipelineTestReportSummary('acme/platform/web app', pipeline.id);
    expect(body).toMatchObject({
      total: { count: 412, success: 409, failed: 3, skipped: 0, error: 0, suite_error: null },
      test_suites: [
        {
          name: 'unit',
          total_count: 412,
          success_count: 409,
          failed_count: 3,
          skipped_count: 0,
          error_count: 0,
          build_ids: [unitId],
          suite_error: null,
        },
      ],
    });
    expect(gl.count({ method: 'GET', path: `/pipelines/${pipeline.id}/test_report_summary` })).toBe(1);
  });

  it('pipeline, and pipelineJobs across offset pages without retried jobs', async () => {
    const { pipeline } = project.addPipeline({
      sha: mainSha,
      status: 'failed',
      jobs: [
        { name: 'build', stage: 'build', status: 'success' },
        { name: 'lint', stage: 'test', status: 'failed', allow_failure: true, failure_reason: 'script_failure' },
        { name: 'unit', stage: 'test', status: 'failed', failure_reason: 'script_failure' },
        { name: 'unit', stage: 'test', status: 'failed', retried: true },
        { name: 'deploy', stage: 'deploy', status: 'skipped', when: 'manual' },
      ],
    });
    const info = await api.pipeline('acme/platform/web app', pipeline.id);
    expect(info).toMatchObject({
      id: pipeline.id,
      iid: pipeline.iid,
      project_id: 42,
      sha: mainSha,
      ref: 'main',
      status: 'failed',
    });
    const jobs = await api.pipelineJobs(42, pipeline.id);
    expect(jobs.map((j) => j.name).sort()).toEqual(['build', 'deploy', 'lint', 'unit']);
    expect(gl.count({ path: `/pipelines/${pipeline.id}/jobs` })).toBe(2);
    const unit = jobs.find((j) => j.name === 'unit')!;
    expect(unit).toMatchObject({
      status: 'failed',
      failure_reason: 'script_failure',
      allow_failure: false,
      stage: 'test',
    });
    expect(unit.pipeline).toEqual({ id: pipeline.id, project_id: 42, ref: 'main', sha: mainSha, status: 'failed' });
    expect(jobs.find((j) => j.name === 'lint')!.allow_failure).toBe(true);
    expect(jobs.find((j) => j.name === 'deploy')!.when).toBe('manual');
  });

  it('pipelines filters and honours limit over pages', async () => {
    const other = gl.addProject({ path: 'acme/lots', files: { a: 'a' } });
    for (let i = 0; i < 7; i++) other.addPipeline({ status: i % 2 ? 'success' : 'failed' });
    const five = await api.pipelines(other.id, { limit: 5 });
    expect(five).toHaveLength(5);
    const all = await api.pipelines(other.id, { ref: 'main' });
    expect(all).toHaveLength(7);
    expect(new Set(all.map((p) => p.id)).size).toBe(7);
    expect(await api.pipelines(other.id, { ref: 'other' })).toEqual([]);
    const future = new Date(Date.now() + 3600_000).toISOString();
    expect(await api.pipelines(other.id, { updatedAfter: future })).toEqual([]);
  });

  it('mergeRequest and memberAccessLevel (inherited from groups; 0 when not a member)', async () => {
    project.commit('feature', { 'x.txt': 'x' }, { from: 'main' });
    const mr = project.addMergeRequest({ sourceBranch: 'feature' });
    const info = await api.mergeRequest('acme/platform/web app', mr.iid);
    expect(info).toMatchObject({
      iid: mr.iid,
      project_id: 42,
      source_project_id: 42,
      target_project_id: 42,
      source_branch: 'feature',
      target_branch: 'main',
      state: 'opened',
      sha: project.head('feature'),
    });
    const dev = gl.addUser({ username: 'dev' });
    const lead = gl.addUser({ username: 'lead' });
    const outsider = gl.addUser({ username: 'outsider' });
    project.addMember(dev.id, 30);
    gl.addGroupMember('acme', lead.id, 40);
    expect(await api.memberAccessLevel(42, dev.id)).toBe(30);
    expect(await api.memberAccessLevel('acme/platform/web app', lead.id)).toBe(40);
    expect(await api.memberAccessLevel(42, outsider.id)).toBe(0);
    expect(gl.requests.some((r) => r.decodedPath === `/projects/42/members/all/${dev.id}`)).toBe(true);
  });

  it('lint returns the verdict with errors', async () => {
    expect(await api.lint(42, 'test:\n  script: [echo]\n', { dryRun: true, ref: 'main' })).toEqual({
      valid: true,
      errors: [],
      warnings: [],
    });
    const bad = await api.lint(42, 'stages: [build]\n.hidden:\n  script: [x]\n', { dryRun: false });
    expect(bad.valid).toBe(false);
    expect(bad.errors.join()).toMatch(/at least one visible job/);
    expect(gl.requests.at(-1)!.method).toBe('POST');
  });
});

describe('jobForToken', () => {
  it('answers the running job of a JOB-TOKEN, 401 otherwise', async () => {
    const { jobs } = project.addPipeline({
      status: 'running',
      jobs: [{ name: 'learn', stage: 'learn', status: 'running' }],
    });
    gl.addJobToken(JOB_TOKEN, jobs[0].id);
    const job = await api.jobForToken(JOB_TOKEN);
    expect(job).toMatchObject({ id: jobs[0].id, name: 'learn', status: 'running' });
    expect(job.pipeline.project_id).toBe(42);
    expect(gl.requests.at(-1)).toMatchObject({ path: '/job', auth: 'job' });

    const err = await caught(api.jobForToken('glcbt-unknown'));
    expect(err.status).toBe(401);
    project.setPipelineStatus(jobs[0].pipelineId, 'success', { learn: 'success' });
    const expired = await caught(api.jobForToken(JOB_TOKEN));
    expect(expired.status).toBe(401);
    expect(`${expired.message}${expired.stack}${JSON.stringify(expired)}`).not.toContain(JOB_TOKEN);
  });
});

describe('writes', () => {
  it('createCommit creates and updates with last_commit_id and the author', async () => {
    const p = gl.addProject({ path: 'acme/writes', files: { 'README.md': 'r' } });
    const created = await api.createCommit(p.path, {
      branch: 'main',
      message: 'Add CI',
      authorName: 'Pipeline Bot',
      authorEmail: 'bot@example.com',
      actions: [{ action: 'create', filePath: '.gitlab-ci.yml', content: 'a: 1\n' }],
    });
    expect(created.id).toBe(p.head());
    expect(created.web_url).toContain(created.id);
    expect(p.file('.gitlab-ci.yml')).toBe('a: 1\n');
    const c = p.commits.get(created.id)!;
    expect([c.authorName, c.authorEmail, c.message]).toEqual(['Pipeline Bot', 'bot@example.com', 'Add CI']);

    const file = await api.file(p.path, '.gitlab-ci.yml', 'main');
    const updated = await api.createCommit(p.path, {
      branch: 'main',
      message: 'Update CI',
      actions: [{ action: 'update', filePath: '.gitlab-ci.yml', content: 'a: 2\n', lastCommitId: file!.lastCommitId }],
    });
    expect(p.file('.gitlab-ci.yml')).toBe('a: 2\n');
    expect(updated.id).not.toBe(created.id);

    // stale: someone else's commit touched the file after we read it
    const err = await caught(
      api.createCommit(p.path, {
        branch: 'main',
        message: 'Stale update',
        actions: [
          { action: 'update', filePath: '.gitlab-ci.yml', content: 'a: 3\n', lastCommitId: file!.lastCommitId },
        ],
      }),
    );
    expect(err.status).toBe(400);
    expect(err.message).toMatch(/changed since you started editing/);
    expect(p.file('.gitlab-ci.yml')).toBe('a: 2\n');

    const dup = await caught(
      api.createCommit(p.path, {
        branch: 'main',
        message: 'dup',
        actions: [{ action: 'create', filePath: 'README.md', content: 'x' }],
      }),
    );
    expect(dup.status).toBe(400);

    await api.createCommit(p.path, {
      branch: 'main',
      message: 'rm',
      actions: [{ action: 'delete', filePath: '.gitlab-ci.yml', lastCommitId: updated.id }],
    });
    expect(p.file('.gitlab-ci.yml')).toBeUndefined();
  });

  it('notes: create, reply in thread, update, award emoji (idempotent)', async () => {
    const p = gl.addProject({ path: 'acme/notes', files: { a: 'a' } });
    p.commit('f', { b: 'b' }, { from: 'main' });
    const mr = p.addMergeRequest({ sourceBranch: 'f' });
    const user = gl.addUser({ username: 'commenter' });
    const command = p.addNote(mr.iid, user.id, '/pipeline generate');

    const reply = await api.replyToDiscussion(p.path, mr.iid, command.discussionId, 'Working on it…');
    const standalone = await api.createMergeRequestNote(p.id, mr.iid, 'Outcome: pending');
    await api.updateMergeRequestNote(p.id, mr.iid, standalone.id, 'Outcome: success');
    await api.awardEmojiOnNote(p.id, mr.iid, command.id, 'eyes');
    await api.awardEmojiOnNote(p.id, mr.iid, command.id, ':eyes:');

    const notes = p.notes(mr.iid);
    const replyNote = notes.find((n) => n.id === reply.id)!;
    expect(replyNote).toMatchObject({
      body: 'Working on it…',
      discussionId: command.discussionId,
      authorId: gl.bot.id,
    });
    expect(notes.find((n) => n.id === standalone.id)!.body).toBe('Outcome: success');
    expect(command.awards.map((a) => [a.name, a.userId])).toEqual([['eyes', gl.bot.id]]);
    expect(gl.count({ method: 'POST', path: /discussions\/[0-9a-f]+\/notes$/ })).toBe(1);

    const missing = await caught(api.replyToDiscussion(p.id, mr.iid, 'deadbeef', 'x'));
    expect(missing.status).toBe(404);
  });
});

describe('failures', () => {
  it("gitbeaker's client-side limiter (300 note POSTs/min) does not queue our calls", { timeout: 20_000 }, async () => {
    const p = gl.addProject({ path: 'acme/chatty', files: { a: 'a' } });
    p.commit('f', { b: 'b' }, { from: 'main' });
    const mr = p.addMergeRequest({ sourceBranch: 'f' });
    for (let batch = 0; batch < 11; batch++) {
      await Promise.all(
        Array.from({ length: 30 }, (_, i) => api.createMergeRequestNote(p.id, mr.iid, `n${batch}-${i}`)),
      );
    }
    expect(p.notes(mr.iid)).toHaveLength(330);
  });

  it('429 surfaces at once with retryAfterMs, and the POST is not repeated', async () => {
    gl.failNext({ method: 'POST', path: '/merge_requests/', status: 429, retryAfter: 7 });
    const p = gl.addProject({ path: 'acme/limited', files: { a: 'a' } });
    p.commit('f', { b: 'b' }, { from: 'main' });
    const mr = p.addMergeRequest({ sourceBranch: 'f' });
    const err = await caught(api.createMergeRequestNote(p.id, mr.iid, 'hello'));
    expect(err.status).toBe(429);
    expect(err.retryAfterMs).toBe(7000);
    expect(err.retry).toBe('wait');
    expect(gl.count({ method: 'POST' })).toBe(1);
    expect(p.notes(mr.iid)).toHaveLength(0);
  });

  it('Retry-After as an HTTP date', async () => {
    const at = new Date(Date.now() + 30_000).toUTCString();
    gl.failNext({ path: '/projects/42', status: 429, retryAfter: at });
    const err = await caught(api.project(42));
    expect(err.status).toBe(429);
    expect(err.retryAfterMs).toBeGreaterThan(20_000);
    expect(err.retryAfterMs).toBeLessThanOrEqual(30_000);
  });

  it('a 429 without Retry-After waits until RateLimit-Reset', async () => {
    const reset = String(Math.floor(Date.now() / 1000) + 40);
    gl.failNext({ path: '/projects/42', status: 429, headers: { 'ratelimit-reset': reset } });
    const err = await caught(api.project(42));
    expect(err.retryAfterMs).toBeGreaterThan(30_000);
  });

  it('5xx carries no wait: RateLimit-Reset (sent on every answer) and Retry-After are for 429 only', async () => {
    const reset = String(Math.floor(Date.now() / 1000) + 45);
    for (const status of [500, 502, 503]) {
      gl.failNext({ path: '/projects/42', status, retryAfter: 30, headers: { 'ratelimit-reset': reset } });
      const err = await caught(api.project(42));
      expect(err.status).toBe(status);
      expect(err.retry).toBe('backoff');
      expect(err.retryAfterMs).toBeNull();
    }
  });

  it('permanent 4xx answers say so and are never retryable', async () => {
    for (const status of [401, 403, 404, 422]) {
      gl.failNext({ path: '/projects/42', status, body: { message: `${status} nope` } });
      const err = await caught(api.project(42));
      expect(err.status).toBe(status);
      expect(err.retry).toBe('never');
    }
    for (const [status, retry] of [
      [408, 'backoff'],
      [429, 'wait'],
      [500, 'backoff'],
    ] as const) {
      gl.failNext({ path: '/projects/42', status });
      expect((await caught(api.project(42))).retry).toBe(retry);
    }
  });

  it('502 is not retried by the client either', async () => {
    gl.failNext({ path: '/user', status: 502, times: 3 });
    const err = await caught(api.currentUser());
    expect(err.status).toBe(502);
    expect(gl.count({ path: '/user' })).toBe(1);
  });

  it('500 is a retryable GitLabError with the server message', async () => {
    gl.failNext({ path: '/repository/tree', status: 500 });
    const err = await caught(api.tree(42, 'main'));
    expect(err.status).toBe(500);
    expect(err.retry).toBe('backoff');
    expect(err.retryAfterMs).toBeNull();
    expect(err.message).toContain('500');
  });

  it('a hanging request times out as GitLabError with status null', async () => {
    gl.failNext({ path: '/pipelines', hang: true });
    const err = await caught(api.pipelines(42, {}));
    expect(err.status).toBeNull();
    expect(err.retry).toBe('backoff');
    expect(err.message).toMatch(/timed out/);
  });

  it('an unreachable GitLab is a GitLabError with status null', async () => {
    const dead = createGitLab({ url: 'http://127.0.0.1:9', token: TOKEN, timeoutMs: 1000 });
    const err = await caught(dead.currentUser());
    expect(err.status).toBeNull();
  });

  it('a bad token is 401, not retryable', async () => {
    const wrong = createGitLab({ url: `${gl.url}/api/v4/`, token: 'glpat-wrong-token', timeoutMs: 1000 });
    const err = await caught(wrong.project(42));
    expect(err.status).toBe(401);
    expect(err.retry).toBe('never');
  });

  it('the token appears nowhere in errors or logs, even when GitLab echoes it', async () => {
    const errors: GitLabError[] = [];
    gl.failNext({ path: '/user', status: 500, body: { message: `boom PRIVATE-TOKEN: ${TOKEN}` } });
    errors.push(await caught(api.currentUser()));
    gl.failNext({ path: '/projects/42', status: 429, retryAfter: 1 });
    errors.push(await caught(api.project(42)));
    gl.failNext({ path: '/user', hang: true });
    errors.push(await caught(api.currentUser()));
    errors.push(await caught(api.file(42, 'x', 'no-such-ref').then(() => api.project('missing/x'))));
    for (const err of errors) {
      const everything = [
        err.message,
        err.stack,
        JSON.stringify(err),
        String(err),
        JSON.stringify(Object.getOwnPropertyDescriptors(err)),
        String(err.cause ?? ''),
      ].join('\n');
      expect(everything).not.toContain(TOKEN);
      expect(everything.toLowerCase()).not.toMatch(/private-token|job-token|authorization/);
    }
    expect(JSON.stringify(logs)).not.toContain(TOKEN);
    expect(logs.length).toBeGreaterThan(0);
  });
});

describe('parseRetryAfter', () => {
  it('reads seconds and HTTP dates, ignores junk', () => {
    const now = Date.parse('2025-01-01T00:00:00Z');
    expect(parseRetryAfter('120', now)).toBe(120_000);
    expect(parseRetryAfter('Wed, 01 Jan 2025 00:00:30 GMT', now)).toBe(30_000);
    expect(parseRetryAfter('Tue, 31 Dec 2024 00:00:00 GMT', now)).toBe(0);
    expect(parseRetryAfter('soon', now)).toBeNull();
    expect(parseRetryAfter(null, now)).toBeNull();
  });
});
