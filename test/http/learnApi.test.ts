import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Store } from '../../src/db/openDatabase.js';
import { getRun } from '../../src/db/runs.js';
import { createGitLab } from '../../src/gitlab/GitbeakerGitLab.js';
import { learnRecord } from '../../src/jobs/handlers/learnRecord.js';
import type { RecordDeps } from '../../src/jobs/handlers/recordPipeline.js';
import { defaultDetect } from '../../src/main.js';
import { EmbeddedVectorIndex } from '../../src/vectors/EmbeddedVectorIndex.js';
import { type FakeGitLab, startFakeGitLab } from '../fakes/fakeGitLab.js';
import { captureLogger, testApp } from '../intake/helpers.js';
import { openTestStore, storeKinds } from '../support/db.js';

const API = 'api-token-value';
const config = (extra: string) => `stages: [build, test, learn]
build:
  stage: build
  script: [npm ci]
test:
  stage: test
  script: [npm test]
${extra}
learn_record:
  stage: learn
  script: [curl -fsS -X POST "$PIPELINE_LEARNER_URL/api/v1/pipeline/learn/record"]
`;
const NODE_FILES = (extra = '') => ({
  '.gitlab-ci.yml': config(extra),
  'package.json': JSON.stringify({ name: 'app', dependencies: { express: '^4.19.0' } }),
});

