import { createHash } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { createCallBudget, takeCallToken } from '../../src/db/callBudget.js';
import { enqueueJob, listJobs } from '../../src/db/jobQueue.js';
import { migrateToLatest, openPostgres, type Store } from '../../src/db/openDatabase.js';
import { repositoryFactsStore } from '../../src/db/repositoryFacts.js';
import { getRun } from '../../src/db/runs.js';
import { RetryableError } from '../../src/errors.js';
import type { CallPermit } from '../../src/gitlab/callBudget.js';
import { createGitLab } from '../../src/gitlab/GitbeakerGitLab.js';
import { GitLabError } from '../../src/gitlab/GitLab.js';
import { pipelineEventHandler } from '../../src/jobs/handlers/pipelineEvent.js';
import type { FactsCost, RecordDeps } from '../../src/jobs/handlers/recordPipeline.js';
import { createWorker, retryDelayMs } from '../../src/jobs/Worker.js';
import { defaultDetect, gitlabCallBudget } from '../../src/main.js';
import { ServiceMetrics } from '../../src/metrics/ServiceMetrics.js';
import { EmbeddedVectorIndex } from '../../src/vectors/EmbeddedVectorIndex.js';
import { PIPELINE_EVENT, snapshotFromHook } from '../../src/webhooks/events.js';
import { pipelineHookSchema } from '../../src/webhooks/webhookPayloads.js';
import { type FakeGitLab, type FakeProject, startFakeGitLab } from '../fakes/fakeGitLab.js';
import { pipelineHook } from '../fakes/gitlabHooks.js';
import { captureLogger } from '../intake/helpers.js';
import { createTestDatabase, openTestStore, storeKinds } from '../support/db.js';

const CONFIG = `stages: [build, test]
build:
  stage: build
  image: golang:1.22
  script: [go build ./...]
test:
  stage: test
  image: golang:1.22
  script: [go test ./...]
`;
const GO_FILES = {
  '.gitlab-ci.yml': CONFIG,
  'go.mod': 'module example.com/app\n\ngo 1.22\n\nrequire github.com/gin-gonic/gin v1.9.1\n',
  'main.go': 'package main\n\nimport "github.com/gin-gonic/gin"\n\nfunc main() { gin.Default().Run() }\n',
  Dockerfile: 'FROM golang:1.22\n',
  'README.md': '# app\n',
};
const JOBS = [
  { name: 'build', stage: 'build' },
  { name: 'test', stage: 'test' },
];

/** The configuration and detection inputs: the tree listing and file reads (what the budget counts). */
const REPO_CALLS = /\/repository\/(tree|files)/;

const until = async (check: () => Promise<boolean>, what: string, ms = 60_000) => {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
};

