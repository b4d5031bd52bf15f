/**
 * OpenTelemetry traces through the real composition root: a webhook delivery, the job it queues,
 * the GitLab calls the job makes and the learner's decision arrive at an OTLP/HTTP receiver as
 * one trace. The receiver is a tiny HTTP server speaking OTLP/HTTP JSON, in this test.
 */
import { mkdtempSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { createGitLab } from '../../src/gitlab/GitbeakerGitLab.js';
import { createLogger } from '../../src/log.js';
import { startOnStore } from '../../src/main.js';
import { EmbeddedVectorIndex } from '../../src/vectors/EmbeddedVectorIndex.js';
import { type FakeGitLab, startFakeGitLab } from '../fakes/fakeGitLab.js';
import { pipelineHook } from '../fakes/gitlabHooks.js';
import { openTestStore } from '../support/db.js';

interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  attributes?: Array<{ key: string; value: Record<string, unknown> }>;
}

const SECRET = 'tracing-webhook-secret';

describe('OpenTelemetry traces (OTEL_EXPORTER_OTLP_ENDPOINT)', () => {
  let receiver: Server;
  let endpoint: string;
  const spans: OtlpSpan[] = [];
  const paths: string[] = [];
  let fake: FakeGitLab;

  beforeAll(async () => {
    receiver = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c) => chunks.push(c));
      req.on('end', () => {
        paths.push(`${req.method} ${req.url} ${req.headers['content-type']}`);
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
        for (const rs of body.resourceSpans ?? [])
          for (const ss of rs.scopeSpans ?? []) for (const s of ss.spans ?? []) spans.push(s);
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end('{}');
      });
    });
    await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
    endpoint = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
    fake = await startFakeGitLab();
  });
  afterAll(async () => {
    await fake?.close();
    await new Promise((r) => receiver.close(r));
  });

  it('exports webhook → job → GitLab calls → decision as one trace', async () => {
    const store = await openTestStore('pglite');
    const config = loadConfig({
      GITLAB_URL: fake.url,
      GITLAB_TOKEN: fake.token,
      GITLAB_WEBHOOK_SECRET: SECRET,
      PORT: '0',
      HOST: '127.0.0.1',
      RECONCILE_INTERVAL_S: '0',
      DATA_DIR: mkdtempSync(join(tmpdir(), 'pl-tracing-')),
      LOG_LEVEL: 'silent',
      PIPELINE_LEARNER_JOB_POLL_MS: '50',
      OTEL_EXPORTER_OTLP_ENDPOINT: endpoint,
    });
    const service = await startOnStore(config, store!, {
      log: createLogger({ level: 'silent' }),
      gitlab: createGitLab({ url: fake.url, token: fake.token, timeoutMs: 10_000 }),
      vectors: new EmbeddedVectorIndex(store!.db),
    });
    const p = fake.addProject({
      path: 'traced/app',
      files: {
        '.gitlab-ci.yml': 'stages: [test]\ntest:\n  stage: test\n  script: [echo hi]\n',
        'go.mod': 'module x\n',
      },
    });
    const id = p.addPipeline({ status: 'success', jobs: [{ name: 'test', stage: 'test', status: 'success' }] }).pipeline
      .id;
    const d = pipelineHook(fake, id);
    try {
      const res = await service.app.request('/webhooks/gitlab', {
        method: 'POST',
        headers: { ...d.headers, 'x-gitlab-token': SECRET },
        body: JSON.stringify(d.body),
      });
      expect(res.status).toBe(202);
      const deadline = Date.now() + 30_000;
      while (Date.now() < deadline) {
        const row = await store!.db.selectFrom('jobs').select('status').executeTakeFirst();
        if (row?.status === 'done') break;
        await new Promise((r) => setTimeout(r, 100));
      }
      // the handler never saw the trace context: it was taken off the payload
      const job = await store!.db.selectFrom('jobs').select(['status', 'payload']).executeTakeFirstOrThrow();
      expect(job.status).toBe('done');
    } finally {
      await service.stop(); // flushes the batched spans
    }

    expect(paths.every((x) => x.startsWith('POST /v1/traces application/json'))).toBe(true);
    const webhook = spans.find((s) => s.name === 'webhook');
    expect(webhook).toBeDefined();
    const job = spans.find((s) => s.name === 'job pipeline_event');
    expect(job).toMatchObject({ traceId: webhook!.traceId, parentSpanId: webhook!.spanId });
    const inTrace = spans.filter((s) => s.traceId === webhook!.traceId);
    const byId = new Map(inTrace.map((s) => [s.spanId, s]));
    const under = (s: OtlpSpan, ancestor: OtlpSpan): boolean => {
      for (let p = s.parentSpanId && byId.get(s.parentSpanId); p; p = p.parentSpanId && byId.get(p.parentSpanId))
        if (p.spanId === ancestor.spanId) return true;
      return false;
    };
    const gitlabCalls = inTrace.filter((s) => s.name.startsWith('gitlab.'));
    expect(gitlabCalls.length).toBeGreaterThan(0);
    expect(gitlabCalls.every((s) => under(s, job!))).toBe(true);
    const decision = inTrace.find((s) => s.name === 'learner.observeRun');
    expect(decision && under(decision, job!)).toBe(true);
    // no token or payload in any attribute
    const text = JSON.stringify(spans);
    expect(text).not.toContain(fake.token);
    expect(text).not.toContain(SECRET);
  }, 90_000);
});