describe.each(storeKinds)('seed API on %s', (kind) => {
  let store: Store | null = null;
  let gl: FakeGitLab;
  let app: ReturnType<typeof testApp>;
  let cap: ReturnType<typeof captureLogger>;

  beforeAll(async () => {
    store = await openTestStore(kind);
    if (!store) return;
    gl = await startFakeGitLab();
    cap = captureLogger([API, gl.token]);
    const gitlab = createGitLab({ url: gl.url, token: gl.token, timeoutMs: 2000 });
    const deps: RecordDeps = {
      db: store.db,
      gitlab,
      vectors: new EmbeddedVectorIndex(store.db),
      detect: defaultDetect,
      learner: { observeRun: async () => {} },
      log: cap.log,
    };
    app = testApp(store, cap.log, {}, { gitlabUrl: gl.url, record: (req) => learnRecord(deps, req) });
  });
  afterAll(async () => {
    await gl?.close();
    await store?.close();
  });
  beforeEach((ctx) => {
    if (!store) ctx.skip();
  });

  const post = (body: unknown, headers: Record<string, string>) =>
    app.request('/api/v1/pipeline/learn/record', {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify(body),
    });

  it('refuses a body carrying gitlab_token, saying why', async () => {
    const res = await post(
      { repo_url: 'http://x/a/b', gitlab_token: 'glpat-leaked-token-123', pipeline_id: 1 },
      {
        authorization: `Bearer ${API}`,
      },
    );
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: string }).error).toMatch(/gitlab_token is not accepted.*JOB-TOKEN/s);
    expect(cap.text()).not.toContain('glpat-leaked-token-123');
  });

  it('wants a JOB-TOKEN or the API token', async () => {
    expect((await post({ project_id: 1, pipeline_id: 1 }, {})).status).toBe(401);
    expect((await post({ project_id: 1, pipeline_id: 1 }, { authorization: 'Bearer nope' })).status).toBe(401);
  });

  it('records the learn stage of a running pipeline whose other jobs passed (JOB-TOKEN, seed body)', async () => {
    const p = gl.addProject({ path: 'acme/web', files: NODE_FILES() });
    const { pipeline, jobs } = p.addPipeline({
      status: 'running',
      jobs: [
        { name: 'build', stage: 'build', status: 'success' },
        { name: 'test', stage: 'test', status: 'success' },
        { name: 'lint', stage: 'test', status: 'failed', allow_failure: true },
        { name: 'deploy', stage: 'test', status: 'manual', when: 'manual' },
        { name: 'learn_record', stage: 'learn', status: 'running' },
      ],
    });
    gl.addJobToken('job-token-web', jobs[4].id);
    const res = await post(
      { repo_url: `${gl.url}/acme/web.git`, branch: pipeline.ref, pipeline_id: pipeline.id },
      { 'job-token': 'job-token-web' },
    );
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({
      success: true,
      message: 'Pipeline succeeded! Configuration stored for reinforcement learning.',
      pipeline_id: pipeline.id,
      status: 'success',
      stored: true,
    });
    expect((await getRun(store!.db, pipeline.id))!.status).toBe('success');
    expect(cap.text()).not.toContain('job-token-web');
  });

  it('does not store a running pipeline with a failed job, nor one still working', async () => {
    const p = gl.addProject({ path: 'acme/api', files: NODE_FILES('# api') });
    const failing = p.addPipeline({
      status: 'running',
      jobs: [
        { name: 'build', stage: 'build', status: 'success' },
        { name: 'test', stage: 'test', status: 'failed', failure_reason: 'script_failure' },
        { name: 'learn_record', stage: 'learn', status: 'running' },
      ],
    });
    const r1 = await post({ project_id: p.id, pipeline_id: failing.pipeline.id }, { authorization: `Bearer ${API}` });
    expect(await r1.json()).toMatchObject({ status: 'failed', stored: false });

    const busy = p.addPipeline({
      status: 'running',
      jobs: [
        { name: 'build', stage: 'build', status: 'running' },
        { name: 'learn_record', stage: 'learn', status: 'created' },
      ],
    });
    const r2 = await post(
      { project_id: String(p.id), pipeline_id: busy.pipeline.id },
      { authorization: `Bearer ${API}` },
    );
    expect(await r2.json()).toMatchObject({ status: 'running', stored: false });
    expect(await getRun(store!.db, busy.pipeline.id)).toBeNull();
  });

  it('refuses a JOB-TOKEN of another pipeline or project', async () => {
    const p = gl.addProject({ path: 'acme/other', files: NODE_FILES('# other') });
    const a = p.addPipeline({ status: 'running', jobs: [{ name: 'learn_record', stage: 'learn', status: 'running' }] });
    const b = p.addPipeline({ status: 'running', jobs: [{ name: 'learn_record', stage: 'learn', status: 'running' }] });
    gl.addJobToken('job-token-a', a.jobs[0].id);
    const res = await post({ project_id: p.id, pipeline_id: b.pipeline.id }, { 'job-token': 'job-token-a' });
    expect(res.status).toBe(403);
    const bad = await post({ project_id: p.id, pipeline_id: a.pipeline.id }, { 'job-token': 'not-a-token' });
    expect(bad.status).toBe(401);
  });

  it('lists successful configurations and the best one (seed shapes, API token, case-insensitive, tenant filter)', async () => {
    const p = gl.addProject({ path: 'Globex/shop', files: NODE_FILES('# globex') });
    const { pipeline } = p.addPipeline({
      status: 'success',
      duration: 42,
      jobs: [
        { name: 'build', stage: 'build', status: 'success' },
        { name: 'test', stage: 'test', status: 'success' },
      ],
    });
    await post({ project_id: p.id, pipeline_id: pipeline.id }, { authorization: `Bearer ${API}` });

    expect((await app.request('/api/v1/pipeline/learn/successful?language=node')).status).toBe(401);
    const auth = { authorization: `Bearer ${API}` };
    const res = await app.request('/api/v1/pipeline/learn/successful?Language=NODE&TENANT=globex&limit=5', {
      headers: auth,
    });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { success: boolean; count: number; pipelines: Array<Record<string, unknown>> };
    expect(body.success).toBe(true);
    expect(body.count).toBe(1);
    expect(body.pipelines[0]).toMatchObject({
      language: 'node',
      pipeline_id: String(pipeline.id),
      duration: 42,
      stages_count: 2,
      tenant: 'globex',
      project: 'Globex/shop',
    });
    expect(String(body.pipelines[0].id)).toMatch(/^success_node_[a-z-]+_[0-9a-f]{12}$/);

    const all = (await (
      await app.request('/api/v1/pipeline/learn/successful?language=node', { headers: auth })
    ).json()) as {
      count: number;
    };
    expect(all.count).toBeGreaterThanOrEqual(2);
    // offset pages through the same ranked list
    const page = async (q: string) =>
      (
        (await (
          await app.request(`/api/v1/pipeline/learn/successful?language=node${q}`, { headers: auth })
        ).json()) as {
          pipelines: Array<{ id: string }>;
        }
      ).pipelines.map((x) => x.id);
    const ranked = await page('&limit=100');
    expect(await page('&limit=1&offset=1')).toEqual(ranked.slice(1, 2));
    expect((await app.request('/api/v1/pipeline/learn/successful?offset=100', { headers: auth })).status).toBe(400);

    const best = await app.request('/api/v1/pipeline/learn/best?language=Node&tenant=GLOBEX', { headers: auth });
    expect(await best.json()).toMatchObject({
      success: true,
      language: 'node',
      source: 'reinforcement_learning',
      config: config('# globex'),
    });
    const none = await app.request('/api/v1/pipeline/learn/best?language=rust', { headers: auth });
    expect(none.status).toBe(404);
  });

  it('opens reads with PUBLIC_READ', async () => {
    const open = testApp(store!, cap.log, {}, { publicRead: true });
    expect((await open.request('/api/v1/pipeline/learn/successful?language=node')).status).toBe(200);
  });
});

describe('health', () => {
  it('/healthz answers; /readyz is 503 once the database is gone', async (ctx) => {
    const store = await openTestStore('pglite');
    if (!store) return ctx.skip();
    const { databaseReady } = await import('../../src/db/openDatabase.js');
    const { createApp } = await import('../../src/http/createApp.js');
    const log = captureLogger().log;
    const app = createApp({
      log,
      ready: () => databaseReady(store.db),
      webhook: {
        db: store.db,
        log,
        secret: 'x',
        signingToken: null,
        toleranceS: 300,
        maxBodyBytes: 1000,
        maxAttempts: 1,
      },
      learn: { db: store.db, apiToken: null, publicRead: false, gitlabUrl: null, record: null },
    });
    expect((await app.request('/healthz')).status).toBe(200);
    expect((await app.request('/readyz')).status).toBe(200);
    await store.close();
    expect((await app.request('/readyz')).status).toBe(503);
    expect((await app.request('/healthz')).status).toBe(200);
  });
});
