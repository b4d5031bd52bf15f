import type { Db } from '../db/database.js';
import { getArmsOfTopContexts } from '../db/learningStore.js';
import {
  allTrends,
  armTrends,
  attributionCounts,
  type ContextRow,
  intakeByHour,
  listContexts,
  recentDecisions,
  type TrendPoint,
} from '../db/reportQueries.js';
import type { LearningContext } from '../learning/Chooser.js';
import type { ArmReport, Learner } from '../learning/Learner.js';
import type { MetricsSource, ServiceMetrics } from './ServiceMetrics.js';
import { staleWhileRevalidate } from './staleWhileRevalidate.js';

/** One stack's learning story: its arms, their daily trend, and the latest decisions with their probabilities. */
export interface StackReport {
  context: ContextRow;
  arms: Array<
    ArmReport & {
      trend: Omit<TrendPoint, 'hash'>[];
      /** runs by failure attribution class over the report's window */
      attribution: Record<string, number>;
    }
  >;
  /** the report's window: the days the trends cover, oldest first */
  days: string[];
  decisions: Array<{
    id: string;
    at: string;
    policy: string;
    kind: string;
    chosen: string;
    propensity: number;
    /** every eligible arm's probability, largest first */
    probabilities: Array<{ hash: string; source: string; probability: number }>;
    reward: number | null;
  }>;
}

export interface ContextSummary extends ContextRow {
  arms: number;
  best: Pick<ArmReport, 'hash' | 'source' | 'mean' | 'low' | 'high' | 'runs'> | null;
  /** the best arm's daily success rate, oldest first (null on a day without runs) */
  trend: Array<number | null>;
}

/** Read-only views for `pipeline-learner report` and the dashboard; one implementation, two front ends. */
export interface LearningReports {
  contexts(filter?: { tenant?: string }): Promise<ContextSummary[]>;
  stack(context: LearningContext): Promise<StackReport | null>;
}

function dailyRates(points: Omit<TrendPoint, 'hash'>[], days: string[]): Array<number | null> {
  const byDay = new Map(points.map((p) => [p.day, p]));
  return days.map((d) => {
    const p = byDay.get(d);
    return p && p.runs > 0 ? p.successes / p.runs : null;
  });
}

function lastDays(n: number, now = new Date()): string[] {
  return Array.from({ length: n }, (_, i) =>
    new Date(now.getTime() - (n - 1 - i) * 86_400_000).toISOString().slice(0, 10),
  );
}

/**
 * `maxAgeMs`: the every-stack list is kept that long and then refreshed in the background (a caller
 * gets the previous list meanwhile); 0 reads on every call.
 */
export function learningReports(
  db: Db,
  learner: Learner,
  options: { days?: number; maxAgeMs?: number } = {},
): LearningReports {
  const days = options.days ?? 30;
  const maxAgeMs = options.maxAgeMs ?? 0;
  const indexCache = new Map<string, () => Promise<ContextSummary[]>>();
  // every stack: its arms ranked from ONE query of all contexts' evidence, then the best arms' trends
  const readContexts = async (filter: { tenant?: string }): Promise<ContextSummary[]> => {
    const window = lastDays(days);
    const [rows, armsOf, bans] = await Promise.all([
      listContexts(db, filter),
      getArmsOfTopContexts(db, { limit: 500, tenant: filter.tenant }),
      learner.bans(),
    ]);
    const banned = bans.map((b) => b.hash);
    const ctxKey = (c: LearningContext) => `${c.tenant}\u0000${c.language}\u0000${c.framework}`;
    const evidence = new Map(armsOf.map((c) => [ctxKey(c), c]));
    const rankedRows = rows.map((c) => {
      const stored = evidence.get(ctxKey(c));
      const arms = stored
        ? learner
            .rank(
              stored.arms.map((arm) => ({ arm, contextRuns: stored.contextRuns })),
              banned,
            )
            .filter((a) => !a.banned)
            .sort((a, b) => Number(a.broken) - Number(b.broken) || b.expectedReward - a.expectedReward)
        : [];
      return { c, arms };
    });
    const bestHashes = rankedRows.flatMap((r) => (r.arms[0] ? [r.arms[0].hash] : []));
    const trends = await allTrends(db, days, bestHashes);
    const byArm = new Map<string, TrendPoint[]>();
    for (const t of trends) {
      const k = `${ctxKey(t)}\u0000${t.hash}`;
      const list = byArm.get(k) ?? [];
      list.push(t);
      byArm.set(k, list);
    }
    return rankedRows.map(({ c, arms }) => {
      const best = arms[0] ?? null;
      return {
        ...c,
        arms: arms.length,
        best: best && {
          hash: best.hash,
          source: best.source,
          mean: best.mean,
          low: best.low,
          high: best.high,
          runs: best.runs,
        },
        trend: best ? dailyRates(byArm.get(`${ctxKey(c)}\u0000${best.hash}`) ?? [], window) : dailyRates([], window),
      };
    });
  };
  const ranked = async (c: LearningContext, evidence = true) =>
    (await learner.arms(c, { evidence }))
      .filter((a) => !a.banned)
      .sort((a, b) => Number(a.broken) - Number(b.broken) || b.expectedReward - a.expectedReward);
  return {
    async contexts(filter = {}) {
      const key = filter.tenant?.toLowerCase() ?? '';
      let cached = indexCache.get(key);
      if (!cached) {
        cached = staleWhileRevalidate(() => readContexts(filter), maxAgeMs);
        indexCache.set(key, cached);
      }
      return cached();
    },
    async stack(raw) {
      const c = {
        tenant: raw.tenant.toLowerCase(),
        language: raw.language.toLowerCase(),
        framework: raw.framework.toLowerCase(),
      };
      const row = (await listContexts(db, { tenant: c.tenant, limit: 10_000 })).find(
        (x) => x.language === c.language && x.framework === c.framework,
      );
      if (!row) return null;
      const [arms, trends, decisions, attribution] = await Promise.all([
        ranked(c),
        armTrends(db, c, days),
        recentDecisions(db, c),
        attributionCounts(db, c, days),
      ]);
      return {
        context: row,
        days: lastDays(days),
        arms: arms.map((a) => ({
          ...a,
          trend: trends.filter((t) => t.hash === a.hash).map(({ hash: _h, ...t }) => t),
          attribution: Object.fromEntries(
            attribution.filter((x) => x.hash === a.hash).map((x) => [x.attribution, x.count]),
          ),
        })),
        decisions: decisions.map((d) => ({
          id: d.id,
          at: d.at,
          policy: d.policy,
          kind: d.kind,
          chosen: d.chosenHash,
          propensity: d.propensity,
          probabilities: d.arms
            .map((a, i) => ({ hash: a.hash, source: a.source, probability: d.probabilities[i] ?? 0 }))
            .sort((a, b) => b.probability - a.probability),
          reward: d.reward ? d.reward.reward : null,
        })),
      };
    },
  };
}

