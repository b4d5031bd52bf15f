import { describe, expect, it } from 'vitest';
import type { ArmStats } from '../../src/learning/ArmStats.js';
import { sampleBeta } from '../../src/learning/betaMath.js';
import { decisionFromJsonLine, decisionToJsonLine } from '../../src/learning/DecisionRecord.js';
import {
  SATISFICE_EPSILON_MANY,
  SUBSAMPLE_MIN_ARMS,
  subsampledThompsonProbabilities,
  subsetSize,
  thompson,
  thompsonSubset,
} from '../../src/learning/policies.js';
import { createRng } from '../../src/learning/Rng.js';
import { durationCost, stagesBonus } from '../../src/learning/reward.js';
import { leaderIndex, thompsonPropensities } from '../../src/learning/thompsonPropensities.js';
import { arm } from './armFixtures.js';

/** Young posteriors (≤ 3 runs each), so interval pruning keeps every arm. */
function manyArms(k: number, seed: number): ArmStats[] {
  const rng = createRng(seed);
  return Array.from({ length: k }, (_, i) => {
    const n = Math.floor(rng.next() * 4);
    const s = Math.floor(rng.next() * (n + 1));
    return arm(i, 2 + s, 1 + n - s, 100 + Math.floor(rng.next() * 900));
  });
}

describe('subset plan', () => {
  it('is everything below the threshold and grows with the run count', () => {
    expect(thompsonSubset(manyArms(SUBSAMPLE_MIN_ARMS - 1, 1), 0)).toBeNull();
    expect(subsetSize(1000, 0)).toBe(2);
    expect(subsetSize(1000, 99)).toBe(10);
    expect(subsetSize(1000, 10_000)).toBe(101);
    expect(subsetSize(30, 10_000)).toBe(30);
    const arms = manyArms(40, 2);
    const plan = thompsonSubset(arms, 0)!;
    expect(plan.size).toBe(2);
    expect(plan.inclusion[leaderIndex(arms)]).toBe(1);
    const others = plan.inclusion.filter((_, i) => i !== leaderIndex(arms));
    expect(new Set(others)).toEqual(new Set([1 / 39]));
    // expected subset size is m
    expect(plan.inclusion.reduce((s, q) => s + q, 0)).toBeCloseTo(2, 9);
  });
});

describe('satisficing', () => {
  it('keeps the leader unless a challenger beats it by more than ε: two uniform arms, P = (1 − ε)²/2', () => {
    const p = thompsonPropensities([arm(0, 1, 1), arm(1, 1, 1)], 512, undefined, 0.05);
    expect(p[1]).toBeCloseTo(0.95 ** 2 / 2, 3);
    expect(p[0] + p[1]).toBeCloseTo(1, 12);
    expect(thompson.version).toBe('4');
  });
});

