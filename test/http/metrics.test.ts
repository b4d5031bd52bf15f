/**
 * /metrics through the real composition root: real deliveries move the counters, the database
 * gauges reflect the queue and the learner, labels stay bounded, and access is protected.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import type { Store } from '../../src/db/openDatabase.js';
import { createGitLab } from '../../src/gitlab/GitbeakerGitLab.js';
import { createLogger } from '../../src/log.js';
import { type Service, startOnStore } from '../../src/main.js';
import { ServiceMetrics } from '../../src/metrics/ServiceMetrics.js';
import { EmbeddedVectorIndex } from '../../src/vectors/EmbeddedVectorIndex.js';
import { type FakeGitLab, startFakeGitLab } from '../fakes/fakeGitLab.js';
import { pipelineHook } from '../fakes/gitlabHooks.js';
import { openTestStore } from '../support/db.js';
import { series } from '../support/metricsText.js';

const SECRET = 'metrics-webhook-secret';
const API_TOKEN = 'metrics-api-token';

describe('GET /metrics', () => {
  let fake: FakeGitLab;
  let store: Store | null;
  let service: Service;
  let pipelineIds: number[] = [];

  beforeAll(async () => {
    fake = await startFakeGitLab();
    store = await openTestStore('pglite');
    const config = loadConfig({
      GITLAB_URL: fake.url,
      GITLAB_TOKEN: fake.token,
      GITLAB_WEBHOOK_SECRET: SECRET,
      API_TOKEN,
      PORT: '0',
      HOST: '127.0.0.1',
      RECONCILE_INTERVAL_S: '0',
      DATA_DIR: mkdtempSync(join(tmpdir(), 'pl-metrics-')),
      LOG_LEVEL: 'silent',
      PIPELINE_LEARNER_JOB_POLL_MS: '50',
      PIPELINE_LEARNER_METRICS_MAX_CONTEXTS: '2',
      // every scrape reads the database here; the cache has its own test below
      PIPELINE_LEARNER_METRICS_DB_MAX_AGE_S: '0',
    });
    service = await startOnStore(config, store!, {
      log: createLogger({ level: 'silent' }),
      gitlab: createGitLab({ url: fake.url, token: fake.token, timeoutMs: 10_000 }),
      vectors: new EmbeddedVectorIndex(store!.db),
    });
    // three tenants, so three learning contexts: more than the cap of two
    pipelineIds = ['alpha', 'beta', 'gamma'].map((tenant) => {
      const p = fake.addProject({
        path: `${tenant}/app`,
        files: {
          '.gitlab-ci.yml': `stages: [test]\ntest:\n  stage: test\n  script: [echo ${tenant}]\n`,
          'go.mod': 'module x\n\ngo 1.22\n',
        },
      });
      return p.addPipeline({ status: 'success', jobs: [{ name: 'test', stage: 'test', status: 'success' }] }).pipeline
        .id;
    });
  });

  afterAll(async () => {
    await service?.stop();
    await fake?.close();
  });

  const scrape = async () => {
    const res = await service.app.request('/metrics', { headers: { authorization: `Bearer ${API_TOKEN}` } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    return res.text();
  };

  it('is protected like the read API', async () => {
    expect((await service.app.request('/metrics')).status).toBe(401);
    expect((await service.app.request('/metrics', { headers: { authorization: 'Bearer wrong' } })).status).toBe(401);
  });

  it('counts real deliveries and their outcomes, and the queue and learner state at scrape time', async () => {
    for (const id of pipelineIds) {
      const d = pipelineHook(fake, id);
      const res = await service.app.request('/webhooks/gitlab', {
        method: 'POST',
        headers: { ...d.headers, 'x-gitlab-token': SECRET },
        body: JSON.stringify(d.body),
      });
      expect(res.status).toBe(202);
    }
    const forged = pipelineHook(fake, pipelineIds[0]!);
    const bad = await service.app.request('/webhooks/gitlab', {
      method: 'POST',
      headers: { ...forged.headers, 'x-gitlab-token': 'wrong', 'x-gitlab-event': 'Made Up Hook' },
      body: JSON.stringify(forged.body),
    });
    expect(bad.status).toBe(401);

    const deadline = Date.now() + 45_000;
    let text = await scrape();
    while (
      (series(text, 'pipeline_learner_queue_jobs', { kind: 'pipeline_event', status: 'done' }) ?? 0) < 3 &&
      Date.now() < deadline
    ) {
      await new Promise((r) => setTimeout(r, 200));
      text = await scrape();
    }
    expect(
      series(text, 'pipeline_learner_webhook_deliveries_total', { event: 'Pipeline Hook', outcome: 'accepted' }),
    ).toBe(3);
    // a forged event name is folded, so it cannot grow the label set
    expect(series(text, 'pipeline_learner_webhook_deliveries_total', { event: 'other', outcome: 'unauthorized' })).toBe(
      1,
    );
    expect(text).not.toContain('Made Up Hook');
    expect(series(text, 'pipeline_learner_webhook_ack_seconds_count', { outcome: 'accepted' })).toBe(3);
    expect(series(text, 'pipeline_learner_queue_jobs', { kind: 'pipeline_event', status: 'done' })).toBe(3);
    // green pipelines whose configuration declares no test report: weak evidence (docs/learning-attribution.md)
    expect(series(text, 'pipeline_learner_rewards', { attribution: 'weak' })).toBe(3);
    expect(series(text, 'pipeline_learner_job_duration_seconds_count', { kind: 'pipeline_event', result: 'ok' })).toBe(
      3,
    );
    expect(series(text, 'pipeline_learner_gitlab_calls_total', { status: 'ok' })).toBeGreaterThan(0);
    // three contexts learned, two exported (PIPELINE_LEARNER_METRICS_MAX_CONTEXTS)
    const means = text.split('\n').filter((l) => l.startsWith('pipeline_learner_context_top_arm_mean{'));
    expect(means).toHaveLength(2);
    for (const l of means) {
      const v = Number(l.split(' ').at(-1));
      expect(v).toBeGreaterThan(0);
      expect(v).toBeLessThan(1);
    }
    expect(series(text, 'pipeline_learner_process_resident_memory_bytes')).toBeGreaterThan(0);
    expect(series(text, 'pipeline_learner_nodejs_eventloop_lag_seconds')).toBeGreaterThanOrEqual(0);
  }, 90_000);

  it('keeps its metric names stable', async () => {
    const names = new Set(
      (await scrape())
        .split('\n')
        .filter((l) => l.startsWith('# TYPE pipeline_learner_') && !/_(process|nodejs)_/.test(l))
        .map((l) => l.split(' ')[2]),
    );
    expect([...names].sort()).toEqual([
      'pipeline_learner_context_top_arm_high',
      'pipeline_learner_context_top_arm_low',
      'pipeline_learner_context_top_arm_mean',
      'pipeline_learner_decisions',
      'pipeline_learner_gitlab_budget_remaining',
      'pipeline_learner_gitlab_budget_wait_seconds_total',
      'pipeline_learner_gitlab_call_seconds',
      'pipeline_learner_gitlab_calls_per_pipeline',
      'pipeline_learner_gitlab_calls_total',
      'pipeline_learner_gitlab_retry_after_seconds_total',
      'pipeline_learner_job_duration_seconds',
      'pipeline_learner_job_failures_total',
      'pipeline_learner_queue_jobs',
      'pipeline_learner_queue_oldest_age_seconds',
      'pipeline_learner_rewards',
      'pipeline_learner_webhook_ack_seconds',
      'pipeline_learner_webhook_deliveries_total',
    ]);
  });
});

describe('PIPELINE_LEARNER_METRICS_PORT', () => {
  it('serves /metrics on a separate loopback listener without auth, and not on the main port', async () => {
    const store = await openTestStore('pglite');
    const config = loadConfig({
      PORT: '0',
      HOST: '127.0.0.1',
      RECONCILE_INTERVAL_S: '0',
      GITLAB_WEBHOOK_SECRET: SECRET,
      API_TOKEN,
      DATA_DIR: mkdtempSync(join(tmpdir(), 'pl-metrics-port-')),
      LOG_LEVEL: 'silent',
      PIPELINE_LEARNER_METRICS_PORT: '0',
    });
    const s = await startOnStore(config, store!, { log: createLogger({ level: 'silent' }), gitlab: null });
    try {
      expect(s.metricsPort).toBeGreaterThan(0);
      const res = await fetch(`http://127.0.0.1:${s.metricsPort}/metrics`);
      expect(res.status).toBe(200);
      expect(await res.text()).toContain('pipeline_learner_webhook_deliveries_total');
      const main = await s.app.request('/metrics', { headers: { authorization: `Bearer ${API_TOKEN}` } });
      expect(main.status).toBe(404);
    } finally {
      await s.stop();
    }
  }, 60_000);
});

describe('scrape-time database figures with a maximum age', () => {
  it('reads the database once per maximum age, answering from the last figures meanwhile', async () => {
    let reads = 0;
    let queued = 1;
    const metrics = new ServiceMetrics({
      processMetrics: false,
      dbMaxAgeMs: 200,
      source: {
        async queue() {
          reads++;
          return [{ kind: 'pipeline_event', status: 'queued', count: queued, oldestAgeS: 1 }];
        },
        decisions: async () => [],
        rewards: async () => [],
        topArms: async () => [],
      },
    });
    const value = async () =>
      series((await metrics.text()).body, 'pipeline_learner_queue_jobs', { kind: 'pipeline_event', status: 'queued' });
    expect(await value()).toBe(1);
    queued = 5;
    expect(await value()).toBe(1); // young figures: no read
    expect(reads).toBe(1);
    await new Promise((r) => setTimeout(r, 250));
    expect(await value()).toBe(1); // old figures answer while the refresh runs
    await new Promise((r) => setTimeout(r, 20));
    expect(await value()).toBe(5);
    expect(reads).toBe(2);
  });
});
