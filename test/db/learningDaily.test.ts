import { Migrator, sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLearningStore } from '../../src/db/learningStore.js';
import { migrations } from '../../src/db/migrations.js';
import { migrateToLatest, openPGlite, type Store } from '../../src/db/openDatabase.js';
import { allTrends, armTrends, attributionCounts } from '../../src/db/reportQueries.js';
import type { LearningContext } from '../../src/learning/Chooser.js';
import { Learner, type ObservedRun } from '../../src/learning/Learner.js';
import { DEFAULT_LEARNER_OPTIONS } from '../../src/learning/LearnerOptions.js';
import { createRng } from '../../src/learning/Rng.js';
import { openTestStore, storeKinds } from '../support/db.js';

const H = (c: string) => c.repeat(64);
const DAY = 86_400_000;

/** The same figures aggregated from every run, as the queries did before learning_daily existed. */
async function fromRuns(store: Store, c: LearningContext) {
  const r = await sql<{ hash: string; day: string; runs: number; successes: number; mean: number | null; cls: string }>`
    select config_hash as hash, to_char((at at time zone 'UTC')::date, 'YYYY-MM-DD') as day, count(*)::int as runs,
           (count(*) filter (where success))::int as successes, avg(duration_s)::float8 as mean,
           string_agg(coalesce(attribution, case when success then 'works' else 'broken' end), ',' order by pipeline_id) as cls
      from learning_runs
     where tenant = ${c.tenant} and language = ${c.language} and framework = ${c.framework}
     group by 1, 2 order by 2, 1`.execute(store.db);
  const trends = r.rows.map((x) => ({
    hash: x.hash,
    day: x.day,
    runs: Number(x.runs),
    successes: Number(x.successes),
    meanDurationS: x.mean === null ? null : Number(x.mean),
  }));
  const counts = new Map<string, number>();
  for (const x of r.rows)
    for (const cls of x.cls.split(',')) counts.set(`${x.hash} ${cls}`, (counts.get(`${x.hash} ${cls}`) ?? 0) + 1);
  const classes = [...counts.entries()]
    .map(([k, count]) => {
      const [hash, attribution] = k.split(' ') as [string, string];
      return { hash, attribution, count };
    })
    .sort((a, b) => a.hash.localeCompare(b.hash) || a.attribution.localeCompare(b.attribution));
  return { trends, classes };
}

for (const kind of storeKinds) {
  describe(`learning_daily (dashboard trends without scanning runs) on ${kind}`, () => {
    let store: Store | null = null;
    beforeAll(async () => {
      store = await openTestStore(kind);
    });
    afterAll(async () => {
      await store?.close();
    });

    it('agrees with aggregating the runs through inserts, retried pipelines and forget', async (t) => {
      if (!store) return t.skip();
      const c: LearningContext = { tenant: `daily${kind}`, language: 'go', framework: 'generic' };
      const learner = new Learner({
        store: createLearningStore(store.db),
        options: DEFAULT_LEARNER_OPTIONS,
        rng: createRng(3),
      });
      const now = Date.now();
      let pid = 50_000 + (kind === 'pglite' ? 0 : 10_000);
      const runs: ObservedRun[] = [];
      for (let i = 0; i < 40; i++) {
        const run: ObservedRun = {
          ...c,
          projectPath: i % 3 === 0 ? `${c.tenant}/one` : `${c.tenant}/two`,
          pipelineId: ++pid,
          configHash: H(i % 2 ? 'a' : 'b'),
          status: i % 5 === 0 ? 'failed' : 'success',
          durationS: i % 7 === 0 ? null : 60 + i,
          stagesCount: 3,
          failedJobs: [],
          at: new Date(now - (i % 3) * DAY - 3_600_000),
        };
        runs.push(run);
        await learner.observeRun(run);
      }
      // a retried pipeline whose outcome changed, and one that stayed the same
      await learner.observeRun({ ...runs[5]!, status: 'success' });
      await learner.observeRun({ ...runs[6]!, status: 'success' });
      const check = async () => {
        const expected = await fromRuns(store!, c);
        expect(await armTrends(store!.db, c, 60)).toEqual(expected.trends);
        expect(await attributionCounts(store!.db, c, 60)).toEqual(expected.classes);
        const all = (await allTrends(store!.db, 30)).filter((p) => p.tenant === c.tenant);
        expect(all.map(({ tenant, language, framework, ...p }) => p)).toEqual(expected.trends);
        return expected;
      };
      const before = await check();
      expect(before.trends.reduce((s, p) => s + p.runs, 0)).toBe(40);
      expect(before.trends).toHaveLength(6); // two configurations on each of three days

      expect((await learner.forget({ projectPath: `${c.tenant}/one` })).runs).toBe(14);
      const after = await check();
      expect(after.trends.reduce((s, p) => s + p.runs, 0)).toBe(26);
      // only configuration a, on request
      const onlyA = await allTrends(store.db, 30, [H('a')]);
      expect(onlyA.filter((p) => p.tenant === c.tenant).every((p) => p.hash === H('a'))).toBe(true);
      expect(await allTrends(store.db, 30, [])).toEqual([]);
    });
  });
}

describe('migration 0009 on a store with history', () => {
  it('counts the runs recorded before it into learning_daily', async () => {
    const store = await openPGlite('memory://');
    try {
      const migrator = new Migrator({ db: store.db, provider: { getMigrations: async () => migrations } });
      expect((await migrator.migrateTo('0008_gitlab_budget')).error).toBeUndefined();
      const c: LearningContext = { tenant: 'before', language: 'go', framework: 'generic' };
      const learner = new Learner({ store: createLearningStore(store.db), options: DEFAULT_LEARNER_OPTIONS });
      for (let i = 0; i < 12; i++)
        await learner.observeRun({
          ...c,
          projectPath: 'before/app',
          pipelineId: 900 + i,
          configHash: H(i % 3 ? 'c' : 'd'),
          status: i % 4 ? 'success' : 'failed',
          durationS: 100 + i,
          stagesCount: 2,
          failedJobs: [],
          at: new Date(Date.now() - (i % 2) * DAY),
        });
      expect(await migrateToLatest(store.db)).toContain('0009_learning_reads');
      const expected = await fromRuns(store, c);
      expect(await armTrends(store.db, c, 60)).toEqual(expected.trends);
      expect(await attributionCounts(store.db, c, 60)).toEqual(expected.classes);
    } finally {
      await store.close();
    }
  });
});
