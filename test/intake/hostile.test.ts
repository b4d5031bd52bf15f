import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { countDeliveries } from '../../src/db/deliveries.js';
import { listJobs } from '../../src/db/jobQueue.js';
import type { Store } from '../../src/db/openDatabase.js';
import { loadPayload } from '../fakes/gitlabHooks.js';
import { openTestStore, storeKinds } from '../support/db.js';
import { captureLogger, testApp } from './helpers.js';

const SECRET = 'hook-secret-value';

function headers(event = 'Note Hook', uuid = randomUUID()): Record<string, string> {
  return {
    'content-type': 'application/json',
    'x-gitlab-event': event,
    'x-gitlab-token': SECRET,
    'x-gitlab-event-uuid': uuid,
  };
}

/** `depth` levels of `open`…`close` around a value, built as text (JSON.stringify would recurse). */
function nested(open: string, close: string, depth: number, inner = '1'): string {
  return open.repeat(depth) + inner + close.repeat(depth);
}

const MARKER = 'payload-marker-7f3a';

describe.each(storeKinds)('hostile webhook bodies on %s', (kind) => {
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

  const post = async (body: string, event = 'Note Hook') => {
    const cap = captureLogger();
    const app = testApp(store!, cap.log);
    const res = await app.request('/webhooks/gitlab', { method: 'POST', headers: headers(event), body });
    return { res, logs: cap.text(), json: (await res.json()) as Record<string, unknown> };
  };

  it.each([
    ['arrays', '[', ']'],
    ['objects', '{"a":', '}'],
  ])('%s nested 10,000 deep: a clear 400, nothing stored', async (_name, open, close) => {
    const note = loadPayload('note_on_mr');
    const text = JSON.stringify({ ...note, extra: '__DEEP__' }).replace('"__DEEP__"', nested(open, close, 10_000));
    const { res, json } = await post(text);
    expect(res.status).toBe(400);
    expect(String(json.error)).toMatch(/nested deeper than \d+ levels/);
    expect(await countDeliveries(store!.db)).toBe(0);
  });

  it('a huge array is stored (or refused with a 4xx), never a 500', async () => {
    const note = loadPayload('note_on_mr');
    const text = JSON.stringify({ ...note, extra: Array.from({ length: 200_000 }, (_, i) => i) });
    const { res } = await post(text);
    expect(res.status).toBe(202);
    expect(await countDeliveries(store!.db)).toBe(1);
  });

  it('NUL and lone surrogates inside object keys: sanitised and stored, no log line carries the payload', async () => {
    const note = loadPayload('note_on_mr') as Record<string, unknown>;
    const text = JSON.stringify({ ...note, marker: MARKER }).replace(
      '"marker"',
      '"mar\\u0000ker":"x","k\\ud800ey":{"nul\\u0000inside":"v\\u0000al"},"m2"',
    );
    const { res, logs } = await post(text);
    expect(res.status).toBe(202);
    expect(logs).not.toContain(MARKER);
    const row = await store!.db.selectFrom('webhook_deliveries').select('payload').executeTakeFirstOrThrow();
    const stored = row.payload as Record<string, unknown>;
    expect(stored.marker).toBe('x');
    expect(stored.m2).toBe(MARKER);
    expect(stored['k\ufffdey']).toEqual({ nulinside: 'val' });
  });

  it('a "__proto__" key stays a key of the stored payload', async () => {
    const note = loadPayload('note_on_mr') as Record<string, unknown>;
    const text = JSON.stringify({ ...note, marker: 1 }).replace('"marker":1', '"__proto__":{"polluted":"yes"}');
    const { res } = await post(text);
    expect(res.status).toBe(202);
    const row = await store!.db.selectFrom('webhook_deliveries').select('payload').executeTakeFirstOrThrow();
    expect(JSON.stringify(row.payload)).toContain('"__proto__":{"polluted":"yes"}');
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('strings of any Unicode are stored, never a 500', async () => {
    const samples = [
      '\u0000',
      '\ud800',
      '\udfff\ud800',
      '\ud83d\ude00',
      '\u200b\u202e\ufeff',
      '\uffff\ufffe',
      '\u0001\u001f\u007f',
      'e\u0301',
      '𝕳𝖊𝖑𝖑𝖔',
      '\\u0000',
    ];
    const note = loadPayload('note_on_mr') as Record<string, unknown> & { object_attributes: Record<string, unknown> };
    // each a note of its own (a note is deduplicated on its id)
    const noteNo = (n: number) => ({ ...note, object_attributes: { ...note.object_attributes, id: 50_000 + n } });
    for (const [i, s] of samples.entries()) {
      const { res } = await post(JSON.stringify({ ...noteNo(i), [s]: s, extra: { [`k${s}`]: [s, { [s]: s }] } }));
      expect(res.status).toBe(202);
    }
    // every code unit from 0 to 0xffff as one string, escaped the way any JSON encoder may write it
    let all = '';
    for (let c = 0; c <= 0xffff; c++) all += String.fromCharCode(c);
    const escaped = JSON.stringify(all).replace(/[\ud800-\udfff]/g, (ch) => `\\u${ch.charCodeAt(0).toString(16)}`);
    const { res } = await post(JSON.stringify({ ...noteNo(-1), all: '__ALL__' }).replace('"__ALL__"', escaped));
    expect(res.status).toBe(202);
    expect(await countDeliveries(store!.db)).toBe(samples.length + 1);
  });

  it('a note delivered twice under different event ids is one job (deduplicated on project + note id)', async () => {
    const note = JSON.stringify(loadPayload('note_on_mr'));
    const cap = captureLogger();
    const app = testApp(store!, cap.log);
    const first = await app.request('/webhooks/gitlab', { method: 'POST', headers: headers(), body: note });
    const second = await app.request('/webhooks/gitlab', { method: 'POST', headers: headers(), body: note });
    expect(first.status).toBe(202);
    expect(((await second.json()) as { status: string }).status).toBe('duplicate');
    expect(await listJobs(store!.db)).toHaveLength(1);
    // an edit of the same note is another event (ignored by the handler, but not a duplicate of the create)
    const edited = loadPayload('note_on_mr') as { object_attributes: Record<string, unknown> };
    edited.object_attributes.action = 'update';
    const third = await app.request('/webhooks/gitlab', {
      method: 'POST',
      headers: headers(),
      body: JSON.stringify(edited),
    });
    expect(((await third.json()) as { status: string }).status).toBe('accepted');
  });

  it('a finished pipeline missing fields it does not need is still accepted', async () => {
    const hook = loadPayload('pipeline_success') as Record<string, unknown> & {
      builds: Array<Record<string, unknown>>;
      object_attributes: Record<string, unknown>;
    };
    for (const b of hook.builds) {
      delete (b.user as Record<string, unknown> | null)?.username;
      delete b.runner;
      delete b.environment;
      delete b.artifacts_file;
      delete b.created_at;
      delete b.id;
    }
    delete (hook.user as Record<string, unknown>).username;
    delete (hook.commit as Record<string, unknown>).id;
    (hook.merge_request as Record<string, unknown>).source_branch = undefined;
    delete hook.object_attributes.stages;
    hook.object_attributes.variables = [{ key: 'ONLY_A_KEY' }, 'not-an-object'];
    const { res, json } = await post(JSON.stringify(hook), 'Pipeline Hook');
    expect(res.status).toBe(202);
    expect(json.status).toBe('accepted');
    const job = await store!.db.selectFrom('jobs').select('payload').executeTakeFirstOrThrow();
    const snap = (job.payload as { snapshot: { jobs: unknown[]; pipelineId: number } }).snapshot;
    expect(snap.pipelineId).toBe(hook.object_attributes.id);
    expect(snap.jobs).toHaveLength(hook.builds.length);
  });
});
