import { sql } from 'kysely';
import type { LearningContext } from '../learning/Chooser.js';
import type { DecisionRecord } from '../learning/DecisionRecord.js';
import type { Db } from './database.js';
import { decisionFromRow } from './learningStore.js';

export interface ContextRow extends LearningContext {
  runs: number;
  lastRunAt: string | null;
}

/**
 * Learning contexts, most runs first (tenant filter optional, case-insensitive as every slug).
 * `lastRunAt` is when the learner last recorded a run of the context (learning_contexts.updated_at):
 * no scan of the run history.
 */
export async function listContexts(db: Db, filter: { tenant?: string; limit?: number } = {}): Promise<ContextRow[]> {
  const r = await sql<{ tenant: string; language: string; framework: string; runs: number; updated_at: Date | null }>`
    select c.tenant, c.language, c.framework, c.runs, c.updated_at
    from learning_contexts c
    where ${filter.tenant ? sql`c.tenant = ${filter.tenant.toLowerCase()}` : sql`true`}
    order by c.runs desc, c.tenant, c.language, c.framework
    limit ${filter.limit ?? 500}`.execute(db);
  return r.rows.map((x) => ({
    tenant: x.tenant,
    language: x.language,
    framework: x.framework,
    runs: Number(x.runs),
    lastRunAt: x.runs > 0 && x.updated_at ? new Date(x.updated_at).toISOString() : null,
  }));
}

export interface TrendPoint {
  hash: string;
  /** start of the day (UTC) */
  day: string;
  runs: number;
  successes: number;
  meanDurationS: number | null;
}

/** learning_daily's counters, one per attribution class, in name order (as the per-run query grouped them). */
const ATTRIBUTION_COLUMNS = ['broken', 'flaky', 'no_evidence', 'partial', 'weak', 'works'] as const;

/** The first UTC day of a window of `days` days ending today: learning_daily keeps whole UTC days. */
const windowStart = (days: number) => sql`(now() at time zone 'UTC')::date - ${days}::int`;

type DailyRow = { hash: string; day: Date | string; runs: number; successes: number; mean_duration_s: number | null };
const dailyColumns = sql`config_hash as hash, day, runs, successes,
  case when duration_n > 0 then duration_sum / duration_n end as mean_duration_s`;
const trendPoint = (x: DailyRow): TrendPoint => ({
  hash: x.hash,
  day: typeof x.day === 'string' ? x.day.slice(0, 10) : new Date(x.day).toISOString().slice(0, 10),
  runs: Number(x.runs),
  successes: Number(x.successes),
  meanDurationS: x.mean_duration_s === null ? null : Number(x.mean_duration_s),
});

/** Runs per configuration and day in a context, oldest first (from the daily aggregate, migration 0009). */
export async function armTrends(db: Db, c: LearningContext, days = 60): Promise<TrendPoint[]> {
  const r = await sql<DailyRow>`
    select ${dailyColumns}
    from learning_daily
    where tenant = ${c.tenant} and language = ${c.language} and framework = ${c.framework}
      and day >= ${windowStart(days)} and runs > 0
    order by day, config_hash`.execute(db);
  return r.rows.map(trendPoint);
}

/** The newest decisions of a context, newest first. */
export async function recentDecisions(db: Db, c: LearningContext, limit = 20): Promise<DecisionRecord[]> {
  const rows = await db
    .selectFrom('learning_decisions')
    .selectAll()
    .where('tenant', '=', c.tenant)
    .where('language', '=', c.language)
    .where('framework', '=', c.framework)
    .orderBy('at', 'desc')
    .orderBy('id', 'desc')
    .limit(limit)
    .execute();
  return rows.map(decisionFromRow);
}

export interface ContextTrendPoint extends TrendPoint, LearningContext {}

/**
 * Runs per context, configuration and day over the last `days`, for every context in ONE query
 * (the dashboard's index draws every stack's sparkline from it), oldest first; only of the given
 * configurations when `hashes` is given.
 */
export async function allTrends(db: Db, days = 30, hashes?: string[]): Promise<ContextTrendPoint[]> {
  if (hashes && hashes.length === 0) return [];
  const r = await sql<DailyRow & LearningContext>`
    select tenant, language, framework, ${dailyColumns}
    from learning_daily
    where day >= ${windowStart(days)} and runs > 0
      and ${hashes ? sql`config_hash in (${sql.join([...new Set(hashes)])})` : sql`true`}
    order by day, config_hash`.execute(db);
  return r.rows.map((x) => ({ tenant: x.tenant, language: x.language, framework: x.framework, ...trendPoint(x) }));
}

/**
 * Runs per configuration and failure attribution class in a context over the last `days` (runs
 * recorded before attribution existed count as green = works, red = broken).
 */
export async function attributionCounts(
  db: Db,
  c: LearningContext,
  days = 60,
): Promise<Array<{ hash: string; attribution: string; count: number }>> {
  const r = await sql<{ hash: string } & Record<(typeof ATTRIBUTION_COLUMNS)[number], number>>`
    select config_hash as hash, ${sql.join(ATTRIBUTION_COLUMNS.map((k) => sql`sum(${sql.ref(k)})::int as ${sql.ref(k)}`))}
    from learning_daily
    where tenant = ${c.tenant} and language = ${c.language} and framework = ${c.framework}
      and day >= ${windowStart(days)}
    group by 1 order by 1`.execute(db);
  return r.rows.flatMap((x) =>
    ATTRIBUTION_COLUMNS.filter((k) => Number(x[k]) > 0).map((k) => ({
      hash: x.hash,
      attribution: k,
      count: Number(x[k]),
    })),
  );
}

/** Webhook deliveries per hour and event over the last `hours`, oldest first. */
export async function intakeByHour(db: Db, hours = 24): Promise<Array<{ hour: string; event: string; count: number }>> {
  const r = await sql<{ hour: Date; event: string; count: number }>`
    select date_trunc('hour', received_at) as hour, event, count(*)::int as count
    from webhook_deliveries
    where received_at >= now() - make_interval(hours => ${hours})
    group by 1, 2 order by 1, 2`.execute(db);
  return r.rows.map((x) => ({ hour: new Date(x.hour).toISOString(), event: x.event, count: Number(x.count) }));
}
