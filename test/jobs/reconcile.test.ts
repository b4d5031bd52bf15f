import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listJobs } from '../../src/db/jobQueue.js';
import type { Store } from '../../src/db/openDatabase.js';
import { getRun, upsertProject } from '../../src/db/runs.js';
import { createGitLab } from '../../src/gitlab/GitbeakerGitLab.js';
import { pipelineEventHandler } from '../../src/jobs/handlers/pipelineEvent.js';
import { reconcileOnce } from '../../src/jobs/handlers/reconcile.js';
import { createWorker } from '../../src/jobs/Worker.js';
import { defaultDetect } from '../../src/main.js';
import { EmbeddedVectorIndex } from '../../src/vectors/EmbeddedVectorIndex.js';
import { PIPELINE_EVENT } from '../../src/webhooks/events.js';
import { type FakeGitLab, startFakeGitLab } from '../fakes/fakeGitLab.js';
import { captureLogger } from '../intake/helpers.js';
import { openTestStore, storeKinds } from '../support/db.js';

describe.each(storeKinds)('reconciler on %s', (kind) => {
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

  it('enqueues finished pipelines of known projects that never arrived, one replica at a time', async (ctx) => {
    if (!store) return ctx.skip();
    const p = gl.addProject({ path: 'acme/missed', files: { '.gitlab-ci.yml': 'test:\n  script: [true]\n' } });
    const jobs = [{ name: 'test', stage: 'test', status: 'success' }];
    const missed = p.addPipeline({ status: 'success', jobs }).pipeline;
    const failed = p.addPipeline({
      status: 'failed',
      jobs: [{ name: 'test', stage: 'test', status: 'failed' }],
    }).pipeline;
    p.addPipeline({ status: 'running', jobs: [{ name: 'test', stage: 'test', status: 'running' }] });
    await upsertProject(store.db, { projectId: p.id, pathWithNamespace: p.path, tenant: 'acme', ciConfigPath: null });

    const gitlab = createGitLab({ url: gl.url, token: gl.token });
    const log = captureLogger().log;
    const deps = { db: store.db, gitlab, log, lookbackH: 24, maxAttempts: 3, leaseMs: 60_000 };
    const first = await reconcileOnce({ ...deps, holder: 'replica-a' });
    expect(first).toMatchObject({ ran: true, enqueued: 2 });
    expect(await reconcileOnce({ ...deps, holder: 'replica-b' })).toMatchObject({ ran: false });
    expect(await reconcileOnce({ ...deps, holder: 'replica-a' })).toMatchObject({ ran: true, enqueued: 0 });

    const worker = createWorker({
      db: store.db,
      handlers: {
        [PIPELINE_EVENT]: pipelineEventHandler({
          db: store.db,
          gitlab,
          vectors: new EmbeddedVectorIndex(store.db),
          detect: defaultDetect,
          learner: { observeRun: async () => {} },
          log,
        }),
      },
      log,
      concurrency: 2,
      pollMs: 20,
      leaseMs: 30_000,
      backoffBaseMs: 10,
      backoffMaxMs: 50,
    });
    worker.start();
    const end = Date.now() + 20_000;
    while ((await listJobs(store.db, { status: ['done'] })).length < 2 && Date.now() < end) {
      await new Promise((r) => setTimeout(r, 50));
    }
    await worker.drain();
    expect((await getRun(store.db, missed.id))?.status).toBe('success');
    expect((await getRun(store.db, failed.id))?.status).toBe('failed');
    // recorded now: the next pass finds nothing
    expect(await reconcileOnce({ ...deps, holder: 'replica-a' })).toMatchObject({ enqueued: 0 });
  });
});
