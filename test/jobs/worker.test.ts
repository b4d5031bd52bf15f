import { sql } from 'kysely';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { claimJob, enqueueJob, listJobs, retryDeadJobs } from '../../src/db/jobQueue.js';
import { openPostgres, type Store } from '../../src/db/openDatabase.js';
import { GitLabError } from '../../src/gitlab/GitLab.js';
import type { IntakeLevel } from '../../src/jobs/intakePressure.js';
import { createWorker, type JobHandlers, retryDelayMs } from '../../src/jobs/Worker.js';
import { captureLogger } from '../intake/helpers.js';
import { createTestDatabase, openTestStore, storeKinds } from '../support/db.js';

const until = async (check: () => Promise<boolean>, what: string, ms = 20_000) => {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
};

function worker(store: Store, handlers: JobHandlers, extra: Partial<Parameters<typeof createWorker>[0]> = {}) {
  return createWorker({
    db: store.db,
    handlers,
    log: captureLogger().log,
    concurrency: 2,
    pollMs: 20,
    leaseMs: 30_000,
    backoffBaseMs: 10,
    backoffMaxMs: 50,
    ...extra,
  });
}

const status = async (store: Store, id: number) => (await listJobs(store.db)).find((j) => j.id === id)!;

describe.each(storeKinds)('job worker on %s', (kind) => {
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
  });

  it('runs a job once and marks it done', async () => {
    const seen: unknown[] = [];
    const { id } = await enqueueJob(store!.db, { kind: 'k', payload: { n: 1 }, maxAttempts: 3 });
    const w = worker(store!, { k: async (p) => void seen.push(p) });
    w.start();
    await until(async () => (await status(store!, id)).status === 'done', 'job done');
    await w.drain();
    expect(seen).toEqual([{ n: 1 }]);
  });

  it('retries with backoff, honours Retry-After, dead-letters after N attempts keeping the last error', async () => {
    let calls = 0;
    const { id } = await enqueueJob(store!.db, { kind: 'flaky', payload: {}, maxAttempts: 3 });
    const w = worker(store!, {
      flaky: async () => {
        calls++;
        throw new GitLabError(`GitLab answered 500 (call ${calls})`, 500);
      },
    });
    w.start();
    await until(async () => (await status(store!, id)).status === 'dead', 'dead letter');
    await w.drain();
    const dead = await status(store!, id);
    expect(calls).toBe(3);
    expect(dead.attempts).toBe(3);
    expect(dead.lastError).toBe('GitLab answered 500 (call 3)');

    expect(await retryDeadJobs(store!.db, [id])).toEqual([id]);
    expect((await status(store!, id)).status).toBe('queued');

    await store!.db.deleteFrom('jobs').execute();
    const limited = await enqueueJob(store!.db, { kind: 'limited', payload: {}, maxAttempts: 5 });
    const w2 = worker(store!, {
      limited: async () => {
        throw new GitLabError('GitLab answered 429', 429, 60_000);
      },
    });
    w2.start();
    await until(
      async () =>
        (await status(store!, limited.id)).attempts === 1 && (await status(store!, limited.id)).status === 'queued',
      'retry scheduled',
    );
    await w2.drain();
    const row = await store!.db
      .selectFrom('jobs')
      .select(['run_at', sql<Date>`now()`.as('now')])
      .executeTakeFirstOrThrow();
    // Retry-After of 60 s wins over the 10 ms backoff
    expect(new Date(row.run_at).getTime() - new Date(row.now).getTime()).toBeGreaterThan(55_000);
  });

  it.each([
    [401, /GITLAB_TOKEN/],
    [403, /access/],
    [404, /not found/],
    [422, /refused/],
  ])('dead-letters at once an error no retry can fix (%i), saying why', async (code, why) => {
    const { id } = await enqueueJob(store!.db, { kind: 'gone', payload: {}, maxAttempts: 5 });
    const w = worker(store!, {
      gone: async () => {
        throw new GitLabError(`GitLab GET /projects/7 answered ${code}`, code);
      },
    });
    w.start();
    await until(async () => (await status(store!, id)).status === 'dead', 'dead letter');
    await w.drain();
    const dead = await status(store!, id);
    expect(dead.attempts).toBe(1);
    expect(dead.lastError).toContain(`answered ${code}`);
    expect(dead.lastError).toMatch(/^permanent: /);
    expect(dead.lastError).toMatch(why);
  });

  it('one job at a time while intake saturates the thread, a few while deliveries arrive, all slots when quiet; the queue drains each way', async () => {
    const peak = async (level: IntakeLevel) => {
      await store!.db.deleteFrom('jobs').execute();
      const ids: number[] = [];
      for (let i = 0; i < 8; i++)
        ids.push((await enqueueJob(store!.db, { kind: 'slow', payload: {}, maxAttempts: 1 })).id);
      let running = 0;
      let most = 0;
      let busyAsked = 0;
      const w = worker(
        store!,
        {
          slow: async () => {
            most = Math.max(most, ++running);
            await new Promise((r) => setTimeout(r, 30));
            running--;
          },
        },
        {
          concurrency: 5,
          arrivingConcurrency: 2,
          intake: () => {
            busyAsked++;
            return level;
          },
        },
      );
      w.start();
      await until(async () => (await listJobs(store!.db)).every((j) => j.status === 'done'), 'all jobs done');
      await w.drain();
      expect(busyAsked).toBeGreaterThan(0);
      return most;
    };
    expect(await peak('saturated')).toBe(1);
    expect(await peak('arriving')).toBe(2);
    expect(await peak('quiet')).toBe(5);
  });

  it('leaves jobs of kinds without a handler queued', async () => {
    const { id } = await enqueueJob(store!.db, { kind: 'note_event', payload: {}, maxAttempts: 3 });
    const done = await enqueueJob(store!.db, { kind: 'k', payload: {}, maxAttempts: 3 });
    const w = worker(store!, { k: async () => {} });
    w.start();
    await until(async () => (await status(store!, done.id)).status === 'done', 'other job');
    await w.drain();
    expect((await status(store!, id)).status).toBe('queued');
  });

  it('reclaims a job whose worker died (lease expired) and runs it to completion', async () => {
    const { id } = await enqueueJob(store!.db, { kind: 'k', payload: {}, maxAttempts: 3 });
    const crashed = await claimJob(store!.db, { workerId: 'dead-worker', kinds: ['k'], leaseMs: 300 });
    expect(crashed?.id).toBe(id);
    let ran = 0;
    const w = worker(store!, { k: async () => void ran++ });
    w.start();
    await until(async () => (await status(store!, id)).status === 'done', 'reclaimed job done');
    await w.drain();
    expect(ran).toBe(1);
    expect((await status(store!, id)).attempts).toBe(2);
  });

  it('drains: running jobs finish, nothing new is claimed', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    let started = 0;
    const a = await enqueueJob(store!.db, { kind: 'slow', payload: {}, maxAttempts: 3 });
    const w = worker(
      store!,
      {
        slow: async () => {
          started++;
          await gate;
        },
      },
      { concurrency: 1 },
    );
    w.start();
    await until(async () => started === 1, 'first job started');
    const b = await enqueueJob(store!.db, { kind: 'slow', payload: {}, maxAttempts: 3 });
    const drained = w.drain();
    let finished = false;
    void drained.then(() => {
      finished = true;
    });
    await new Promise((r) => setTimeout(r, 100));
    expect(finished).toBe(false);
    release();
    await drained;
    expect((await status(store!, a.id)).status).toBe('done');
    expect((await status(store!, b.id)).status).toBe('queued');
    expect(started).toBe(1);
  });
});

