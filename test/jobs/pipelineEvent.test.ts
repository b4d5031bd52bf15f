import { createHash } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { enqueueJob, listJobs } from '../../src/db/jobQueue.js';
import type { Store } from '../../src/db/openDatabase.js';
import { getConfiguration, getRun, listRuns } from '../../src/db/runs.js';
import { createGitLab } from '../../src/gitlab/GitbeakerGitLab.js';
import { GitLabError } from '../../src/gitlab/GitLab.js';
import { pipelineEventHandler } from '../../src/jobs/handlers/pipelineEvent.js';
import type { RecordDeps, RunObservation } from '../../src/jobs/handlers/recordPipeline.js';
import { createWorker } from '../../src/jobs/Worker.js';
import { defaultDetect } from '../../src/main.js';
import { EmbeddedVectorIndex } from '../../src/vectors/EmbeddedVectorIndex.js';
import { COLLECTIONS } from '../../src/vectors/VectorIndex.js';
import { PIPELINE_EVENT, snapshotFromHook } from '../../src/webhooks/events.js';
import { pipelineHookSchema } from '../../src/webhooks/webhookPayloads.js';
import { type FakeGitLab, startFakeGitLab } from '../fakes/fakeGitLab.js';
import { pipelineHook } from '../fakes/gitlabHooks.js';
import { captureLogger } from '../intake/helpers.js';
import { openTestStore, storeKinds } from '../support/db.js';

