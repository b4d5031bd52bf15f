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

/** Runs per configuration and day in a context, oldest first. */
export async function armTrends(db: Db, c: LearningContext, days = 60): Promise<TrendPoint[]> {
  const r = await sql<{ hash: string; day: Date; runs: number; successes: number; mean_duration_s: number | null }>`
    select config_hash as hash, date_trunc('day', at) as day, count(*)::int as runs,
           sum(case when success then 1 else 0 end)::int as successes, avg(duration_s)::float8 as mean_duration_s
    from learning_runs
    where tenant = ${c.tenant} and language = ${c.language} and framework = ${c.framework}
      and at >= now() - make_interval(days => ${days})
    group by 1, 2 order by 2, 1`.execute(db);
  return r.rows.map((x) => ({
    hash: x.hash,
    day: new Date(x.day).toISOString().slice(0, 10),
    runs: Number(x.runs),
    successes: Number(x.successes),
    meanDurationS: x.mean_duration_s === null ? null : Number(x.mean_duration_s),
  }));
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
  const r = await sql<{
    tenant: string;
    language: string;
    framework: string;
    hash: string;
    day: Date;
    runs: number;
    successes: number;
    mean_duration_s: number | null;
  }>`
    select tenant, language, framework, config_hash as hash, date_trunc('day', at) as day, count(*)::int as runs,
           sum(case when success then 1 else 0 end)::int as successes, avg(duration_s)::float8 as mean_duration_s
    from learning_runs
    where at >= now() - make_interval(days => ${days})
      and ${hashes ? sql`config_hash in (${sql.join([...new Set(hashes)])})` : sql`true`}
    group by 1, 2, 3, 4, 5 order by 5`.execute(db);
  return r.rows.map((x) => ({
    tenant: x.tenant,
    language: x.language,
    framework: x.framework,
    hash: x.hash,
    day: new Date(x.day).toISOString().slice(0, 10),
    runs: Number(x.runs),
    successes: Number(x.successes),
    meanDurationS: x.mean_duration_s === null ? null : Number(x.mean_duration_s),
  }));
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
  const r = await sql<{ hash: string; attribution: string; count: number }>`
    select config_hash as hash, coalesce(attribution, case when success then 'works' else 'broken' end) as attribution,
           count(*)::int as count
    from learning_runs
    where tenant = ${c.tenant} and language = ${c.language} and framework = ${c.framework}
      and at >= now() - make_interval(days => ${days})
    group by 1, 2 order by 1, 2`.execute(db);
  return r.rows.map((x) => ({ hash: x.hash, attribution: x.attribution, count: Number(x.count) }));
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
