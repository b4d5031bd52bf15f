import { sql } from 'kysely';
import type { Learner } from '../learning/Learner.js';
import type { MetricsSource, TopArm } from '../metrics/ServiceMetrics.js';
import type { Db } from './database.js';
import { getArmsOfTopContexts, listBans } from './learningStore.js';

/**
 * Scrape-time figures from the database. The top arms are the learner's posteriors (its `rank`,
 * no I/O) over the arms of the top contexts, read in one query.
 */
export function metricsSource(db: Db, learner: Pick<Learner, 'rank'>): MetricsSource {
  return {
    async queue() {
      const r = await sql<{ kind: string; status: string; count: number; oldest_age_s: number | null }>`
        select kind, status, count(*)::int as count,
               extract(epoch from now() - min(created_at))::float8 as oldest_age_s
        from jobs group by kind, status`.execute(db);
      return r.rows.map((x) => ({
        kind: x.kind,
        status: x.status,
        count: Number(x.count),
        oldestAgeS: x.oldest_age_s === null ? null : Number(x.oldest_age_s),
      }));
    },
    async decisions() {
      const r = await sql<{ policy: string; source: string; kind: string; count: number }>`
        select d.policy, coalesce(a.source, 'unknown') as source, d.kind, count(*)::int as count
        from learning_decisions d
        left join learning_arms a
          on a.tenant = d.tenant and a.language = d.language and a.framework = d.framework and a.hash = d.chosen_hash
        group by 1, 2, 3`.execute(db);
      return r.rows.map((x) => ({ ...x, count: Number(x.count) }));
    },
    async rewards() {
      // runs recorded before attribution existed count as the v1 reading: green works, red broken
      const r = await sql<{ attribution: string; count: number }>`
        select coalesce(attribution, case when success then 'works' else 'broken' end) as attribution,
               count(*)::int as count
        from learning_runs group by 1`.execute(db);
      return r.rows.map((x) => ({ attribution: x.attribution, count: Number(x.count) }));
    },
    async topArms(limit) {
      const [contexts, bans] = await Promise.all([getArmsOfTopContexts(db, { limit }), listBans(db)]);
      const banned = bans.map((b) => b.hash);
      const out: TopArm[] = [];
      for (const c of contexts) {
        const best = learner
          .rank(
            c.arms.map((arm) => ({ arm, contextRuns: c.contextRuns })),
            banned,
          )
          .find((a) => !a.banned && !a.broken);
        if (best)
          out.push({
            tenant: c.tenant,
            language: c.language,
            framework: c.framework,
            hash: best.hash,
            source: best.source,
            mean: best.mean,
            low: best.low,
            high: best.high,
            runs: best.runs,
          });
      }
      return out;
    },
  };
}
