import { sql } from 'kysely';
import { CallBudgetExhausted, type CallLimiter, type CallPermit } from '../gitlab/callBudget.js';
import type { Db } from './database.js';

export interface CallBudgetOptions {
  /** the GitLab instance (its base URL): one bucket each */
  instance: string;
  /** calls per minute the bucket refills; must be > 0 (0 = no limiter is built at all) */
  perMinute: number;
  /** burst: tokens the bucket holds when full; default 10 seconds' worth (at least 1) */
  capacity?: number;
  /** a call waits at most this long for its token; beyond it the job is retried later. Default 10 s */
  maxWaitMs?: number;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
  /** after every take (metrics: remaining budget, seconds waited) */
  onTake?: (permit: CallPermit) => void;
}

const defaultSleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

interface TakeRow {
  tokens: number;
  before: number;
}

/**
 * Takes one token from the instance's bucket in one statement (the row is locked, refilled for the time
 * since its last refill, and decremented unless that would queue the call beyond `maxWaitMs`). Tokens may go
 * negative: the caller then owns a token that the refill brings `-tokens / rate` later, so concurrent
 * callers on any number of processes queue up fairly instead of polling.
 */
export async function takeCallToken(
  db: Db,
  o: { instance: string; perMs: number; capacity: number; maxWaitMs: number; now: number },
): Promise<{ taken: boolean; tokens: number }> {
  const floor = -o.maxWaitMs * o.perMs;
  const take = sql<TakeRow>`
    with cur as (
      select least(${o.capacity}::double precision,
                   tokens + greatest(0, ${o.now}::double precision - updated_ms) * ${o.perMs}::double precision) as t
      from gitlab_call_budget where instance = ${o.instance} for update
    )
    update gitlab_call_budget b
       set tokens = case when cur.t - 1 >= ${floor}::double precision then cur.t - 1 else cur.t end,
           updated_ms = greatest(b.updated_ms, ${o.now}::double precision)
      from cur
     where b.instance = ${o.instance}
    returning b.tokens as tokens, cur.t as before`;
  let row = (await take.execute(db)).rows[0];
  if (!row) {
    // the instance's first call: a full bucket (a racing process may have created it meanwhile)
    await db
      .insertInto('gitlab_call_budget')
      .values({ instance: o.instance, tokens: o.capacity, updated_ms: o.now })
      .onConflict((oc) => oc.column('instance').doNothing())
      .execute();
    row = (await take.execute(db)).rows[0];
    if (!row) return { taken: true, tokens: o.capacity - 1 };
  }
  const tokens = Number(row.tokens);
  const before = Number(row.before);
  return { taken: tokens < before, tokens };
}

/** A 429: the bucket holds `-retryAfterMs × rate` tokens now, so it is back at zero when GitLab said. */
export async function drainCallBudget(
  db: Db,
  o: { instance: string; perMs: number; capacity: number; retryAfterMs: number; now: number },
): Promise<void> {
  const drained = -o.retryAfterMs * o.perMs;
  await db
    .insertInto('gitlab_call_budget')
    .values({ instance: o.instance, tokens: drained, updated_ms: o.now })
    .onConflict((oc) =>
      oc.column('instance').doUpdateSet({
        tokens: sql<number>`least(${drained}::double precision, least(${o.capacity}::double precision,
          gitlab_call_budget.tokens + greatest(0, ${o.now}::double precision - gitlab_call_budget.updated_ms) * ${o.perMs}::double precision))`,
        updated_ms: sql<number>`greatest(gitlab_call_budget.updated_ms, ${o.now}::double precision)`,
      }),
    )
    .execute();
}

/**
 * The limiter every GitLab call goes through (src/gitlab/GitbeakerGitLab.ts), its bucket in the database so
 * that every worker process on one PostgreSQL shares it.
 */
export function createCallBudget(db: Db, options: CallBudgetOptions): CallLimiter {
  if (!(options.perMinute > 0)) throw new Error('createCallBudget: perMinute must be > 0');
  const perMs = options.perMinute / 60_000;
  const capacity = options.capacity ?? Math.max(1, Math.floor(options.perMinute / 6));
  const maxWaitMs = options.maxWaitMs ?? 10_000;
  const now = options.now ?? Date.now;
  const sleep = options.sleep ?? defaultSleep;
  let last: number | null = null;
  return {
    async take() {
      const { taken, tokens } = await takeCallToken(db, {
        instance: options.instance,
        perMs,
        capacity,
        maxWaitMs,
        now: now(),
      });
      last = tokens;
      if (!taken) {
        const retryAfterMs = Math.ceil((1 - tokens) / perMs);
        options.onTake?.({ waitMs: 0, remaining: tokens });
        throw new CallBudgetExhausted(
          `GitLab call budget exhausted (${options.perMinute}/min): retry in ${Math.ceil(retryAfterMs / 1000)} s`,
          retryAfterMs,
        );
      }
      const waitMs = tokens < 0 ? Math.ceil(-tokens / perMs) : 0;
      const permit = { waitMs, remaining: tokens };
      options.onTake?.(permit);
      if (waitMs > 0) await sleep(waitMs);
      return permit;
    },
    async rateLimited(retryAfterMs) {
      if (!(retryAfterMs > 0)) return;
      await drainCallBudget(db, { instance: options.instance, perMs, capacity, retryAfterMs, now: now() });
      last = -retryAfterMs * perMs;
    },
    remaining: () => last,
  };
}