/** The service page: intake, acknowledgement latency, queue, GitLab calls and budget, errors. */
export interface ServiceReport {
  /** deliveries per hour over the last 24 hours (all processes: read from the database) */
  intake: Array<{ hour: string; count: number }>;
  intakeByEvent: Record<string, number>;
  /** webhook answers in this process, by outcome, with acknowledgement quantiles (seconds, from the histogram) */
  deliveries: Array<{ outcome: string; count: number; p50: number | null; p99: number | null }>;
  queue: Array<{ kind: string; status: string; count: number; oldestAgeS: number | null }>;
  /** GitLab calls in this process by operation and status; waits GitLab asked for (429) */
  gitlab: Array<{ endpoint: string; status: string; count: number }>;
  gitlabRetryAfterS: number;
  /** job failures in this process by kind and reason */
  jobFailures: Array<{ kind: string; reason: string; count: number }>;
  deadLetters: number;
}

type Sample = { labels: Record<string, string | number>; value: number; metricName?: string };

/** A quantile from cumulative histogram buckets (linear within a bucket, as PromQL's histogram_quantile). */
function quantile(buckets: Array<{ le: number; count: number }>, q: number): number | null {
  const total = buckets.at(-1)?.count ?? 0;
  if (total === 0) return null;
  const rank = q * total;
  let prevLe = 0;
  let prevCount = 0;
  for (const b of buckets) {
    if (b.count >= rank) {
      if (!Number.isFinite(b.le)) return prevLe;
      const inBucket = b.count - prevCount;
      return inBucket === 0 ? b.le : prevLe + ((b.le - prevLe) * (rank - prevCount)) / inBucket;
    }
    prevLe = b.le;
    prevCount = b.count;
  }
  return prevLe;
}

export async function serviceReport(db: Db, source: MetricsSource, metrics: ServiceMetrics): Promise<ServiceReport> {
  const [hours, queue, ack, deliveries, gitlab, retry, failures] = await Promise.all([
    intakeByHour(db, 24),
    source.queue(),
    metrics.ackSeconds.get(),
    metrics.deliveries.get(),
    metrics.gitlabCalls.get(),
    metrics.gitlabRetryAfterSeconds.get(),
    metrics.jobFailures.get(),
  ]);
  const perHour = new Map<string, number>();
  const byEvent: Record<string, number> = {};
  for (const h of hours) {
    perHour.set(h.hour, (perHour.get(h.hour) ?? 0) + h.count);
    byEvent[h.event] = (byEvent[h.event] ?? 0) + h.count;
  }
  const now = Date.now();
  const intake = Array.from({ length: 24 }, (_, i) => {
    const hour = new Date(Math.floor(now / 3_600_000) * 3_600_000 - (23 - i) * 3_600_000).toISOString();
    return { hour, count: perHour.get(hour) ?? 0 };
  });
  const bucketsByOutcome = new Map<string, Array<{ le: number; count: number }>>();
  for (const v of ack.values as Sample[]) {
    if (v.metricName !== 'pipeline_learner_webhook_ack_seconds_bucket') continue;
    const outcome = String(v.labels.outcome);
    const le = v.labels.le === '+Inf' ? Number.POSITIVE_INFINITY : Number(v.labels.le);
    const list = bucketsByOutcome.get(outcome) ?? [];
    list.push({ le, count: v.value });
    bucketsByOutcome.set(outcome, list);
  }
  const counted = new Map<string, number>();
  for (const v of deliveries.values as Sample[]) {
    const o = String(v.labels.outcome);
    counted.set(o, (counted.get(o) ?? 0) + v.value);
  }
  return {
    intake,
    intakeByEvent: byEvent,
    deliveries: [...counted].map(([outcome, count]) => {
      const b = (bucketsByOutcome.get(outcome) ?? []).sort((x, y) => x.le - y.le);
      return { outcome, count, p50: quantile(b, 0.5), p99: quantile(b, 0.99) };
    }),
    queue,
    gitlab: (gitlab.values as Sample[]).map((v) => ({
      endpoint: String(v.labels.endpoint),
      status: String(v.labels.status),
      count: v.value,
    })),
    gitlabRetryAfterS: (retry.values as Sample[]).reduce((s, v) => s + v.value, 0),
    jobFailures: (failures.values as Sample[]).map((v) => ({
      kind: String(v.labels.kind),
      reason: String(v.labels.reason),
      count: v.value,
    })),
    deadLetters: queue.filter((q) => q.status === 'dead').reduce((s, q) => s + q.count, 0),
  };
}
