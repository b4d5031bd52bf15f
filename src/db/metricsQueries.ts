import { sql } from 'kysely';
import type { LearningContext } from '../learning/Chooser.js';
import type { MetricsSource, TopArm } from '../metrics/ServiceMetrics.js';
import type { Db } from './database.js';

/**
 * Scrape-time figures from the database. The top arms need the learner's posteriors, so the
 * caller supplies `bestArm` for a context (the composition root passes the learner's ranking).
 */
export function metricsSource(
  db: Db,
  bestArm: (context: LearningContext) => Promise<Omit<TopArm, keyof LearningContext> | null>,
): MetricsSource {
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
      const contexts = await db
        .selectFrom('learning_contexts')
        .select(['tenant', 'language', 'framework'])
        .orderBy('runs', 'desc')
        .orderBy('tenant')
        .orderBy('language')
        .orderBy('framework')
        .limit(limit)
        .execute();
      const out: TopArm[] = [];
      for (const c of contexts) {
        const best = await bestArm(c);
        if (best) out.push({ ...c, ...best });
      }
      return out;
    },
  };
}
