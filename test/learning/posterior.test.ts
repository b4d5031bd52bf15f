import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { armStats } from '../../src/learning/ArmStats.js';
import { isBrokenOut } from '../../src/learning/eligibility.js';
import { DEFAULT_LEARNER_OPTIONS } from '../../src/learning/LearnerOptions.js';
import {
  type ArmEvidence,
  addFeedback,
  addRun,
  brokenThreshold,
  decayTo,
  discountFactor,
  emptyArm,
  type FeedbackEvidence,
  feedbackPseudoCounts,
  type RunEvidence,
  removeFeedback,
  removeRun,
  replayArms,
  restoreRun,
  weightAt,
} from '../../src/learning/posterior.js';
import { sharedPseudoCounts, sourcePrior } from '../../src/learning/priors.js';
import { expectedReward, REWARD_FORMULA_VERSION, rewardParts } from '../../src/learning/reward.js';

const opts = { ...DEFAULT_LEARNER_OPTIONS, halfLifeRuns: 30, brokenAfterFailures: 3 };
const run = (slot: number, success: boolean, durationS: number | null = 100): RunEvidence => ({
  hash: 'h',
  slot,
  success,
  durationS,
  stagesCount: 4,
});

describe('discounting', () => {
  it('halves evidence after one half-life of context runs', () => {
    expect(weightAt(10, 40, 30)).toBeCloseTo(0.5, 12);
    expect(weightAt(0, 90, 30)).toBeCloseTo(0.125, 12);
    const a = addRun(emptyArm('h', 'default'), run(1, true), opts);
    expect(decayTo(a, 31, 30).successes).toBeCloseTo(0.5, 12);
  });
  it('k consecutive successes weigh the geometric sum (1 − γ^k)/(1 − γ)', () => {
    let a = emptyArm('h', 'template');
    const k = 50;
    for (let s = 1; s <= k; s++) a = addRun(a, run(s, true), opts);
    const g = discountFactor(30);
    expect(a.successes).toBeCloseTo((1 - g ** k) / (1 - g), 10);
    // runs of the context on other arms decay this one too
    expect(decayTo(a, k + 30, 30).successes).toBeCloseTo((0.5 * (1 - g ** k)) / (1 - g), 10);
  });
  it('posterior is prior + discounted evidence; mean and runs as expected', () => {
    let a = emptyArm('h', 'llm');
    a = addRun(a, run(1, true), opts);
    a = addRun(a, run(2, false), opts);
    const st = armStats(a, 2, opts);
    const p = sourcePrior('llm');
    const g = discountFactor(30);
    expect(st.alpha).toBeCloseTo(p.alpha + g, 12);
    expect(st.beta).toBeCloseTo(p.beta + 1, 12);
    expect(st.pulls).toBe(2);
  });
});

describe('priors and sharing', () => {
  it('default/template are optimistic, llm cautious: Beta(1,1), below them', () => {
    const m = (s: Parameters<typeof sourcePrior>[0]) =>
      sourcePrior(s).alpha / (sourcePrior(s).alpha + sourcePrior(s).beta);
    expect(m('default')).toBeGreaterThan(0.5);
    expect(m('template')).toBeGreaterThan(0.5);
    expect(sourcePrior('llm')).toEqual({ alpha: 1, beta: 1 });
    expect(m('llm')).toBeLessThan(m('default'));
    expect(m('llm')).toBeLessThan(m('learned'));
  });
  it('shrinks other tenants evidence to at most k pseudo-runs and only when sharing is on', () => {
    const s = sharedPseudoCounts(900, 100, 5);
    expect(s.alpha + s.beta).toBeCloseTo((5 * 1000) / 1005, 10);
    expect(s.alpha / (s.alpha + s.beta)).toBeCloseTo(0.9, 12);
    const a = emptyArm('h', 'default');
    const off = armStats(a, 0, opts, { successes: 900, failures: 100 });
    const on = armStats(a, 0, { ...opts, shareAcrossTenants: true }, { successes: 900, failures: 100 });
    expect(off.alpha).toBe(2);
    expect(on.alpha).toBeCloseTo(2 + s.alpha, 12);
  });
});

describe('reward formula', () => {
  it('is versioned and folds stages and duration in', () => {
    const r = rewardParts({ success: true, durationS: 1800, stagesCount: 10 });
    expect(r.formulaVersion).toBe(REWARD_FORMULA_VERSION);
    expect(r.reward).toBeCloseTo(1 + 0.05 - 0.05, 12);
    const f = rewardParts({ success: false, durationS: 7200, stagesCount: 10 });
    expect(f.reward).toBeCloseTo(-0.1, 12);
    expect(expectedReward(0.8, 360, 5)).toBeCloseTo(0.8 * 1.025 - 0.01, 12);
  });
});

