import { randomUUID } from 'node:crypto';
import { appendFileSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DeliveryInput } from '../../src/db/deliveries.js';
import { openPostgres, type Store } from '../../src/db/openDatabase.js';
import { openDeliverySpool } from '../../src/http/deliverySpool.js';
import { createIntakeBatcher, IntakeUnavailableError } from '../../src/http/intakeBatcher.js';
import { loadPayload } from '../fakes/gitlabHooks.js';
import { openTestStore } from '../support/db.js';
import { captureLogger, testApp } from './helpers.js';

const input = (n: number, key = `k-${n}`): DeliveryInput => ({
  dedupeKey: key,
  event: 'Note Hook',
  projectId: 1,
  payload: { n },
  job: { kind: 'note_event', payload: { n }, maxAttempts: 3 },
});

/** A database nobody listens on: every statement fails as during an outage. */
const unreachable = () => openPostgres('postgres://nobody:x@127.0.0.1:9/none', 1);

describe('delivery spool', () => {
  let store: Store;
  const dirs: string[] = [];
  const tmp = () => {
    const d = mkdtempSync(join(tmpdir(), 'pl-spool-unit-'));
    dirs.push(d);
    return d;
  };
  beforeAll(async () => {
    store = (await openTestStore('pglite'))!;
  });
  afterAll(async () => {
    await store.close();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it('while the database is down: 202 spooled; a new intake on a working database replays in order, once', async () => {
    const dir = tmp();
    const down = unreachable();
    const log = captureLogger().log;
    const spool = openDeliverySpool(dir, log);
    const intake = createIntakeBatcher(down.db, { spool, log, writeTimeoutMs: 2000 });
    const results = [];
    for (let i = 1; i <= 5; i++) results.push(await intake.accept(input(i)));
    results.push(await intake.accept(input(6, 'k-2'))); // a redelivery of 2
    expect(results.every((r) => 'spooled' in r)).toBe(true);
    intake.close();
    await spool.close();
    await down.close();
    expect(readdirSync(dir).some((f) => f.endsWith('.jsonl'))).toBe(true);
    // a crash in the middle of an append leaves a cut line: never acknowledged, skipped
    const segment = readdirSync(dir).find((f) => f.endsWith('.jsonl'))!;
    appendFileSync(join(dir, segment), '{"dedupeKey":"cut-sh');

    const again = openDeliverySpool(dir, log);
    expect(again.pending()).toBe(true);
    let replayed = 0;
    const up = createIntakeBatcher(store.db, { spool: again, log, onReplayed: () => replayed++ });
    const until = Date.now() + 20_000;
    while (again.pending() && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
    expect(again.pending()).toBe(false);
    expect(replayed).toBeGreaterThan(0);
    const rows = await store.db.selectFrom('webhook_deliveries').select(['id', 'dedupe_key']).orderBy('id').execute();
    expect(rows.map((r) => r.dedupe_key)).toEqual(['k-1', 'k-2', 'k-3', 'k-4', 'k-5']);
    expect(readdirSync(dir).filter((f) => f.endsWith('.jsonl'))).toEqual([]);
    // with the spool empty, deliveries go straight to the database again
    const direct = await up.accept(input(7));
    expect('spooled' in direct).toBe(false);
    up.close();
    await again.close();
  });

  it('503 with Retry-After only when the spool cannot be written either', async () => {
    const down = unreachable();
    const cap = captureLogger();
    const dir = tmp();
    const spool = openDeliverySpool(dir, cap.log);
    rmSync(dir, { recursive: true, force: true }); // the disk went away
    const intake = createIntakeBatcher(down.db, { spool, log: cap.log, writeTimeoutMs: 2000 });
    const app = testApp(store, cap.log, { intake });
    const res = await app.request('/webhooks/gitlab', {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-gitlab-event': 'Note Hook',
        'x-gitlab-token': 'hook-secret-value',
        'x-gitlab-event-uuid': randomUUID(),
      },
      body: JSON.stringify(loadPayload('note_on_mr')),
    });
    expect(res.status).toBe(503);
    expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(cap.text()).not.toContain('ci-bot lint'); // the note's text: no payload in any log line
    intake.close();
    await down.close();

    const gone = unreachable();
    const bare = createIntakeBatcher(gone.db, { spool: null, writeTimeoutMs: 2000 });
    await expect(bare.accept(input(1))).rejects.toBeInstanceOf(IntakeUnavailableError);
    await gone.close();
  });
});