describe('several workers on one PostgreSQL', () => {
  it('never run the same job twice (FOR UPDATE SKIP LOCKED)', async (ctx) => {
    const url = await createTestDatabase();
    if (!url) return ctx.skip();
    const { migrateToLatest } = await import('../../src/db/openDatabase.js');
    const stores = [openPostgres(url), openPostgres(url), openPostgres(url)];
    await migrateToLatest(stores[0].db);
    try {
      const n = 120;
      for (let i = 0; i < n; i++) await enqueueJob(stores[0].db, { kind: 'count', payload: { i }, maxAttempts: 3 });
      const runs: number[] = [];
      const workers = stores.map((s) =>
        worker(
          s,
          {
            count: async (p) => {
              runs.push((p as { i: number }).i);
              await new Promise((r) => setTimeout(r, 2));
            },
          },
          { concurrency: 4 },
        ),
      );
      for (const w of workers) w.start();
      await until(async () => (await listJobs(stores[0].db, { status: ['done'] })).length === n, 'all done');
      await Promise.all(workers.map((w) => w.drain()));
      expect(runs).toHaveLength(n);
      expect(new Set(runs).size).toBe(n);
    } finally {
      await Promise.all(stores.map((s) => s.close()));
    }
  });
});

describe('retryDelayMs', () => {
  it('grows exponentially with jitter, capped, and never undercuts Retry-After', () => {
    const o = { backoffBaseMs: 1000, backoffMaxMs: 8000 };
    expect(retryDelayMs(1, new Error('x'), o, () => 1)).toBe(1000);
    expect(retryDelayMs(3, new Error('x'), o, () => 1)).toBe(4000);
    expect(retryDelayMs(3, new Error('x'), o, () => 0)).toBe(2000);
    expect(retryDelayMs(10, new Error('x'), o, () => 1)).toBe(8000);
    expect(retryDelayMs(1, new GitLabError('429', 429, 30_000), o, () => 1)).toBe(30_000);
  });
});