describe.each(storeKinds)('GitLab call budget on %s', (kind) => {
  let store: Store | null = null;
  let gl: FakeGitLab;

  beforeAll(async () => {
    store = await openTestStore(kind);
    gl = await startFakeGitLab();
  });
  afterAll(async () => {
    await gl?.close();
    await store?.close();
  });
  beforeEach(async (ctx) => {
    if (!store) return ctx.skip();
    await store.db.deleteFrom('jobs').execute();
    await store.db.deleteFrom('gitlab_call_budget').execute();
    gl.resetRequests();
  });

  /** Runs `pipelines` through a real worker (concurrency 2) with the facts cache and the shared budget. */
  async function throughWorker(p: FakeProject, pipelines: number[]) {
    const { log, text } = captureLogger([gl.token]);
    const observed: Array<{ facts: FactsCost; calls: number }> = [];
    const limiter = createCallBudget(store!.db, { instance: gl.url, perMinute: 60_000 });
    const deps: RecordDeps = {
      db: store!.db,
      gitlab: createGitLab({ url: gl.url, token: gl.token, timeoutMs: 5000, limiter }),
      vectors: new EmbeddedVectorIndex(store!.db),
      detect: defaultDetect,
      learner: { observeRun: async () => {} },
      log,
      facts: repositoryFactsStore(store!.db),
      budget: { observe: (o) => void observed.push(o), remaining: () => limiter.remaining() },
    };
    const ids: number[] = [];
    for (const id of pipelines) {
      const hook = pipelineHookSchema.parse(pipelineHook(gl, id).body);
      const job = await enqueueJob(store!.db, {
        kind: PIPELINE_EVENT,
        payload: { source: 'webhook', snapshot: snapshotFromHook(hook) },
        maxAttempts: 3,
      });
      ids.push(job.id);
    }
    const worker = createWorker({
      db: store!.db,
      handlers: { [PIPELINE_EVENT]: pipelineEventHandler(deps) },
      log,
      concurrency: 2,
      pollMs: 20,
      leaseMs: 30_000,
      backoffBaseMs: 10,
      backoffMaxMs: 50,
    });
    worker.start();
    await until(async () => {
      const jobs = (await listJobs(store!.db)).filter((j) => ids.includes(j.id));
      return jobs.every((j) => j.status === 'done' || j.status === 'dead');
    }, 'all pipeline jobs done');
    await worker.drain();
    const dead = (await listJobs(store!.db)).filter((j) => ids.includes(j.id) && j.status !== 'done');
    expect(dead.map((j) => j.lastError)).toEqual([]);
    for (const id of pipelines) expect((await getRun(store!.db, id))?.configHash).toBeTruthy();
    expect(p.id).toBeGreaterThan(0);
    return { observed, logText: text() };
  }

  it('the worst case, 40 pipelines each on a new commit: the first read in full, then the tree listing alone (≤ 1.1 per pipeline)', async () => {
    const p = gl.addProject({ path: `acme/every-push-${kind}`, files: GO_FILES });
    const pipelines: number[] = [];
    for (let i = 0; i < 40; i++) {
      // every push changes code the record step does not read; the configuration stays the same
      if (i > 0) p.commit('main', { [`internal/feature${i}.go`]: `package internal\n\nconst N${i} = ${i}\n` });
      pipelines.push(p.addPipeline({ status: 'success', jobs: JOBS }).pipeline.id);
    }
    const { observed, logText } = await throughWorker(p, pipelines);

    const repoCalls = gl.count({ method: 'GET', path: REPO_CALLS });
    const perPipeline = repoCalls / pipelines.length;
    console.log(
      `[${kind}] every push a new commit: ${repoCalls} configuration/detection calls for ${pipelines.length} pipelines = ${perPipeline.toFixed(3)} per pipeline; ${gl.requests.length} GitLab calls in all (test reports on top)`,
    );
    // the first commit is read in full, every later one costs the tree listing only: 1 + (first read) / 40,
    // approaching 1.0 as the project's pipelines go on
    expect(perPipeline).toBeLessThanOrEqual(1.1);
    // each file once (the first two commits, processed together, share their reads), one listing per commit
    expect(gl.count({ method: 'GET', path: '/repository/files/' })).toBe(3);
    expect(gl.count({ method: 'GET', path: '/repository/tree' })).toBe(40);
    const sources = observed.map((o) => o.facts.source);
    expect(sources.filter((s) => s === 'full').length).toBeLessThanOrEqual(2);
    expect(sources.filter((s) => s === 'tree').length).toBeGreaterThanOrEqual(38);
    // what the job log says matches what the fake counted
    expect(observed.reduce((n, o) => n + o.facts.calls, 0)).toBe(repoCalls);
    expect(observed.reduce((n, o) => n + o.calls, 0)).toBe(gl.requests.length);
    expect(logText).toMatch(/"facts_source":"tree","facts_calls":1,"gitlab_calls":\d+,"budget_remaining":\d+/);
    expect(logText).not.toContain(gl.token);
  });

  it('40 pipelines on an unchanged configuration (20 commits, a branch and a merge request pipeline each): at most 1.1 calls per pipeline (was 4)', async () => {
    const p = gl.addProject({ path: `acme/mixed-${kind}`, files: GO_FILES });
    const pipelines: number[] = [];
    for (let c = 0; c < 20; c++) {
      if (c > 0) p.commit('main', { 'README.md': `# app\n\nrelease ${c}\n` });
      for (let k = 0; k < 2; k++) pipelines.push(p.addPipeline({ status: 'success', jobs: JOBS }).pipeline.id);
    }
    const first = await throughWorker(p, pipelines);
    const repoCalls = gl.count({ method: 'GET', path: REPO_CALLS });
    console.log(
      `[${kind}] 20 commits x 2 pipelines: ${repoCalls} configuration/detection calls for ${pipelines.length} pipelines = ${(repoCalls / pipelines.length).toFixed(3)} per pipeline; ${gl.requests.length} GitLab calls in all`,
    );
    expect(repoCalls / pipelines.length).toBeLessThanOrEqual(1.1);
    // one listing per commit: the second job of a commit finds it in the cache or shares the one under way
    expect(gl.count({ method: 'GET', path: '/repository/tree' })).toBe(20);
    expect(first.observed.filter((o) => o.facts.source === 'cache')).toHaveLength(20);

    // the same pipelines again (a redelivery): nothing from GitLab for the configuration
    gl.resetRequests();
    await store!.db.deleteFrom('jobs').execute();
    const again = await throughWorker(p, pipelines.slice(0, 8));
    expect(gl.count({ method: 'GET', path: REPO_CALLS })).toBe(0);
    expect(again.observed.every((o) => o.facts.source === 'cache' && o.facts.calls === 0)).toBe(true);

    // a new Dockerfile: the listing, then the Dockerfile alone (its blob id changed)
    gl.resetRequests();
    p.commit('main', { Dockerfile: 'FROM golang:1.23\n' });
    const changed = p.addPipeline({ status: 'success', jobs: JOBS }).pipeline.id;
    const third = await throughWorker(p, [changed]);
    expect(third.observed[0].facts).toEqual({ source: 'full', calls: 2 });
    expect(gl.count({ method: 'GET', path: '/repository/files/Dockerfile/raw' })).toBe(1);
    const run = await getRun(store!.db, changed);
    const config = await store!.db
      .selectFrom('configurations')
      .select('dockerfile')
      .where('hash', '=', run!.configHash!)
      .executeTakeFirst();
    // the configuration row keeps the first Dockerfile seen with it (first write wins), as before
    expect(config?.dockerfile).toContain('FROM golang:');
  });

  it('a changed configuration is read again and recorded under its new hash', async () => {
    // contents no other test uses: blob ids are content hashes, shared by every project
    const own = `${CONFIG}variables:\n  PROJECT: config-change-${kind}\n`;
    const p = gl.addProject({ path: `acme/config-change-${kind}`, files: { ...GO_FILES, '.gitlab-ci.yml': own } });
    const a = p.addPipeline({ status: 'success', jobs: JOBS }).pipeline.id;
    p.commit('main', { '.gitlab-ci.yml': `${own}lint:\n  stage: test\n  script: [go vet ./...]\n` });
    const b = p.addPipeline({ status: 'success', jobs: JOBS }).pipeline.id;
    const { observed } = await throughWorker(p, [a, b]);
    const [ra, rb] = [await getRun(store!.db, a), await getRun(store!.db, b)];
    expect(ra!.configHash).not.toBe(rb!.configHash);
    expect(observed.map((o) => o.facts.source).sort()).toEqual(['full', 'full']);
  });

  it('keeps no credential at rest: cached text is masked, and the configuration hash is the committed file’s', async () => {
    const secretConfig = `${CONFIG}variables:\n  DEPLOY_TOKEN: "s3cr3t-deploy-value-${kind}"\n`;
    const p = gl.addProject({ path: `acme/secret-${kind}`, files: { ...GO_FILES, '.gitlab-ci.yml': secretConfig } });
    const a = p.addPipeline({ status: 'success', jobs: JOBS }).pipeline.id;
    p.commit('main', { 'README.md': '# app\n\nsecond\n' });
    const b = p.addPipeline({ status: 'success', jobs: JOBS }).pipeline.id;
    const { observed } = await throughWorker(p, [a, b]);
    expect(observed.map((o) => o.facts.source).sort()).toEqual(['full', 'tree']);
    const hash = createHash('sha256').update(secretConfig).digest('hex');
    expect((await getRun(store!.db, a))?.configHash).toBe(hash);
    expect((await getRun(store!.db, b))?.configHash).toBe(hash);
    const blobs = await store!.db.selectFrom('repository_blobs').select(['content', 'sha256']).execute();
    expect(blobs.some((r) => r.sha256 === hash && r.content.includes('DEPLOY_TOKEN: [MASKED]'))).toBe(true);
    expect(blobs.some((r) => r.content.includes('s3cr3t-deploy-value'))).toBe(false);
  });

  it('the bucket is shared by two clients on one database and taken atomically (never more than it holds)', async () => {
    const now = 1_000_000;
    const opts = { instance: 'https://gitlab.example', perMinute: 60, capacity: 10, maxWaitMs: 0, now: () => now };
    const a = createCallBudget(store!.db, opts);
    const b = createCallBudget(store!.db, opts);
    const results = await Promise.allSettled(Array.from({ length: 24 }, (_, i) => (i % 2 ? a : b).take()));
    const taken = results.filter((r) => r.status === 'fulfilled');
    const refused = results.filter((r) => r.status === 'rejected') as PromiseRejectedResult[];
    expect(taken).toHaveLength(10);
    expect(refused).toHaveLength(14);
    expect(refused[0].reason).toBeInstanceOf(RetryableError);
    // one token per second at 60/min: the next comes in a second
    expect((refused[0].reason as RetryableError).retryAfterMs).toBe(1000);
    const later = createCallBudget(store!.db, { ...opts, now: () => now + 2000 });
    await expect(later.take()).resolves.toMatchObject({ waitMs: 0 });
    await expect(later.take()).resolves.toMatchObject({ waitMs: 0 });
    await expect(later.take()).rejects.toBeInstanceOf(RetryableError);
  });

  it('on PostgreSQL, two connection pools (two processes) draw from one bucket', async (ctx) => {
    if (kind !== 'postgres') return ctx.skip();
    const url = await createTestDatabase();
    const one = openPostgres(url!);
    const two = openPostgres(url!);
    try {
      await migrateToLatest(one.db);
      const o = { instance: 'https://gitlab.example', perMs: 1 / 60_000, capacity: 5, maxWaitMs: 0, now: 5_000_000 };
      const results = await Promise.all(
        Array.from({ length: 12 }, (_, i) => takeCallToken(i % 2 ? one.db : two.db, o)),
      );
      expect(results.filter((r) => r.taken)).toHaveLength(5);
      const row = await two.db.selectFrom('gitlab_call_budget').selectAll().executeTakeFirstOrThrow();
      expect(Number(row.tokens)).toBe(0);
    } finally {
      await one.close();
      await two.close();
    }
  });

  it('a call waits for a reserved token instead of calling early, up to the maximum wait', async () => {
    const waits: number[] = [];
    let now = 2_000_000;
    const limiter = createCallBudget(store!.db, {
      instance: 'https://wait.example',
      perMinute: 600, // one token per 100 ms
      capacity: 2,
      maxWaitMs: 350,
      now: () => now,
      sleep: async (ms) => void waits.push(ms),
    });
    for (let i = 0; i < 5; i++) await limiter.take();
    // two from the full bucket, then queued 100, 200, 300 ms behind the refill
    expect(waits).toEqual([100, 200, 300]);
    await expect(limiter.take()).rejects.toMatchObject({ retryAfterMs: 400 });
    // 300 ms later three tokens have come in, all promised already: the next call queues 100 ms again
    now += 300;
    await limiter.take();
    expect(waits.at(-1)).toBe(100);
  });

  it("honours the fake GitLab's 429 Retry-After and RateLimit-Reset: the next call of any client waits until then", async () => {
    const p = gl.addProject({ path: `acme/limited-${kind}`, files: GO_FILES });
    const waits: number[] = [];
    const permits: CallPermit[] = [];
    const budget = (maxWaitMs: number) =>
      createCallBudget(store!.db, {
        instance: gl.url,
        perMinute: 60_000,
        maxWaitMs,
        sleep: async (ms) => void waits.push(ms),
        onTake: (permit) => void permits.push(permit),
      });
    const client = createGitLab({ url: gl.url, token: gl.token, timeoutMs: 5000, limiter: budget(10_000) });
    const other = createGitLab({ url: gl.url, token: gl.token, timeoutMs: 5000, limiter: budget(10_000) });

    gl.failNext({ method: 'GET', path: '/repository/tree', status: 429, retryAfter: 3 });
    const err = await client.tree(p.id, 'main').catch((e) => e);
    expect(err).toBeInstanceOf(GitLabError);
    expect((err as GitLabError).status).toBe(429);
    expect(waits).toEqual([]);
    // the other client (another worker) now waits about three seconds before its call goes out
    expect(await other.fileRaw(p.id, 'go.mod', 'main')).toContain('module example.com/app');
    expect(waits).toHaveLength(1);
    // until GitLab's time is up, plus one token's refill (1 ms at 60,000/min) when both calls fall in one ms
    expect(waits[0]).toBeGreaterThan(2500);
    expect(waits[0]).toBeLessThanOrEqual(3001);

    // RateLimit-Reset (epoch seconds) when Retry-After is absent
    waits.length = 0;
    await store!.db.deleteFrom('gitlab_call_budget').execute();
    const reset = Math.ceil(Date.now() / 1000) + 5;
    gl.failNext({
      method: 'GET',
      path: '/repository/tree',
      status: 429,
      headers: { 'ratelimit-reset': String(reset) },
    });
    await client.tree(p.id, 'main').catch(() => {});
    await client.tree(p.id, 'main');
    expect(waits).toHaveLength(1);
    expect(waits[0]).toBeGreaterThan(3500);
    expect(waits[0]).toBeLessThanOrEqual(6001);

    // beyond the maximum wait no request goes out: the job is retried later, after GitLab's time
    await store!.db.deleteFrom('gitlab_call_budget').execute();
    gl.failNext({ method: 'GET', path: '/repository/tree', status: 429, retryAfter: 60 });
    await client.tree(p.id, 'main').catch(() => {});
    gl.resetRequests();
    const impatient = createGitLab({ url: gl.url, token: gl.token, timeoutMs: 5000, limiter: budget(10_000) });
    const refused = await impatient.fileRaw(p.id, 'go.mod', 'main').catch((e) => e);
    expect(refused).toBeInstanceOf(RetryableError);
    expect((refused as RetryableError).retryAfterMs).toBeGreaterThan(55_000);
    expect(gl.requests).toHaveLength(0);
    // the worker retries the job then, not on its short backoff
    expect(retryDelayMs(1, refused, { backoffBaseMs: 10, backoffMaxMs: 50 })).toBeGreaterThan(55_000);
    expect(permits.some((x) => x.remaining < 0)).toBe(true);
  });
});

