import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { countDeliveries } from '../../src/db/deliveries.js';
import { listJobs } from '../../src/db/jobQueue.js';
import type { Store } from '../../src/db/openDatabase.js';
import { signWebhook } from '../../src/http/verifyWebhook.js';
import { loadPayload } from '../fakes/gitlabHooks.js';
import { openTestStore, storeKinds } from '../support/db.js';
import { captureLogger, testApp } from './helpers.js';

const SECRET = 'hook-secret-value';
const SIGNING = `whsec_${randomBytes(32).toString('base64')}`;

function pipelineBody(status = 'success', id = 31) {
  const body = loadPayload(status === 'failed' ? 'pipeline_failed' : 'pipeline_success');
  (body.object_attributes as Record<string, unknown>).status = status;
  (body.object_attributes as Record<string, unknown>).id = id;
  return body;
}

function headers(extra: Record<string, string> = {}, event = 'Pipeline Hook'): Record<string, string> {
  const id = randomUUID();
  return {
    'content-type': 'application/json',
    'x-gitlab-event': event,
    'x-gitlab-token': SECRET,
    'x-gitlab-event-uuid': id,
    'idempotency-key': id,
    'webhook-id': id,
    ...extra,
  };
}

describe.each(storeKinds)('POST /webhooks/gitlab on %s', (kind) => {
  let store: Store | null = null;
  beforeAll(async () => {
    store = await openTestStore(kind);
  });
  afterAll(async () => {
    await store?.close();
  });
  beforeEach(async (ctx) => {
    if (!store) return ctx.skip();
    await store.db.deleteFrom('jobs').execute();
    await store.db.deleteFrom('webhook_deliveries').execute();
  });

  it('accepts a finished pipeline: one delivery, one queued job, payload redacted', async () => {
    const cap = captureLogger();
    const app = testApp(store!, cap.log);
    const res = await app.request('/webhooks/gitlab', {
      method: 'POST',
      headers: headers(),
      body: JSON.stringify(pipelineBody()),
    });
    expect(res.status).toBe(202);
    const body = (await res.json()) as { status: string; delivery_id: number; job_id: number };
    expect(body.status).toBe('accepted');
    const jobs = await listJobs(store!.db, { status: ['queued'] });
    expect(jobs).toHaveLength(1);
    expect(jobs[0]).toMatchObject({ kind: 'pipeline_event', deliveryId: body.delivery_id, id: body.job_id });
    const row = await store!.db.selectFrom('webhook_deliveries').selectAll().executeTakeFirstOrThrow();
    const stored = JSON.stringify(row.payload);
    expect(stored).not.toContain('admin@example.com');
    expect(stored).not.toContain('user@gitlab.com');
    expect(stored).not.toContain('us-west-1');
    expect(stored).toContain('NESTOR_PROD_ENVIRONMENT');
    expect(cap.text()).toContain(`"delivery_id":${body.delivery_id}`);
  });

  it('refuses missing and wrong X-Gitlab-Token with 401, stores nothing, never logs the offered value', async () => {
    const cap = captureLogger([SECRET]);
    const app = testApp(store!, cap.log);
    const offered = 'wrong-token-offered-by-attacker';
    for (const h of [headers({ 'x-gitlab-token': offered }), { ...headers(), 'x-gitlab-token': '' }]) {
      const res = await app.request('/webhooks/gitlab', {
        method: 'POST',
        headers: h,
        body: JSON.stringify(pipelineBody()),
      });
      expect(res.status).toBe(401);
    }
    const noToken = headers();
    delete noToken['x-gitlab-token'];
    expect(
      (
        await app.request('/webhooks/gitlab', {
          method: 'POST',
          headers: noToken,
          body: JSON.stringify(pipelineBody()),
        })
      ).status,
    ).toBe(401);
    expect(await countDeliveries(store!.db)).toBe(0);
    expect(await listJobs(store!.db)).toHaveLength(0);
    expect(cap.text()).toContain('bad credentials');
    expect(cap.text()).not.toContain(offered);
    expect(cap.text()).not.toContain(SECRET);
  });

  it('deduplicates redeliveries on webhook-id, then on the event UUID, then on the body', async () => {
    const app = testApp(store!, captureLogger().log);
    const h = headers();
    const body = JSON.stringify(pipelineBody());
    const first = await app.request('/webhooks/gitlab', { method: 'POST', headers: h, body });
    const again = await app.request('/webhooks/gitlab', { method: 'POST', headers: h, body });
    expect(first.status).toBe(202);
    expect(again.status).toBe(202);
    expect(((await again.json()) as { status: string }).status).toBe('duplicate');

    const uuidOnly = {
      'content-type': 'application/json',
      'x-gitlab-event': 'Pipeline Hook',
      'x-gitlab-token': SECRET,
    };
    const u = { ...uuidOnly, 'x-gitlab-event-uuid': randomUUID() };
    const body2 = JSON.stringify(pipelineBody('failed', 32));
    await app.request('/webhooks/gitlab', { method: 'POST', headers: u, body: body2 });
    const dupU = await app.request('/webhooks/gitlab', { method: 'POST', headers: u, body: body2 });
    expect(((await dupU.json()) as { status: string }).status).toBe('duplicate');

    const body3 = JSON.stringify(pipelineBody('canceled', 33));
    await app.request('/webhooks/gitlab', { method: 'POST', headers: uuidOnly, body: body3 });
    const dupB = await app.request('/webhooks/gitlab', { method: 'POST', headers: uuidOnly, body: body3 });
    expect(((await dupB.json()) as { status: string }).status).toBe('duplicate');

    expect(await countDeliveries(store!.db)).toBe(3);
    expect(await listJobs(store!.db)).toHaveLength(3);
  });

  it('under a concurrent burst (batched writes) stores each delivery once and answers duplicates as such', async () => {
    const app = testApp(store!, captureLogger().log);
    const sends = Array.from({ length: 40 }, (_, i) => ({
      h: headers(),
      body: JSON.stringify(pipelineBody('success', 1000 + i)),
    }));
    const burst = [...sends, ...sends.slice(0, 10)].map(async ({ h, body }) => {
      const r = await app.request('/webhooks/gitlab', { method: 'POST', headers: h, body });
      expect(r.status).toBe(202);
      return ((await r.json()) as { status: string; delivery_id: number }).status;
    });
    const statuses = await Promise.all(burst);
    expect(statuses.filter((s) => s === 'accepted')).toHaveLength(40);
    expect(statuses.filter((s) => s === 'duplicate')).toHaveLength(10);
    expect(await countDeliveries(store!.db)).toBe(40);
    const jobs = await listJobs(store!.db);
    expect(jobs).toHaveLength(40);
    expect(new Set(jobs.map((j) => j.deliveryId)).size).toBe(40);
  });

  it('stores deliveries whose strings jsonb cannot hold (NUL, lone surrogates) without failing their batch', async () => {
    const app = testApp(store!, captureLogger().log);
    const odd = pipelineBody('success', 2001);
    (odd.object_attributes as Record<string, unknown>).name = 'nul\u0000 and lone \ud800 surrogate';
    const text = JSON.stringify(odd);
    expect(text).toContain('\\u0000');
    expect(text).toContain('\\ud800');
    const bodies = [text, ...Array.from({ length: 5 }, (_, i) => JSON.stringify(pipelineBody('success', 2002 + i)))];
    const statuses = await Promise.all(
      bodies.map(async (body) => {
        const r = await app.request('/webhooks/gitlab', { method: 'POST', headers: headers(), body });
        return r.status;
      }),
    );
    expect(statuses).toEqual([202, 202, 202, 202, 202, 202]);
    expect(await countDeliveries(store!.db)).toBe(6);
    const rows = await store!.db.selectFrom('webhook_deliveries').select('payload').execute();
    const names = rows.map((r) => (r.payload as { object_attributes: { name: string } }).object_attributes.name);
    expect(names).toContain('nul and lone \ufffd surrogate');
  });

  it('answers 400 to malformed JSON and 413 to an oversized body (declared or streamed), storing nothing', async () => {
    const app = testApp(store!, captureLogger().log, { maxBodyBytes: 4096 });
    const bad = await app.request('/webhooks/gitlab', {
      method: 'POST',
      headers: headers(),
      body: '{"object_kind": "pipel',
    });
    expect(bad.status).toBe(400);
    const big = JSON.stringify({ ...pipelineBody(), padding: 'x'.repeat(10_000) });
    const declared = await app.request('/webhooks/gitlab', { method: 'POST', headers: headers(), body: big });
    expect(declared.status).toBe(413);
    const stream = new ReadableStream({
      start(c) {
        for (let i = 0; i < 10; i++) c.enqueue(new TextEncoder().encode('x'.repeat(1000)));
        c.close();
      },
    });
    const streamed = await app.request('/webhooks/gitlab', {
      method: 'POST',
      headers: headers(),
      body: stream,
      duplex: 'half',
    } as RequestInit);
    expect(streamed.status).toBe(413);
    expect(await countDeliveries(store!.db)).toBe(0);
  });

  it('answers 202 and ignores unfinished pipelines, merge request events and confidential notes', async () => {
    const app = testApp(store!, captureLogger().log);
    const running = await app.request('/webhooks/gitlab', {
      method: 'POST',
      headers: headers(),
      body: JSON.stringify(pipelineBody('running')),
    });
    expect(running.status).toBe(202);
    expect(((await running.json()) as { status: string }).status).toBe('ignored');
    const mr = await app.request('/webhooks/gitlab', {
      method: 'POST',
      headers: headers({}, 'Merge Request Hook'),
      body: JSON.stringify(loadPayload('merge_request_open')),
    });
    expect(mr.status).toBe(202);
    const note = { ...loadPayload('note_on_mr'), event_type: 'confidential_note' };
    const conf = await app.request('/webhooks/gitlab', {
      method: 'POST',
      headers: headers({}, 'Note Hook'),
      body: JSON.stringify(note),
    });
    expect(conf.status).toBe(202);
    expect(await countDeliveries(store!.db)).toBe(0);
  });

  it('queues note and emoji events for their handlers', async () => {
    const app = testApp(store!, captureLogger().log);
    for (const [event, name] of [
      ['Note Hook', 'note_on_mr'],
      ['Emoji Hook', 'emoji_award'],
    ] as const) {
      const res = await app.request('/webhooks/gitlab', {
        method: 'POST',
        headers: headers({}, event),
        body: JSON.stringify(loadPayload(name)),
      });
      expect(res.status).toBe(202);
    }
    expect((await listJobs(store!.db)).map((j) => j.kind).sort()).toEqual(['emoji_event', 'note_event']);
  });

  describe('with a signing token (Standard Webhooks)', () => {
    const signed = (body: string, at = Math.floor(Date.now() / 1000), id = randomUUID()) => {
      const ts = String(at);
      return headers({
        'webhook-id': id,
        'webhook-timestamp': ts,
        'webhook-signature': signWebhook(SIGNING, id, ts, body),
      });
    };

    it('accepts a valid signature and refuses forged, tampered and stale ones', async () => {
      const cap = captureLogger([SIGNING]);
      const app = testApp(store!, cap.log, { signingToken: SIGNING });
      const body = JSON.stringify(pipelineBody());
      const ok = await app.request('/webhooks/gitlab', { method: 'POST', headers: signed(body), body });
      expect(ok.status).toBe(202);

      const forgedKey = `whsec_${randomBytes(32).toString('base64')}`;
      const id = randomUUID();
      const ts = String(Math.floor(Date.now() / 1000));
      const forged = headers({
        'webhook-id': id,
        'webhook-timestamp': ts,
        'webhook-signature': signWebhook(forgedKey, id, ts, body),
      });
      expect((await app.request('/webhooks/gitlab', { method: 'POST', headers: forged, body })).status).toBe(401);

      const tampered = JSON.stringify(pipelineBody('failed', 99));
      expect(
        (await app.request('/webhooks/gitlab', { method: 'POST', headers: signed(body), body: tampered })).status,
      ).toBe(401);
      const missing = headers();
      expect((await app.request('/webhooks/gitlab', { method: 'POST', headers: missing, body })).status).toBe(401);
      expect(await countDeliveries(store!.db)).toBe(1);
      expect(cap.text()).not.toContain(SIGNING);
    });

    it('refuses a captured delivery replayed after the 5-minute window; a prompt replay is a duplicate', async () => {
      const app = testApp(store!, captureLogger().log, { signingToken: SIGNING });
      const body = JSON.stringify(pipelineBody());
      const h = signed(body);
      expect((await app.request('/webhooks/gitlab', { method: 'POST', headers: h, body })).status).toBe(202);
      const again = await app.request('/webhooks/gitlab', { method: 'POST', headers: h, body });
      expect(((await again.json()) as { status: string }).status).toBe('duplicate');

      const later = testApp(store!, captureLogger().log, { signingToken: SIGNING, nowMs: () => Date.now() + 301_000 });
      expect((await later.request('/webhooks/gitlab', { method: 'POST', headers: h, body })).status).toBe(401);
      const old = signed(body, Math.floor(Date.now() / 1000) - 3600);
      expect((await app.request('/webhooks/gitlab', { method: 'POST', headers: old, body })).status).toBe(401);
      expect(await listJobs(store!.db)).toHaveLength(1);
    });
  });
});

