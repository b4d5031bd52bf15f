import { describe, expect, it } from 'vitest';
import { armStats } from '../../src/learning/ArmStats.js';
import { DEFAULT_LEARNER_OPTIONS } from '../../src/learning/LearnerOptions.js';
import { addRun, emptyArm, type RunEvidence, removeRun, restoreRun } from '../../src/learning/posterior.js';
import { coverageBonus, REWARD_FORMULA_V2, rewardParts, rewardPartsV2, testsBonus } from '../../src/learning/reward.js';

describe('reward v2 (the worked examples of docs/learning-attribution.md)', () => {
  it('green, 412 tests, 81.2 % coverage, 5 stages, 10 minutes', () => {
    const r = rewardPartsV2({
      success: true,
      attribution: 'works',
      durationS: 600,
      stagesCount: 5,
      testsTotal: 412,
      coverage: 81.2,
    })!;
    expect(r.formulaVersion).toBe(REWARD_FORMULA_V2);
    expect(r.testsBonus).toBeCloseTo(0.02616, 5);
    expect(r.coverageBonus).toBeCloseTo(0.01624, 5);
    expect(r.reward).toBeCloseTo(1.05074, 4);
  });

  it('red because 3 of 412 tests failed: the configuration still earns its reward (v1 gave it nothing)', () => {
    const run = { success: false, durationS: 600, stagesCount: 5 };
    const v2 = rewardPartsV2({ ...run, attribution: 'works', testsTotal: 412, coverage: null })!;
    expect(v2.reward).toBeCloseTo(1.0345, 4);
    expect(v2.success).toBe(0);
    expect(rewardParts(run).reward).toBeCloseTo(-0.01667, 4);
  });

  it('green without tests earns half', () => {
    const r = rewardPartsV2({ success: true, attribution: 'weak', durationS: 120, stagesCount: 3, testsTotal: 0 })!;
    expect(r.credit).toBe(0.5);
    expect(r.reward).toBeCloseTo(0.50417, 4);
  });

  it('a broken configuration pays only its duration; a runner failure gives no reward at all', () => {
    expect(rewardPartsV2({ success: false, attribution: 'broken', durationS: 90 })!.reward).toBeCloseTo(-0.0025, 6);
    expect(rewardPartsV2({ success: false, attribution: 'no_evidence', durationS: 90 })).toBeNull();
  });

  it('bonuses are bounded and grow with tests and coverage', () => {
    expect(testsBonus(0)).toBe(0);
    expect(testsBonus(10)).toBeLessThan(testsBonus(100));
    expect(testsBonus(1_000_000)).toBeCloseTo(0.03, 12);
    expect(coverageBonus(null)).toBe(0);
    expect(coverageBonus(150)).toBeCloseTo(0.02, 12);
  });
});

describe('the posterior under attribution', () => {
  const opts = { ...DEFAULT_LEARNER_OPTIONS, halfLifeRuns: 1e12 };
  const run = (slot: number, attribution: RunEvidence['attribution'], success = true): RunEvidence => ({
    hash: 'h',
    slot,
    success,
    durationS: 100,
    stagesCount: 3,
    attribution,
  });

  it('adds the table’s Δα and Δβ, and nothing for a runner failure', () => {
    let a = emptyArm('h', 'template');
    a = addRun(a, run(1, 'works', false), opts);
    a = addRun(a, run(2, 'weak'), opts);
    a = addRun(a, run(3, 'partial', false), opts);
    a = addRun(a, run(4, 'no_evidence', false), opts);
    a = addRun(a, run(5, 'flaky'), opts);
    const s = armStats(a, 5, opts);
    expect(s.alpha - 2).toBeCloseTo(1 + 0.25 + 0 + 0.75, 6);
    expect(s.beta - 1).toBeCloseTo(0 + 0.25 + 0.5 + 0.25, 6);
    expect(a.runsTotal).toBe(4);
  });

  it('runner failures never mark a configuration broken; broken runs do', () => {
    let a = emptyArm('h', 'template');
    for (let i = 1; i <= 10; i++) a = addRun(a, run(i, 'no_evidence', false), opts);
    expect(a.brokenAt).toBeNull();
    for (let i = 11; i <= 13; i++) a = addRun(a, run(i, 'broken', false), opts);
    expect(a.brokenAt).toBe(13);
  });

  it('removing and restoring an attributed run round-trips', () => {
    const a = addRun(addRun(emptyArm('h', 'template'), run(1, 'works'), opts), run(2, 'weak'), opts);
    const back = restoreRun(removeRun(a, run(2, 'weak'), 2, opts), run(2, 'weak'), 2, opts);
    expect(back.successes).toBeCloseTo(a.successes, 9);
    expect(back.failures).toBeCloseTo(a.failures, 9);
    expect(back.runsTotal).toBe(a.runsTotal);
  });
});