describe('retries, cancellations, feedback', () => {
  it('a retried pipeline corrects its evidence instead of adding to it', () => {
    let a = emptyArm('h', 'default');
    a = addRun(a, run(1, true), opts);
    a = addRun(a, run(2, false), opts);
    a = addRun(a, run(3, true), opts);
    // pipeline at slot 2 is retried and succeeds, while the context is at 5
    const corrected = restoreRun(removeRun(a, run(2, false), 5, opts), run(2, true), 5, opts);
    let direct = emptyArm('h', 'default');
    for (const s of [1, 2, 3]) direct = addRun(direct, run(s, true), opts);
    direct = decayTo(direct, 5, 30);
    expect(corrected.successes).toBeCloseTo(direct.successes, 12);
    expect(corrected.failures).toBeCloseTo(0, 12);
    expect(corrected.runsTotal).toBe(3);
    expect(corrected.successesTotal).toBe(3);
  });
  it('feedback adds documented pseudo-counts and a revoke takes them back', () => {
    expect(feedbackPseudoCounts('thumbs_up', null, 0.5)).toEqual({ positive: 0.5, negative: 0 });
    expect(feedbackPseudoCounts('thumbs_down', null, 0.5)).toEqual({ positive: 0, negative: 0.5 });
    expect(feedbackPseudoCounts('rating', 4, 1)).toEqual({ positive: 0.75, negative: 0.25 });
    expect(feedbackPseudoCounts('rating', 3, 0.5)).toEqual({ positive: 0.25, negative: 0.25 });
    expect(() => feedbackPseudoCounts('rating', 6, 1)).toThrow();
    const base = addRun(emptyArm('h', 'default'), run(1, true), opts);
    const fb: FeedbackEvidence = { hash: 'h', slot: 1, positive: 0.5, negative: 0 };
    const withFb = addFeedback(base, fb, 1, 30);
    expect(armStats(withFb, 1, opts).alpha).toBeCloseTo(armStats(base, 1, opts).alpha + 0.5, 12);
    const revoked = removeFeedback(withFb, fb, 10, 30);
    expect(armStats(revoked, 10, opts).alpha).toBeCloseTo(armStats(base, 10, opts).alpha, 12);
  });
});

describe('broken configurations', () => {
  it('leaves the candidate set after N failures in a row and comes back when it succeeds', () => {
    let a = emptyArm('h', 'template');
    a = addRun(a, run(1, false), opts);
    a = addRun(a, run(2, false), opts);
    expect(isBrokenOut(a, 2, opts)).toBe(false);
    a = addRun(a, run(3, false), opts);
    expect(isBrokenOut(a, 3, opts)).toBe(true);
    expect(isBrokenOut(a, 50, opts)).toBe(true);
    // may be retried once after brokenRetryAfterRuns; failing again doubles the wait
    expect(isBrokenOut(a, 3 + opts.brokenRetryAfterRuns, opts)).toBe(false);
    const again = addRun(a, run(110, false), opts);
    expect(isBrokenOut(again, 110 + opts.brokenRetryAfterRuns, opts)).toBe(true);
    expect(isBrokenOut(again, 110 + 2 * opts.brokenRetryAfterRuns, opts)).toBe(false);
    const fixed = addRun(a, run(4, true), opts);
    expect(isBrokenOut(fixed, 4, opts)).toBe(false);
    expect(fixed.failureStreak).toBe(0);
  });
  it('a reliable configuration needs a longer, improbable streak; breaking drops its old successes', () => {
    let a = emptyArm('h', 'template');
    let s = 0;
    // 38 of 40: Laplace estimate 39/42, so 4 failures in a row are still plausible (> 1e-5), 5 are not
    for (; s < 40; s++) a = addRun(a, run(s + 1, s % 20 !== 0), opts);
    expect(brokenThreshold(a, opts)).toBe(5);
    for (let i = 0; i < 4; i++) a = addRun(a, run(++s + 1, false), opts);
    expect(a.brokenAt).toBeNull();
    a = addRun(a, run(++s + 1, false), opts);
    expect(a.brokenAt).not.toBeNull();
    expect(a.successes).toBe(0);
  });
});

describe('replay', () => {
  const event = fc.oneof(
    fc.record({
      t: fc.constant('run' as const),
      arm: fc.integer({ min: 0, max: 3 }),
      ok: fc.boolean(),
      d: fc.integer({ min: 10, max: 4000 }),
    }),
    fc.record({ t: fc.constant('fb' as const), arm: fc.integer({ min: 0, max: 3 }), up: fc.boolean() }),
  );
  it('rebuilds exactly the posteriors the O(1) updates produced', () => {
    fc.assert(
      fc.property(fc.array(event, { maxLength: 80 }), fc.integer({ min: 0, max: 20 }), (events, extra) => {
        const live = new Map<string, ArmEvidence>();
        const runs: RunEvidence[] = [];
        const fbs: FeedbackEvidence[] = [];
        const sources = new Map([...Array(4)].map((_, i) => [`a${i}`, 'default' as const]));
        for (const [h, src] of sources) live.set(h, emptyArm(h, src));
        let n = 0;
        for (const e of events) {
          const hash = `a${e.arm}`;
          if (e.t === 'run') {
            n += 1;
            const r = { hash, slot: n, success: e.ok, durationS: e.d, stagesCount: 3 };
            runs.push(r);
            live.set(hash, addRun(live.get(hash)!, r, opts));
          } else {
            const f = { hash, slot: n, positive: e.up ? 0.5 : 0, negative: e.up ? 0 : 0.5 };
            fbs.push(f);
            live.set(hash, addFeedback(live.get(hash)!, f, n, opts.halfLifeRuns));
          }
        }
        const now = n + extra;
        const replayed = replayArms(sources, runs, fbs, now, opts);
        for (const [hash, arm] of live) {
          const a = armStats(arm, now, opts);
          const b = armStats(replayed.get(hash)!, now, opts);
          expect(b.alpha).toBeCloseTo(a.alpha, 9);
          expect(b.beta).toBeCloseTo(a.beta, 9);
          expect(b.pulls).toBe(a.pulls);
          expect(replayed.get(hash)!.failureStreak).toBe(arm.failureStreak);
          expect(replayed.get(hash)!.brokenAt).toBe(arm.brokenAt);
        }
      }),
    );
  });
});
