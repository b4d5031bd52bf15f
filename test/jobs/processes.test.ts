import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { getPriority, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WORKER_NICE } from '../../src/cli/serve.js';
import { listJobs } from '../../src/db/jobQueue.js';
import { openDatabase, openPostgres } from '../../src/db/openDatabase.js';
import { listRuns } from '../../src/db/runs.js';
import { EmbeddedVectorIndex } from '../../src/vectors/EmbeddedVectorIndex.js';
import { COLLECTIONS } from '../../src/vectors/VectorIndex.js';
import { type FakeGitLab, startFakeGitLab } from '../fakes/fakeGitLab.js';
import { pipelineHook } from '../fakes/gitlabHooks.js';
import { createTestDatabase } from '../support/db.js';
import { series } from '../support/metricsText.js';
import { buildDist, cli, type ServeProcess, startServe } from './serveProcess.js';

const SECRET = 'process-test-secret';
const dirs: string[] = [];
const children: ServeProcess[] = [];

/** One project per pipeline, each with its own configuration, so counts are per configuration. */
function seedPipelines(gl: FakeGitLab, n: number, prefix: string): number[] {
  const ids: number[] = [];
  for (let i = 0; i < n; i++) {
    const p = gl.addProject({
      path: `${prefix}/app-${i}`,
      files: {
        '.gitlab-ci.yml': `stages: [test]\ntest:\n  stage: test\n  script: [echo ${prefix}-${i}]\n`,
        'package.json': '{"name":"x"}',
      },
    });
    ids.push(
      p.addPipeline({ status: 'success', jobs: [{ name: 'test', stage: 'test', status: 'success' }] }).pipeline.id,
    );
  }
  return ids;
}

async function deliver(url: string, gl: FakeGitLab, pipelineId: number, deliveryId?: string): Promise<boolean> {
  const d = pipelineHook(gl, pipelineId, deliveryId ? { deliveryId } : {});
  try {
    const res = await fetch(`${url}/webhooks/gitlab`, {
      method: 'POST',
      headers: { ...d.headers, 'x-gitlab-token': SECRET },
      body: JSON.stringify(d.body),
    });
    return res.status === 202;
  } catch {
    return false;
  }
}

const waitFor = async (check: () => Promise<boolean>, what: string, ms = 90_000) => {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
};

const baseEnv = (gl: FakeGitLab) => ({
  GITLAB_URL: gl.url,
  GITLAB_TOKEN: gl.token,
  GITLAB_WEBHOOK_SECRET: SECRET,
  RECONCILE_INTERVAL_S: '0',
  PIPELINE_LEARNER_JOB_POLL_MS: '50',
  PIPELINE_LEARNER_JOB_BACKOFF_BASE_MS: '50',
  LOG_LEVEL: 'warn',
  API_TOKEN: 'api-token-for-tests',
});