const CONFIG = `stages: [build, test]
variables:
  DEPLOY_TOKEN: "s3cr3t-deploy-value"
  REGISTRY_USER: ci
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
  Dockerfile: 'FROM golang:1.22\nENV API_TOKEN=abcdef123456\n',
};
const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');
const JOBS = [
  { name: 'build', stage: 'build' },
  { name: 'test', stage: 'test' },
];

describe.each(storeKinds)('pipeline events on %s', (kind) => {
  let store: Store | null = null;
  let gl: FakeGitLab;
  let deps: RecordDeps;
  let observed: RunObservation[];

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
    observed = [];
    const gitlab = createGitLab({ url: gl.url, token: gl.token, timeoutMs: 1500 });
    deps = {
      db: store.db,
      gitlab,
      vectors: new EmbeddedVectorIndex(store.db),
      detect: defaultDetect,
      learner: { observeRun: async (o) => void observed.push(o) },
      log: captureLogger().log,
    };
  });

  const runHook = async (pipelineId: number) => {
    const hook = pipelineHookSchema.parse(pipelineHook(gl, pipelineId).body);
    const handler = pipelineEventHandler(deps);
    await handler({ source: 'webhook', snapshot: snapshotFromHook(hook) }, { job: {} as never, log: deps.log });
  };

  it('records a success: one run, the configuration by hash (masked), a seed-format vector record, the learner', async () => {
    const p = gl.addProject({ path: 'Acme/team/go-app', files: GO_FILES });
    const { pipeline } = p.addPipeline({ status: 'success', duration: 95, jobs: JOBS });
    await runHook(pipeline.id);

    const run = await getRun(store!.db, pipeline.id);
    const hash = sha256(CONFIG);
    expect(run).toMatchObject({
      status: 'success',
      tenant: 'acme',
      projectPath: 'Acme/team/go-app',
      configHash: hash,
      language: 'go',
      durationS: 95,
      stagesCount: 2,
      iid: pipeline.iid,
      sha: pipeline.sha,
    });
    expect(run!.jobs.map((j) => [j.name, j.stage, j.status])).toEqual([
      ['build', 'build', 'success'],
      ['test', 'test', 'success'],
    ]);
    const config = await getConfiguration(store!.db, hash);
    expect(config!.content).not.toContain('s3cr3t-deploy-value');
    expect(config!.content).toContain('REGISTRY_USER: ci');
    expect(config!.dockerfile).not.toContain('abcdef123456');
    expect(config!.valid_yaml).toBe(true);

    const records = await deps.vectors.list(COLLECTIONS.successful, { where: { config_hash: hash.slice(0, 12) } });
    expect(records).toHaveLength(1);
    expect(records[0].id).toBe(`success_go_${run!.framework}_${hash.slice(0, 12)}`);
    expect(records[0].document).toContain('## Successful Pipeline Configuration');
    expect(records[0].document).not.toContain('s3cr3t-deploy-value');
    expect(records[0].metadata).toMatchObject({ tenant: 'acme', project: 'Acme/team/go-app', run_count: 1 });
    expect(observed).toHaveLength(1);
    expect(observed[0]).toMatchObject({ pipelineId: pipeline.id, status: 'success', configHash: hash, tenant: 'acme' });

    // the same delivery processed again (a redelivery, or a job re-run after a crash) adds nothing
    await runHook(pipeline.id);
    expect(await listRuns(store!.db, { projectId: p.id })).toHaveLength(1);
    const again = await deps.vectors.list(COLLECTIONS.successful, { where: { config_hash: hash.slice(0, 12) } });
    expect(again[0].metadata.run_count).toBe(1);

    // another pipeline with the same bytes is another run of the same configuration
    const second = p.addPipeline({ status: 'success', duration: 80, jobs: JOBS }).pipeline;
    await runHook(second.id);
    const updated = await deps.vectors.list(COLLECTIONS.successful, { where: { config_hash: hash.slice(0, 12) } });
    expect(updated).toHaveLength(1);
    expect(updated[0].metadata.run_count).toBe(2);
    expect(updated[0].metadata.latest_pipeline_id).toBe(String(second.id));
  });

  it('keeps a failure as negative evidence, and a retry into success updates the same run', async () => {
    const files = { ...GO_FILES, '.gitlab-ci.yml': `${CONFIG}# variant\n` };
    const p = gl.addProject({ path: 'acme/retry-app', files });
    const { pipeline } = p.addPipeline({
      status: 'failed',
      jobs: [
        { name: 'build', stage: 'build', status: 'success' },
        { name: 'test', stage: 'test', status: 'failed', failure_reason: 'script_failure' },
        { name: 'lint', stage: 'test', status: 'failed', failure_reason: 'script_failure', allow_failure: true },
      ],
    });
    await runHook(pipeline.id);
    const failed = await getRun(store!.db, pipeline.id);
    expect(failed!.status).toBe('failed');
    expect(failed!.failedJobs.map((j) => [j.name, j.failure_reason])).toEqual([['test', 'script_failure']]);
    const feedback = await deps.vectors.list(COLLECTIONS.feedback, { where: { pipeline_id: String(pipeline.id) } });
    expect(feedback).toHaveLength(1);
    expect(feedback[0].metadata.failure_reasons).toBe('script_failure');

    p.setPipelineStatus(pipeline.id, 'success', { test: 'success', lint: 'success' });
    await runHook(pipeline.id);
    const runs = await listRuns(store!.db, { projectId: p.id });
    expect(runs).toHaveLength(1);
    expect(runs[0].status).toBe('success');
    expect(runs[0].failedJobs).toEqual([]);
    expect(await deps.vectors.list(COLLECTIONS.feedback, { where: { pipeline_id: String(pipeline.id) } })).toHaveLength(
      0,
    );
    expect(observed.map((o) => o.status)).toEqual(['failed', 'success']);
  });

  it('records a run whose configuration is not valid YAML, hashing the bytes as served', async () => {
    const broken = 'stages: [build\nbuild:\n  script: - nope: [\n';
    const p = gl.addProject({
      path: 'acme/broken',
      files: { '.gitlab-ci.yml': broken, 'package.json': '{"name":"x"}' },
    });
    const { pipeline } = p.addPipeline({ status: 'failed', jobs: [] });
    await runHook(pipeline.id);
    const run = await getRun(store!.db, pipeline.id);
    expect(run!.configHash).toBe(sha256(broken));
    const config = await getConfiguration(store!.db, sha256(broken));
    expect(config!.valid_yaml).toBe(false);
    expect(config!.yaml_error).toBeTruthy();
  });

  it('reads the configuration from the project ci_config_path', async () => {
    const p = gl.addProject({
      path: 'acme/custom-path',
      ciConfigPath: 'ci/pipeline.yml',
      files: { 'ci/pipeline.yml': CONFIG.replace('build ./...', 'build -v ./...'), 'go.mod': 'module x\n' },
    });
    const { pipeline } = p.addPipeline({ status: 'success', jobs: JOBS });
    await runHook(pipeline.id);
    const run = await getRun(store!.db, pipeline.id);
    expect(run!.configPath).toBe('ci/pipeline.yml');
    expect(run!.configHash).toBe(sha256(CONFIG.replace('build ./...', 'build -v ./...')));
  });

  it('surfaces GitLab 500, 429 + Retry-After and timeouts as retryable GitLabErrors', async () => {
    const p = gl.addProject({ path: 'acme/flaky', files: GO_FILES });
    const { pipeline } = p.addPipeline({ status: 'success', jobs: JOBS });
    gl.failNext({ path: '/repository/files/.gitlab-ci.yml', status: 500 });
    const e500 = await runHook(pipeline.id).catch((e) => e);
    expect(e500).toBeInstanceOf(GitLabError);
    expect((e500 as GitLabError).retry).toBe('backoff');

    gl.failNext({ path: '/repository/files/.gitlab-ci.yml', status: 429, retryAfter: 7 });
    const e429 = (await runHook(pipeline.id).catch((e) => e)) as GitLabError;
    expect(e429.status).toBe(429);
    expect(e429.retryAfterMs).toBe(7000);
    expect(e429.retry).toBe('wait');

    gl.failNext({ path: '/repository/files/.gitlab-ci.yml', hang: true });
    const eTimeout = (await runHook(pipeline.id).catch((e) => e)) as GitLabError;
    expect(eTimeout).toBeInstanceOf(GitLabError);
    expect(eTimeout.status).toBeNull();
    expect(eTimeout.retry).toBe('backoff');
    expect(await getRun(store!.db, pipeline.id)).toBeNull();

    // through the worker: the 429 is retried and the run recorded once
    gl.failNext({ path: '/repository/files/.gitlab-ci.yml', status: 429, retryAfter: 1 });
    const hook = pipelineHookSchema.parse(pipelineHook(gl, pipeline.id).body);
    const { id } = await enqueueJob(store!.db, {
      kind: PIPELINE_EVENT,
      payload: { source: 'webhook', snapshot: snapshotFromHook(hook) },
      maxAttempts: 5,
    });
    const w = createWorker({
      db: store!.db,
      handlers: { [PIPELINE_EVENT]: pipelineEventHandler(deps) },
      log: deps.log,
      concurrency: 1,
      pollMs: 50,
      leaseMs: 30_000,
      backoffBaseMs: 10,
      backoffMaxMs: 100,
    });
    w.start();
    const end = Date.now() + 20_000;
    while ((await listJobs(store!.db)).find((j) => j.id === id)?.status !== 'done' && Date.now() < end) {
      await new Promise((r) => setTimeout(r, 50));
    }
    await w.drain();
    const job = (await listJobs(store!.db)).find((j) => j.id === id)!;
    expect(job.status).toBe('done');
    expect(job.attempts).toBe(2);
    expect((await getRun(store!.db, pipeline.id))!.status).toBe('success');
  });
});

