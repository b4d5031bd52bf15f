import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLearningStore } from '../../src/db/learningStore.js';
import type { Store } from '../../src/db/openDatabase.js';
import { armStats } from '../../src/learning/ArmStats.js';
import type { ArmCandidate, LearningContext } from '../../src/learning/Chooser.js';
import { Learner, type ObservedRun } from '../../src/learning/Learner.js';
import { DEFAULT_LEARNER_OPTIONS, type LearnerOptions } from '../../src/learning/LearnerOptions.js';
import { createRng } from '../../src/learning/Rng.js';
import { openTestStore, storeKinds } from '../support/db.js';

const H = (c: string) => c.repeat(64).slice(0, 64);
const A = H('a');
const B = H('b');
const C = H('c');
const opts: LearnerOptions = { ...DEFAULT_LEARNER_OPTIONS, halfLifeRuns: 20 };

const cand = (hash: string, source: ArmCandidate['source'] = 'template'): ArmCandidate => ({
  hash,
  source,
  config: `# ${hash.slice(0, 4)}\n`,
  label: `test ${hash.slice(0, 4)}`,
});

let pid = 1000;
const run = (over: Partial<ObservedRun> = {}): ObservedRun => ({
  tenant: 'acme',
  language: 'go',
  framework: 'generic',
  projectPath: 'acme/app',
  pipelineId: ++pid,
  configHash: A,
  status: 'success',
  durationS: 300,
  stagesCount: 4,
  failedJobs: [],
  at: new Date('2026-01-01T00:00:00Z'),
  ...over,
});