describe('GitLab call budget configuration', () => {
  const base = { GITLAB_URL: 'https://gitlab.example.com', GITLAB_TOKEN: 'glpat-x' };

  it('defaults to GitLab.com’s 2,000 calls per minute and a 10 s wait', () => {
    expect(loadConfig(base).gitlab).toMatchObject({ rateLimitPerMin: 2000, maxWaitS: 10 });
  });

  it('reads both settings; 0 turns the limiter off', () => {
    const c = loadConfig({
      ...base,
      PIPELINE_LEARNER_GITLAB_RATE_LIMIT_PER_MIN: '600',
      PIPELINE_LEARNER_GITLAB_MAX_WAIT_S: '0',
    });
    expect(c.gitlab).toMatchObject({ rateLimitPerMin: 600, maxWaitS: 0 });
    const off = loadConfig({ ...base, PIPELINE_LEARNER_GITLAB_RATE_LIMIT_PER_MIN: '0' });
    expect(off.gitlab?.rateLimitPerMin).toBe(0);
    expect(gitlabCallBudget(off, { db: null } as never)).toBeNull();
  });

  it('refuses negative and non-numeric values with the variable named', () => {
    expect(() => loadConfig({ ...base, PIPELINE_LEARNER_GITLAB_RATE_LIMIT_PER_MIN: '-1' })).toThrow(
      /PIPELINE_LEARNER_GITLAB_RATE_LIMIT_PER_MIN/,
    );
    expect(() => loadConfig({ ...base, PIPELINE_LEARNER_GITLAB_MAX_WAIT_S: 'soon' })).toThrow(
      /PIPELINE_LEARNER_GITLAB_MAX_WAIT_S/,
    );
    expect(() => loadConfig({ ...base, PIPELINE_LEARNER_GITLAB_RATE_LIMIT_PER_MIN: '1.5' })).toThrow(
      /PIPELINE_LEARNER_GITLAB_RATE_LIMIT_PER_MIN/,
    );
  });

  it('the service exports the budget metrics', async () => {
    const m = new ServiceMetrics();
    m.gitlabCallsPerPipeline.observe({ part: 'facts' }, 1);
    m.gitlabBudgetRemaining.set(42);
    m.gitlabBudgetWaitSeconds.inc(0.5);
    const text = await m.registry.metrics();
    expect(text).toContain('gitlab_calls_per_pipeline_bucket{le="1",part="facts"} 1');
    expect(text).toMatch(/gitlab_budget_remaining 42/);
    expect(text).toMatch(/gitlab_budget_wait_seconds_total 0\.5/);
  });
});
