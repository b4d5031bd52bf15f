import type { Db } from '../db/database.js';
import { armTrends, type ContextRow, listContexts, recentDecisions, type TrendPoint } from '../db/reportQueries.js';
import type { LearningContext } from '../learning/Chooser.js';
import type { ArmReport, Learner } from '../learning/Learner.js';

/** One stack's learning story: its arms, their daily trend, and the latest decisions with their probabilities. */
export interface StackReport {
  context: ContextRow;
  arms: Array<ArmReport & { trend: Omit<TrendPoint, 'hash'>[] }>;
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

export function learningReports(db: Db, learner: Learner, options: { days?: number } = {}): LearningReports {
  const days = options.days ?? 30;
  const ranked = async (c: LearningContext) =>
    (await learner.arms(c))
      .filter((a) => !a.banned)
      .sort((a, b) => Number(a.broken) - Number(b.broken) || b.expectedReward - a.expectedReward);
  return {
    async contexts(filter = {}) {
      const window = lastDays(days);
      const out: ContextSummary[] = [];
      for (const c of await listContexts(db, filter)) {
        const arms = await ranked(c);
        const best = arms[0] ?? null;
        const trend = best ? (await armTrends(db, c, days)).filter((t) => t.hash === best.hash) : [];
        out.push({
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
          trend: dailyRates(trend, window),
        });
      }
      return out;
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
      const [arms, trends, decisions] = await Promise.all([ranked(c), armTrends(db, c, days), recentDecisions(db, c)]);
      return {
        context: row,
        arms: arms.map((a) => ({
          ...a,
          trend: trends.filter((t) => t.hash === a.hash).map(({ hash: _h, ...t }) => t),
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