for (const kind of storeKinds) {
  describe(`learner on ${kind}`, () => {
    let store: Store | null = null;
    let n = 0;
    // every test gets its own tenant, so tests do not see each other's evidence
    const ctx = (): LearningContext => ({ tenant: `t${kind}${++n}`, language: 'go', framework: 'generic' });
    const learner = (o: Partial<LearnerOptions> = {}, seed = 7) =>
      new Learner({ store: createLearningStore(store!.db), options: { ...opts, ...o }, rng: createRng(seed) });

    beforeAll(async () => {
      store = await openTestStore(kind);
    });
    afterAll(async () => {
      await store?.close();
    });

    it('logs every decision with the full probability vector', async (t) => {
      if (!store) return t.skip();
      const c = ctx();
      const l = learner();
      const choice = await l.choose(c, [cand(A), cand(B), cand(C, 'llm')]);
      expect(choice.decisionId).toBeTruthy();
      expect(choice.policy).toBe('thompson');
      expect(choice.confidence!.low).toBeLessThan(choice.confidence!.mean);
      const d = (await l.decisions({ tenant: c.tenant }))[0];
      expect(d.id).toBe(choice.decisionId);
      expect(d.arms.map((a) => a.hash)).toEqual([A, B, C]);
      expect(d.probabilities.reduce((s, p) => s + p, 0)).toBeCloseTo(1, 9);
      expect(d.propensity).toBe(d.probabilities[d.arms.findIndex((a) => a.hash === d.chosenHash)]);
      // the cautious llm prior makes that arm the least likely
      expect(d.probabilities[2]).toBeLessThan(d.probabilities[0]);
      const forced = await l.choose(c, [cand(A), cand(B)], { forcedHash: B.slice(0, 12) });
      expect(forced).toMatchObject({ kind: 'forced', probability: 1 });
      expect(forced.arm.hash).toBe(B);
    });

    it('is idempotent per pipeline, corrects a retried pipeline and ignores canceled ones', async (t) => {
      if (!store) return t.skip();
      const c = ctx();
      const l = learner();
      const first = run({
        ...c,
        status: 'failed',
        failedJobs: [{ name: 'test', stage: 'test', failure_reason: 'script_failure', allow_failure: false }],
      });
      expect(await l.observeRun(first)).toBe('added');
      expect(await l.observeRun(first)).toBe('unchanged');
      expect(await l.observeRun({ ...first, status: 'success', failedJobs: [] })).toBe('corrected');
      let [arm] = await l.arms(c);
      expect(arm).toMatchObject({ hash: A, runs: 1, successes: 1, source: 'learned' });
      expect(await l.failureStats({ tenant: c.tenant })).toEqual([]);
      expect(await l.observeRun(run({ ...c, status: 'canceled' }))).toBe('ignored');
      expect(await l.observeRun({ ...first, status: 'canceled' })).toBe('removed');
      [arm] = await l.arms(c);
      expect(arm.runs).toBe(0);
    });

    it('counts a pipeline once when the same outcome arrives concurrently', async (t) => {
      if (!store) return t.skip();
      const c = ctx();
      const l = learner();
      const r = run({ ...c });
      const effects = await Promise.all([l.observeRun(r), l.observeRun(r), l.observeRun(r)]);
      expect(effects.filter((e) => e === 'added')).toHaveLength(1);
      expect((await l.arms(c))[0].runs).toBe(1);
    });

    it('applies the pipelines of a context that finish together in one transaction, as one at a time would', async (t) => {
      if (!store) return t.skip();
      // one scripted sequence: new runs on three configurations, a duplicate, retries turning red into
      // green and back, a canceled run, failed jobs, and a decision rewarded by one of the pipelines
      const rng = createRng(11);
      const script: Array<Omit<ObservedRun, 'tenant' | 'language' | 'framework'> & { key: number }> = [];
      for (let i = 0; i < 40; i++) {
        const earlier = script.length && rng.next() < 0.3 ? script[Math.floor(rng.next() * script.length)] : null;
        const r = run({
          configHash: [A, B, C][Math.floor(rng.next() * 3)],
          status: rng.next() < 0.65 ? 'success' : 'failed',
          durationS: 60 + i,
        });
        const failedJobs = [
          { name: `job${i % 3}`, stage: 'test', failure_reason: 'script_failure', allow_failure: false },
        ];
        const step = earlier
          ? { ...earlier, status: i % 7 === 0 ? 'canceled' : earlier.status === 'success' ? 'failed' : 'success' }
          : { ...r, key: i };
        script.push({ ...step, failedJobs: step.status === 'failed' ? failedJobs : [] } as (typeof script)[number]);
      }
      const outcome = async (concurrent: boolean, offset: number) => {
        const c = ctx();
        let transactions = 0;
        const base = createLearningStore(store!.db);
        const counting = {
          ...base,
          transaction: <T>(fn: Parameters<typeof base.transaction<T>>[0]) => {
            transactions++;
            return base.transaction(fn);
          },
        };
        const l = new Learner({ store: counting, options: opts, rng: createRng(7) });
        const choice = await l.choose(c, [cand(A), cand(B), cand(C)]);
        await l.attachReward(choice.decisionId!, script[3]!.pipelineId + offset);
        transactions = 0;
        const inputs = script.map((s) => ({ ...s, ...c, pipelineId: s.pipelineId + offset }));
        const effects: string[] = [];
        if (concurrent) effects.push(...(await Promise.all(inputs.map((r) => l.observeRun(r)))));
        else for (const r of inputs) effects.push(await l.observeRun(r));
        const arms = (await l.arms(c)).sort((x, y) => x.hash.localeCompare(y.hash));
        const failures = await l.failureStats({ tenant: c.tenant });
        const [decision] = await l.decisions({ tenant: c.tenant });
        return { effects, arms, failures, reward: decision!.reward, transactions };
      };
      const one = await outcome(false, 0);
      const grouped = await outcome(true, 500_000);
      expect(one.transactions).toBe(40);
      // the first pipeline starts a transaction at once, the other 39 wait for it and go together
      expect(grouped.transactions).toBe(2);
      expect(grouped.effects).toEqual(one.effects);
      expect(new Set(one.effects)).toEqual(new Set(['added', 'corrected', 'removed']));
      expect(grouped.arms.map((a) => [a.hash, a.runs, a.successes])).toEqual(
        one.arms.map((a) => [a.hash, a.runs, a.successes]),
      );
      for (const [i, a] of grouped.arms.entries()) {
        expect(a.mean).toBeCloseTo(one.arms[i]!.mean, 12);
        expect(a.effectiveRuns).toBeCloseTo(one.arms[i]!.effectiveRuns, 12);
      }
      expect(grouped.failures).toEqual(one.failures);
      expect(grouped.reward).toEqual(one.reward);
    });

    it('a pipeline the store refuses fails alone; the others of its group are recorded', async (t) => {
      if (!store) return t.skip();
      const c = ctx();
      const l = learner();
      // a failed job without a stage breaks a NOT NULL constraint of the store, inside the group's transaction
      const bad = run({
        ...c,
        status: 'failed',
        failedJobs: [{ name: 'x', stage: null as unknown as string, failure_reason: null, allow_failure: false }],
      });
      const good = [run({ ...c }), run({ ...c }), run({ ...c, status: 'failed' })];
      const settled = await Promise.allSettled([
        l.observeRun(good[0]!),
        l.observeRun(bad),
        ...good.slice(1).map((r) => l.observeRun(r)),
      ]);
      expect(settled.map((s) => s.status)).toEqual(['fulfilled', 'rejected', 'fulfilled', 'fulfilled']);
      const [arm] = await l.arms(c);
      expect(arm).toMatchObject({ hash: A, runs: 3, successes: 2 });
      expect(await l.recordedRun(bad.pipelineId)).toBeNull();
    });

    it('keeps job-level failure statistics', async (t) => {
      if (!store) return t.skip();
      const c = ctx();
      const l = learner();
      const job = { name: 'build', stage: 'build', failure_reason: 'script_failure', allow_failure: false };
      await l.observeRun(run({ ...c, status: 'failed', failedJobs: [job] }));
      await l.observeRun(run({ ...c, status: 'failed', failedJobs: [job, { ...job, name: 'lint', stage: 'test' }] }));
      const stats = await l.failureStats({ tenant: c.tenant, configHash: A });
      expect(stats[0]).toMatchObject({ stage: 'build', jobName: 'build', failureReason: 'script_failure', count: 2 });
      expect(stats).toHaveLength(2);
    });

    it('replaying the stored history rebuilds the same posteriors', async (t) => {
      if (!store) return t.skip();
      const c = ctx();
      const l = learner();
      const rng = createRng(3);
      const retried: ObservedRun[] = [];
      for (let i = 0; i < 60; i++) {
        const hash = [A, B, C][Math.floor(rng.next() * 3)];
        const r = run({ ...c, configHash: hash, status: rng.next() < 0.7 ? 'success' : 'failed', durationS: 100 + i });
        await l.observeRun(r);
        if (i % 9 === 0) retried.push(r);
      }
      const choice = await l.choose(c, [cand(A), cand(B), cand(C)]);
      await l.feedback({ decisionId: choice.decisionId!, userId: 'u1', kind: 'rating', value: 5 });
      for (const r of retried) await l.observeRun({ ...r, status: r.status === 'success' ? 'failed' : 'success' });
      const live = (await l.arms(c)).sort((x, y) => x.hash.localeCompare(y.hash));
      await l.rebuild(c);
      const replayed = (await l.arms(c)).sort((x, y) => x.hash.localeCompare(y.hash));
      expect(replayed.map((a) => a.hash)).toEqual(live.map((a) => a.hash));
      for (let i = 0; i < live.length; i++) {
        expect(replayed[i].mean).toBeCloseTo(live[i].mean, 9);
        expect(replayed[i].effectiveRuns).toBeCloseTo(live[i].effectiveRuns, 9);
        expect(replayed[i].runs).toBe(live[i].runs);
      }
    });

    it('joins a decision to its pipeline and stores the reward parts with the formula version', async (t) => {
      if (!store) return t.skip();
      const c = ctx();
      const l = learner();
      const choice = await l.choose(c, [cand(A)]);
      const r = run({ ...c, status: 'failed', durationS: 1800, stagesCount: 10 });
      expect(await l.attachReward(choice.decisionId!, r.pipelineId)).toBeNull();
      await l.observeRun(r);
      let d = (await l.decisions({ tenant: c.tenant }))[0];
      expect(d.pipelineId).toBe(r.pipelineId);
      expect(d.reward).toMatchObject({ success: 0, formulaVersion: 'v1' });
      expect(d.reward!.reward).toBeCloseTo(-0.05, 12);
      await l.observeRun({ ...r, status: 'success' });
      d = (await l.decisions({ tenant: c.tenant }))[0];
      expect(d.reward!.reward).toBeCloseTo(1.05 - 0.05, 12);
      const again = await l.attachReward(choice.decisionId!, r.pipelineId);
      expect(again!.success).toBe(1);
    });

    it('feedback moves the posterior by its weight and a revoke removes it', async (t) => {
      if (!store) return t.skip();
      const c = ctx();
      const l = learner({ feedbackWeight: 2 });
      await l.observeRun(run({ ...c }));
      const choice = await l.choose(c, [cand(A, 'learned')]);
      const before = (await l.arms(c))[0].mean;
      expect(await l.feedback({ decisionId: choice.decisionId!, userId: 'u', kind: 'thumbs_down' })).toBe('added');
      const down = (await l.arms(c))[0].mean;
      expect(down).toBeLessThan(before);
      expect(await l.feedback({ decisionId: choice.decisionId!, userId: 'u', kind: 'rating', value: 5 })).toBe(
        'replaced',
      );
      expect((await l.arms(c))[0].mean).toBeGreaterThan(before);
      expect(await l.feedback({ decisionId: choice.decisionId!, userId: 'u', kind: 'rating', revoke: true })).toBe(
        'revoked',
      );
      expect((await l.arms(c))[0].mean).toBeCloseTo(before, 12);
      await expect(l.feedback({ decisionId: 'nope', userId: 'u', kind: 'thumbs_up' })).rejects.toThrow(
        /unknown decision/,
      );
    });

    it('a broken configuration leaves the candidate set; a banned one leaves every candidate set', async (t) => {
      if (!store) return t.skip();
      const c = ctx();
      const l = learner();
      for (let i = 0; i < 3; i++) await l.observeRun(run({ ...c, configHash: B, status: 'failed' }));
      expect((await l.arms(c)).find((a) => a.hash === B)!.broken).toBe(true);
      expect(await l.isEligible(c, B)).toEqual({ eligible: false, reason: 'broken' });
      for (let i = 0; i < 20; i++) expect((await l.choose(c, [cand(A), cand(B)])).arm.hash).toBe(A);
      await l.observeRun(run({ ...c, configHash: B, status: 'success' }));
      expect(await l.isEligible(c, B)).toEqual({ eligible: true, reason: null });

      await l.ban(A.slice(0, 12), 'leaks secrets');
      expect(await l.isEligible({ ...c, language: 'python' }, A)).toMatchObject({ reason: 'banned' });
      for (let i = 0; i < 10; i++) expect((await l.choose(c, [cand(A), cand(B)])).arm.hash).toBe(B);
      await expect(l.choose(c, [cand(A)])).rejects.toThrow(/banned/);
      expect(await l.unban(A.slice(0, 12))).toBe(true);
      expect(await l.unban(A.slice(0, 12))).toBe(false);
      await expect(l.ban('not-a-hash')).rejects.toThrow(/not a configuration hash/);
    });

    it('a learned configuration is proposed only after passing the quality gate', async (t) => {
      if (!store) return t.skip();
      const c = ctx();
      const l = learner({ gateMinRuns: 3, gateMinMean: 0.7 });
      await l.observeRun(run({ ...c, configHash: C }));
      expect(await l.isEligible(c, C, 'learned')).toEqual({ eligible: false, reason: 'gated' });
      for (let i = 0; i < 10; i++) expect((await l.choose(c, [cand(A), cand(C, 'learned')])).arm.hash).toBe(A);
      for (let i = 0; i < 4; i++) await l.observeRun(run({ ...c, configHash: C }));
      expect(await l.isEligible(c, C, 'learned')).toEqual({ eligible: true, reason: null });
      expect((await l.arms(c)).find((a) => a.hash === C)!.gated).toBe(true);
    });

    it('a translated candidate starts from Beta(2,1) and is offered ungated; the same bytes as learned are gated', async (t) => {
      if (!store) return t.skip();
      const c = ctx();
      const l = learner({ gateMinRuns: 3, gateMinMean: 0.7 });
      const fresh = await l.choose(c, [cand(C, 'translated')]);
      expect(fresh.confidence!.mean).toBeCloseTo(2 / 3, 9);
      await l.observeRun(run({ ...c, configHash: C }));
      // its own project gets it as `translated`; another project only as `learned`, through the gate
      expect(await l.isEligible(c, C, 'translated')).toEqual({ eligible: true, reason: null });
      expect(await l.isEligible(c, C, 'learned')).toEqual({ eligible: false, reason: 'gated' });
      const picks = new Set<string>();
      for (let i = 0; i < 20; i++) picks.add((await l.choose(c, [cand(A), cand(C, 'translated')])).arm.hash);
      expect(picks.has(C)).toBe(true);
    });

    it('other tenants inform the prior only when sharing is enabled, and forget removes data', async (t) => {
      if (!store) return t.skip();
      const c = ctx();
      const other = { ...ctx(), language: c.language };
      const off = learner();
      for (let i = 0; i < 30; i++)
        await off.observeRun(run({ ...other, projectPath: `${other.tenant}/x`, configHash: A }));
      const sOff = await off.choose(c, [cand(A)]);
      const on = learner({ shareAcrossTenants: true, sharedMaxRuns: 5 });
      const sOn = await on.choose(c, [cand(A)]);
      expect(sOn.confidence!.mean).toBeGreaterThan(sOff.confidence!.mean);
      expect(sOn.confidence!.runs).toBe(0);

      await off.observeRun(run({ ...c, projectPath: 'p/one', configHash: B, status: 'failed' }));
      await off.observeRun(run({ ...c, projectPath: 'p/two', configHash: B }));
      expect((await off.forget({ projectPath: 'p/one' })).runs).toBe(1);
      expect((await off.arms(c)).find((a) => a.hash === B)).toMatchObject({ runs: 1, successes: 1 });
      expect((await off.forget({ tenant: other.tenant })).runs).toBe(30);
      expect(await off.arms(other)).toEqual([]);
    });

    it('pools tenants when no tenant is given', async (t) => {
      if (!store) return t.skip();
      const lang = `lang${kind}${++n}`;
      const l = learner();
      await l.observeRun(run({ tenant: 'x1', language: lang, configHash: A }));
      await l.observeRun(run({ tenant: 'x2', language: lang, configHash: A, status: 'failed' }));
      const [pooled] = await l.arms({ tenant: null, language: lang, framework: 'generic' });
      expect(pooled).toMatchObject({ hash: A, runs: 2, successes: 1 });
      const stats = armStats(
        { ...(await createLearningStore(store.db).getArms({ tenant: 'x1', language: lang, framework: 'generic' }))[0] },
        1,
        opts,
      );
      expect(stats.alpha).toBe(3);
    });

    it("shows each configuration's latest attribution line, read without the history", async (t) => {
      if (!store) return t.skip();
      const c = ctx();
      const l = learner();
      const attr = (summary: string, cls: 'works' | 'broken' = 'works') => ({
        class: cls,
        dAlpha: cls === 'works' ? 1 : 0,
        dBeta: cls === 'works' ? 0 : 1,
        weight: 1,
        summary,
        testsTotal: null,
        testsFailed: null,
        coverage: null,
        decidingJob: null,
      });
      await l.observeRun(run({ ...c, configHash: A, attribution: attr('first A') }));
      await l.observeRun(run({ ...c, configHash: B, status: 'failed', attribution: attr('B broke', 'broken') }));
      await l.observeRun(run({ ...c, configHash: A, status: 'failed', attribution: attr('second A', 'broken') }));
      await l.observeRun(run({ ...c, configHash: A, attribution: null })); // v1: no line, the last one stays
      await l.observeRun(run({ ...c, configHash: C }));
      const shown = Object.fromEntries((await l.arms(c)).map((a) => [a.hash, a.lastEvidence]));
      expect(shown).toEqual({ [A]: 'second A', [B]: 'B broke', [C]: null });
      expect(Object.fromEntries((await l.arms(c, { evidence: false })).map((a) => [a.hash, a.lastEvidence]))).toEqual({
        [A]: null,
        [B]: null,
        [C]: null,
      });
    });

    it('ranks many contexts in one call exactly as one call per context would', async (t) => {
      if (!store) return t.skip();
      const l1 = `lang${kind}${++n}`;
      const l2 = `lang${kind}${++n}`;
      const l = learner();
      await l.observeRun(run({ tenant: 'y1', language: l1, configHash: A }));
      await l.observeRun(run({ tenant: 'y2', language: l1, configHash: A, status: 'failed' }));
      await l.observeRun(run({ tenant: 'y2', language: l1, configHash: B }));
      await l.observeRun(run({ tenant: 'y1', language: l2, configHash: C, status: 'failed' }));
      const contexts = [
        { tenant: null, language: l1, framework: 'generic' },
        { tenant: null, language: l2, framework: 'generic' },
        { tenant: 'y2', language: l1, framework: 'generic' },
        { tenant: null, language: `${l2}-none`, framework: 'generic' },
      ];
      const many = await l.armsOfContexts(contexts);
      const one = await Promise.all(contexts.map((c) => l.arms(c)));
      expect(many).toEqual(one);
      // each stack kept apart: l1 pools A over both tenants and B; l2 has only C; an unknown stack nothing
      expect(many[0]!.map((a) => [a.hash, a.runs])).toEqual(
        expect.arrayContaining([
          [A, 2],
          [B, 1],
        ]),
      );
      expect(many[0]).toHaveLength(2);
      expect(many[1]!.map((a) => a.hash)).toEqual([C]);
      expect(many[2]!.map((a) => a.hash).sort()).toEqual([A, B].sort());
      expect(many[3]).toEqual([]);
    });
  });
}