describe('webhook secret and retention', () => {
  it('generates a strong secret once, keeps it in the store, and the banner tells what to configure', async (ctx) => {
    const store = await openTestStore('pglite');
    if (!store) return ctx.skip();
    try {
      const { loadConfig } = await import('../../src/config.js');
      const { resolveWebhookSecret, webhookBanner } = await import('../../src/main.js');
      const config = loadConfig({ DATA_DIR: '/tmp/unused' });
      const first = await resolveWebhookSecret(config, store);
      expect(first.generated).toBe(true);
      expect(first.secret!.length).toBeGreaterThanOrEqual(40);
      const second = await resolveWebhookSecret(config, store);
      expect(second).toMatchObject({ secret: first.secret, generated: false });
      const banner = webhookBanner('http://127.0.0.1:8080', first);
      expect(banner).toContain('http://127.0.0.1:8080/webhooks/gitlab');
      expect(banner).toContain(first.secret!);
      expect(banner).toContain('Pipeline events');
      // a configured secret wins and is never replaced by the stored one
      const own = await resolveWebhookSecret(
        loadConfig({ DATA_DIR: '/tmp/unused', GITLAB_WEBHOOK_SECRET: 'mine' }),
        store,
      );
      expect(own.secret).toBe('mine');
    } finally {
      await store.close();
    }
  });

  it('drops stored payloads after the retention period but keeps the dedupe key', async (ctx) => {
    const store = await openTestStore('pglite');
    if (!store) return ctx.skip();
    try {
      const { purgeExpiredPayloads } = await import('../../src/db/deliveries.js');
      const app = testApp(store, captureLogger().log);
      const h = headers();
      const body = JSON.stringify(pipelineBody());
      await app.request('/webhooks/gitlab', { method: 'POST', headers: h, body });
      expect((await purgeExpiredPayloads(store.db, 30)).payloads).toBe(0);
      await store.db
        .updateTable('webhook_deliveries')
        .set({ received_at: new Date(Date.now() - 31 * 86400_000) })
        .execute();
      expect((await purgeExpiredPayloads(store.db, 30)).payloads).toBe(1);
      const row = await store.db.selectFrom('webhook_deliveries').selectAll().executeTakeFirstOrThrow();
      expect(row.payload).toBeNull();
      const again = await app.request('/webhooks/gitlab', { method: 'POST', headers: h, body });
      expect(((await again.json()) as { status: string }).status).toBe('duplicate');
    } finally {
      await store.close();
    }
  });
});