describe('exact propensities of the whole procedure', () => {
  it('equal the subset-weighted sum of plain Thompson propensities over every possible subset', () => {
    const arms = manyArms(13, 3);
    const plan = thompsonSubset(arms, 0)!;
    expect(plan.inclusion.every((q) => q > 0)).toBe(true);
    const leader = leaderIndex(arms);
    const others = arms.map((_, i) => i).filter((i) => i !== leader);
    const q = plan.inclusion[others[0]];
    const brute = new Array<number>(arms.length).fill(0);
    for (let mask = 0; mask < 1 << others.length; mask++) {
      const members = [leader, ...others.filter((_, b) => mask & (1 << b))];
      const size = members.length - 1;
      const weight = q ** size * (1 - q) ** (others.length - size);
      const inner = thompsonPropensities(
        members.map((i) => arms[i]),
        512,
        undefined,
        SATISFICE_EPSILON_MANY,
      );
      members.forEach((i, j) => {
        brute[i] += weight * inner[j];
      });
    }
    const exact = subsampledThompsonProbabilities(arms, 0);
    expect(exact.reduce((s, p) => s + p, 0)).toBeCloseTo(1, 9);
    for (let i = 0; i < arms.length; i++) expect(exact[i]).toBeCloseTo(brute[i], 3);
  });

  it('match a Monte Carlo run of the literal procedure (draw subset, sample posteriors, keep the leader unless a challenger beats it by more than ε)', () => {
    const arms = manyArms(60, 4);
    const runs = 30;
    const plan = thompsonSubset(arms, runs)!;
    const exact = subsampledThompsonProbabilities(arms, runs);
    const rng = createRng(9);
    const n = 60_000;
    const counts = new Array<number>(arms.length).fill(0);
    const leader = leaderIndex(arms);
    for (let r = 0; r < n; r++) {
      let best = -1;
      let bestValue = Number.NEGATIVE_INFINITY;
      let leaderValue = Number.NEGATIVE_INFINITY;
      for (let i = 0; i < arms.length; i++) {
        if (plan.inclusion[i] < 1 && rng.next() >= plan.inclusion[i]) continue;
        const a = arms[i];
        const v = sampleBeta(a.alpha, a.beta, rng) * (1 + stagesBonus(a.stagesCount)) - durationCost(a.durationS);
        if (i === leader) leaderValue = v;
        else if (v > bestValue) {
          bestValue = v;
          best = i;
        }
      }
      counts[bestValue > leaderValue + SATISFICE_EPSILON_MANY ? best : leader] += 1;
    }
    for (let i = 0; i < arms.length; i++) {
      const p = exact[i];
      const se = Math.sqrt((p * (1 - p)) / n);
      expect(Math.abs(counts[i] / n - p)).toBeLessThan(5 * se + 2e-3);
    }
  });

  it('subsamples only among the arms interval pruning keeps; pruned arms keep their floor', () => {
    const arms = [arm(0, 40, 5), ...Array.from({ length: 50 }, (_, i) => arm(i + 1, 5, 50))];
    for (let i = 0; i < 20; i++) arms.push(arm(100 + i, 2, 1, 60 * i));
    const plan = thompsonSubset(arms, 100)!;
    expect(plan.inclusion.slice(1, 51).every((q) => q === 0)).toBe(true);
    expect(plan.inclusion[0]).toBe(1);
    const p = subsampledThompsonProbabilities(arms, 100);
    expect(p[1]).toBeCloseTo(0.01 / 50, 12);
    expect(p.reduce((s, x) => s + x, 0)).toBeCloseTo(1, 9);
  });

  it('draws from the logged distribution and logs the plan with the decision (format stays /1)', () => {
    const arms = manyArms(100, 5);
    const choice = thompson.choose(arms, 50, createRng(1));
    expect(choice.probabilities.reduce((s, p) => s + p, 0)).toBeCloseTo(1, 9);
    expect(choice.probabilities[choice.index]).toBeGreaterThan(0);
    const line = decisionToJsonLine({
      id: 'd1',
      at: '2026-01-01T00:00:00.000Z',
      policy: 'thompson',
      policyVersion: thompson.version,
      context: { tenant: 'acme', language: 'go', framework: 'generic' },
      contextRuns: 50,
      arms,
      probabilities: choice.probabilities,
      chosenHash: arms[choice.index].hash,
      kind: choice.kind,
      propensity: choice.probabilities[choice.index],
      pipelineId: null,
      reward: null,
    });
    const o = JSON.parse(line);
    expect(o.format).toBe('pipeline-learner.decision/1');
    expect(o.subset_size).toBe(subsetSize(100, 50));
    expect(o.arms[0].inclusion).toBeGreaterThan(0);
    expect(decisionFromJsonLine(line).propensity).toBe(choice.probabilities[choice.index]);
    expect(o.subset_size).toBe(8); // ⌈√51⌉
    // a decision logged by version 3 exports the plan version 3 drew: m = max(4, ⌈½·√(runs + 1)⌉)
    const v3 = JSON.parse(line.replace('"policy_version":"4"', '"policy_version":"3"'));
    expect(v3.policy_version).toBe('3');
    const again = JSON.parse(decisionToJsonLine({ ...decisionFromJsonLine(JSON.stringify(v3)) }));
    expect(again.subset_size).toBe(4);
  });
});