describe('pipeline events with a real Chroma server', () => {
  it('upserts one successful_pipelines record per configuration and keeps failures in pipeline_feedback', async (ctx) => {
    const { requireChroma } = await import('../support/chroma.js');
    const { ChromaVectorIndex } = await import('../../src/vectors/ChromaVectorIndex.js');
    const chroma = await requireChroma();
    const store = chroma ? await openTestStore('pglite') : null;
    if (!chroma || !store) return ctx.skip();
    const gl = await startFakeGitLab();
    try {
      const gitlab = createGitLab({ url: gl.url, token: gl.token });
      const vectors = new ChromaVectorIndex(chroma);
      const deps: RecordDeps = {
        db: store.db,
        gitlab,
        vectors,
        detect: defaultDetect,
        learner: { observeRun: async () => {} },
        log: captureLogger().log,
      };
      const unique = `${CONFIG}# chroma ${Date.now()}\n`;
      const p = gl.addProject({ path: 'chroma/app', files: { ...GO_FILES, '.gitlab-ci.yml': unique } });
      const handler = pipelineEventHandler(deps);
      const run = async (id: number) =>
        handler(
          { source: 'webhook', snapshot: snapshotFromHook(pipelineHookSchema.parse(pipelineHook(gl, id).body)) },
          { job: {} as never, log: deps.log },
        );
      const ok1 = p.addPipeline({ status: 'success', jobs: JOBS }).pipeline;
      const ok2 = p.addPipeline({ status: 'success', jobs: JOBS }).pipeline;
      const bad = p.addPipeline({
        status: 'failed',
        jobs: [{ name: 'test', stage: 'test', status: 'failed', failure_reason: 'script_failure' }],
      }).pipeline;
      for (const id of [ok1.id, ok2.id, ok1.id, bad.id]) await run(id);
      const hash12 = sha256(unique).slice(0, 12);
      const success = await vectors.list(COLLECTIONS.successful, { where: { config_hash: hash12 } });
      expect(success).toHaveLength(1);
      expect(success[0].metadata.run_count).toBe(2);
      const feedback = await vectors.list(COLLECTIONS.feedback, { where: { pipeline_id: String(bad.id) } });
      expect(feedback).toHaveLength(1);
      expect(feedback[0].metadata.failure_reasons).toBe('script_failure');
    } finally {
      await gl.close();
      await store.close();
    }
  });
});