describe('serve as real processes', () => {
  let gl: FakeGitLab;
  beforeAll(async () => {
    buildDist();
    gl = await startFakeGitLab();
  }, 120_000);
  afterAll(async () => {
    for (const c of children) if (c.child.exitCode === null) c.child.kill('SIGKILL');
    await gl?.close();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it('SIGTERM to `npm start` stops the service: npm exits, serve notices, drains and releases the store', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'pl-npm-'));
    dirs.push(dataDir);
    const s = await startServe({ ...baseEnv(gl), DATA_DIR: dataDir }, 120_000, { viaNpm: true });
    children.push(s);
    const lock = join(dataDir, 'pipeline-learner.lock');
    const holder = JSON.parse(readFileSync(lock, 'utf8')) as { pid: number };
    expect(holder.pid).not.toBe(s.child.pid);
    expect((await fetch(`${s.url}/healthz`)).status).toBe(200);
    s.child.kill('SIGTERM');
    await s.exited;
    await waitFor(async () => !existsSync(lock), 'serve to release the store after npm exited', 60_000);
    await waitFor(
      async () => {
        try {
          process.kill(holder.pid, 0);
          return false;
        } catch {
          return true;
        }
      },
      'the serve process to exit',
      30_000,
    );
    await expect(fetch(`${s.url}/healthz`)).rejects.toThrow();
  }, 180_000);

  it('kill -9 in the middle of a burst, then restart: every accepted delivery is recorded once', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'pl-kill-'));
    dirs.push(dataDir);
    const ids = seedPipelines(gl, 24, 'kill');
    const env = { ...baseEnv(gl), DATA_DIR: dataDir };
    const a = await startServe(env);
    children.push(a);
    const accepted = new Set<number>();
    const results = await Promise.all(ids.slice(0, 16).map(async (id) => ((await deliver(a.url, gl, id)) ? id : null)));
    for (const id of results) if (id !== null) accepted.add(id);
    // the rest of the burst races the kill
    const racing = ids.slice(16).map(async (id) => ((await deliver(a.url, gl, id)) ? id : null));
    a.child.kill('SIGKILL');
    for (const id of await Promise.all(racing)) if (id !== null) accepted.add(id);
    await a.exited;
    expect(accepted.size).toBeGreaterThanOrEqual(16);

    const b = await startServe(env);
    children.push(b);
    // the restarted process finishes what the killed one accepted (the API lists one entry per configuration)
    await waitFor(async () => {
      const res = await fetch(`${b.url}/api/v1/pipeline/learn/successful?tenant=kill&limit=100`, {
        headers: { authorization: 'Bearer api-token-for-tests' },
      });
      const body = (await res.json()) as { count: number };
      return body.count >= accepted.size;
    }, 'accepted deliveries recorded after restart');
    // the same pipeline delivered again under another event id changes no count
    expect(await deliver(b.url, gl, [...accepted][0]!, 'not-the-same-id')).toBe(true);
    b.child.kill('SIGTERM');
    expect(await b.exited).toBe(0);

    const store = await openDatabase({ databaseUrl: null, dataDir });
    try {
      const jobs = await listJobs(store.db);
      const runs = await listRuns(store.db);
      const recorded = new Set(runs.map((r) => r.pipelineId));
      for (const id of accepted) expect(recorded.has(id)).toBe(true);
      // the extra redelivery had another id, so it was a job of its own; every job finished
      expect(jobs.filter((j) => j.status !== 'done')).toEqual([]);
      const vectors = await new EmbeddedVectorIndex(store.db).list(COLLECTIONS.successful, { limit: 1000 });
      const mine = vectors.filter((v) => String(v.metadata.project).startsWith('kill/'));
      expect(mine).toHaveLength(recorded.size);
      // none counted twice
      expect(mine.every((v) => v.metadata.run_count === 1)).toBe(true);
    } finally {
      await store.close();
    }
  }, 300_000);

  it('two serve processes on one PostgreSQL share a burst: each delivery processed once', async (ctx) => {
    const url = await createTestDatabase();
    if (!url) return ctx.skip();
    const ids = seedPipelines(gl, 40, 'pair');
    const env = { ...baseEnv(gl), DATABASE_URL: url };
    const [a, b] = await Promise.all([startServe(env), startServe(env)]);
    children.push(a, b);
    gl.resetRequests();
    const deliveries = ids.map((id) => ({ id, deliveryId: `pair-${id}` }));
    // each delivery to one process, and its redelivery to the other
    const first = await Promise.all(deliveries.map((d, i) => deliver(i % 2 ? a.url : b.url, gl, d.id, d.deliveryId)));
    const again = await Promise.all(deliveries.map((d, i) => deliver(i % 2 ? b.url : a.url, gl, d.id, d.deliveryId)));
    expect(first.every(Boolean)).toBe(true);
    expect(again.every(Boolean)).toBe(true);

    const store = openPostgres(url);
    try {
      await waitFor(
        async () => (await listJobs(store.db, { status: ['done'] })).length === ids.length,
        'all jobs done',
      );
      const jobs = await listJobs(store.db);
      expect(jobs).toHaveLength(ids.length);
      expect(jobs.every((j) => j.attempts === 1)).toBe(true);
      expect((await listRuns(store.db)).length).toBe(ids.length);
      // each configuration fetched exactly once: no job ran twice
      expect(gl.count({ path: /repository\/files\/\.gitlab-ci\.yml\/raw/ })).toBe(ids.length);
      // both processes drew from one call budget in the database (issue 10 item 3)
      const budget = await store.db.selectFrom('gitlab_call_budget').select('instance').execute();
      expect(budget.map((r) => r.instance)).toEqual([gl.url]);
      expect(await store.db.selectFrom('repository_facts').select('sha').execute()).toHaveLength(ids.length);
    } finally {
      await store.close();
    }
    a.child.kill('SIGTERM');
    b.child.kill('SIGTERM');
    expect(await a.exited).toBe(0);
    expect(await b.exited).toBe(0);
  }, 300_000);

  it('serve --workers on the embedded store exits 2 and says why', () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'pl-workers-'));
    dirs.push(dataDir);
    const r = spawnSync(process.execPath, [cli, 'serve', '--workers', '2'], {
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', DATA_DIR: dataDir, PORT: '0' },
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/--workers needs PostgreSQL \(DATABASE_URL\)/);
    // nothing was started: the store was never opened
    expect(existsSync(join(dataDir, 'pglite'))).toBe(false);
  });

  it('serve --workers 2 on PostgreSQL: two worker processes drain a burst, each job processed once', async (ctx) => {
    const url = await createTestDatabase();
    if (!url) return ctx.skip();
    const ids = seedPipelines(gl, 40, 'workers');
    const env = { ...baseEnv(gl), DATABASE_URL: url, LOG_LEVEL: 'info' };
    const s = await startServe(env, 120_000, { args: ['--workers', '2'] });
    children.push(s);
    const roles = () =>
      [...s.output().matchAll(/"role":"(\w+)"[^\n]*"msg":"service started"/g)].map((m) => m[1]).sort();
    await waitFor(async () => roles().length === 3, 'the intake process and two worker processes');
    expect(roles()).toEqual(['intake', 'worker', 'worker']);
    gl.resetRequests();
    const ok = await Promise.all(ids.map((id) => deliver(s.url, gl, id, `workers-${id}`)));
    expect(ok.every(Boolean)).toBe(true);
    const store = openPostgres(url);
    try {
      await waitFor(
        async () => (await listJobs(store.db, { status: ['done'] })).length === ids.length,
        'all jobs done',
      );
      const jobs = await listJobs(store.db);
      expect(jobs).toHaveLength(ids.length);
      expect(jobs.every((j) => j.attempts === 1)).toBe(true);
      expect((await listRuns(store.db)).length).toBe(ids.length);
      // each configuration fetched exactly once: no job ran twice
      expect(gl.count({ path: /repository\/files\/\.gitlab-ci\.yml\/raw/ })).toBe(ids.length);
      // the jobs were done by the worker processes, not by the intake process
      const doneBy = new Set(
        [...s.output().matchAll(/"worker":"([^"]+)"[^\n]*"msg":"job done"/g)].map((m) => m[1]!.split(':')[1]),
      );
      expect(doneBy.size).toBeGreaterThanOrEqual(1);
      expect(doneBy.has(String(s.child.pid))).toBe(false);
      // the worker processes yield the CPU to the intake process
      for (const pid of doneBy) expect(getPriority(Number(pid))).toBe(WORKER_NICE);
      expect(getPriority(s.child.pid!)).toBe(getPriority(process.pid));
      // /metrics on the intake process counts the worker processes' jobs and GitLab calls (it ran none
      // itself), and the database figures once, not once per process
      const res = await fetch(`${s.url}/metrics`, { headers: { authorization: 'Bearer api-token-for-tests' } });
      expect(res.status).toBe(200);
      const text = await res.text();
      expect(
        series(text, 'pipeline_learner_job_duration_seconds_count', { kind: 'pipeline_event', result: 'ok' }),
      ).toBe(ids.length);
      expect(series(text, 'pipeline_learner_gitlab_calls_total', { status: 'ok' })).toBeGreaterThan(0);
      expect(series(text, 'pipeline_learner_queue_jobs', { kind: 'pipeline_event', status: 'done' })).toBe(ids.length);
      // process figures too: the resident sets summed over the three processes
      expect(series(text, 'pipeline_learner_process_resident_memory_bytes')).toBeGreaterThan(0);
    } finally {
      await store.close();
    }
    s.child.kill('SIGTERM');
    expect(await s.exited).toBe(0);
  }, 300_000);

  it('SIGTERM during work: running jobs finish, nothing is left half-done, a restart finishes the rest', async (ctx) => {
    const url = await createTestDatabase();
    if (!url) return ctx.skip();
    const ids = seedPipelines(gl, 30, 'term');
    const env = { ...baseEnv(gl), DATABASE_URL: url, PIPELINE_LEARNER_WORKER_CONCURRENCY: '2' };
    const a = await startServe(env);
    children.push(a);
    const ok = await Promise.all(ids.map((id) => deliver(a.url, gl, id)));
    expect(ok.every(Boolean)).toBe(true);
    a.child.kill('SIGTERM');
    expect(await a.exited).toBe(0);

    const store = openPostgres(url);
    try {
      const afterStop = await listJobs(store.db);
      expect(afterStop).toHaveLength(ids.length);
      expect(afterStop.filter((j) => j.status === 'running')).toEqual([]);
      const done = afterStop.filter((j) => j.status === 'done').map((j) => j.id);
      const runsAfterStop = await listRuns(store.db);
      expect(runsAfterStop.length).toBe(done.length);

      const b = await startServe(env);
      children.push(b);
      await waitFor(async () => (await listJobs(store.db, { status: ['done'] })).length === ids.length, 'rest done');
      expect((await listRuns(store.db)).length).toBe(ids.length);
      b.child.kill('SIGTERM');
      expect(await b.exited).toBe(0);
    } finally {
      await store.close();
    }
  }, 300_000);
});
