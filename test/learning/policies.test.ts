import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { ArmStats } from '../../src/learning/ArmStats.js';
import { sampleBeta } from '../../src/learning/betaMath.js';
import {
  epsilonAt,
  POLICIES,
  POLICY_NAMES,
  PRUNE_FLOOR,
  PRUNE_FLOOR_TOTAL,
  SATISFICE_EPSILON,
} from '../../src/learning/policies.js';
import { createRng } from '../../src/learning/Rng.js';
import { durationCost, stagesBonus } from '../../src/learning/reward.js';
import { thompsonPropensities } from '../../src/learning/thompsonPropensities.js';

const arm = (i: number, a: number, b: number, extra: Partial<ArmStats> = {}): ArmStats => ({
  hash: `h${i}`,
  source: 'default',
  alpha: a,
  beta: b,
  successes: a - 1,
  failures: b - 1,
  pulls: Math.round(a + b - 2),
  durationS: null,
  stagesCount: null,
  ...extra,
});

const armArb = fc
  .record({
    a: fc.double({ min: 1, max: 400, noNaN: true }),
    b: fc.double({ min: 1, max: 400, noNaN: true }),
    d: fc.option(fc.integer({ min: 0, max: 7200 })),
    s: fc.option(fc.integer({ min: 0, max: 15 })),
    pulls: fc.integer({ min: 0, max: 50 }),
  })
  .map((r) => ({ a: r.a, b: r.b, d: r.d, s: r.s, pulls: r.pulls }));

describe('every policy returns a probability vector', () => {
  it('non-negative, summing to 1, and the choice has positive probability', () => {
    fc.assert(
      fc.property(fc.array(armArb, { minLength: 1, maxLength: 25 }), fc.nat(5000), fc.nat(), (specs, t, seed) => {
        const arms = specs.map((s, i) =>
          arm(i, s.a, s.b, { durationS: s.d, stagesCount: s.s, pulls: s.pulls, successes: s.a - 1, failures: s.b - 1 }),
        );
        for (const name of POLICY_NAMES) {
          const p = POLICIES[name];
          const c = p.choose(arms, t, createRng(seed));
          expect(c.probabilities).toHaveLength(arms.length);
          for (const x of c.probabilities) expect(x).toBeGreaterThanOrEqual(0);
          expect(c.probabilities.reduce((s, x) => s + x, 0)).toBeCloseTo(1, 9);
          expect(c.probabilities[c.index]).toBeGreaterThan(0);
        }
      }),
      { numRuns: 150 },
    );
  });
});

describe('Thompson propensities', () => {
  it("stay finite when a posterior's CDF is denormal at the grid's low end (found by the property above)", () => {
    // A tight Beta(262, 118) far above a wide leader: its CDF at the leader's 1e-7 quantile is ~1e-317, and
    // dividing the product of the others by it times the leader's factor underflowed to 0 (then Infinity·0).
    const arms = [
      arm(0, 261.8538980903002, 117.53305861210285, { durationS: 108 }),
      arm(1, 9.406661189541708, 3.1402906612520267, { durationS: 3600, stagesCount: 10 }),
      arm(2, 1, 1),
    ];
    for (const satisfice of [0, SATISFICE_EPSILON]) {
      const p = thompsonPropensities(arms, 512, undefined, satisfice);
      for (const x of p) expect(Number.isFinite(x) && x >= 0).toBe(true);
      expect(p.reduce((s, x) => s + x, 0)).toBeCloseTo(1, 9);
      expect(Math.min(...p)).toBeGreaterThan(0.1);
    }
  });
  it('match a large Monte Carlo estimate of P(arm is the argmax)', () => {
    const arms = [
      arm(0, 30, 5),
      arm(1, 20, 3, { durationS: 1800 }),
      arm(2, 5, 2, { stagesCount: 10 }),
      arm(3, 2, 1),
      arm(4, 1, 2),
    ];
    const p = thompsonPropensities(arms);
    const rng = createRng(9);
    const counts = arms.map(() => 0);
    const n = 100_000;
    for (let k = 0; k < n; k++) {
      let best = Number.NEGATIVE_INFINITY;
      let bi = 0;
      arms.forEach((a, i) => {
        const s = sampleBeta(a.alpha, a.beta, rng) * (1 + stagesBonus(a.stagesCount)) - durationCost(a.durationS);
        if (s > best) {
          best = s;
          bi = i;
        }
      });
      counts[bi]++;
    }
    for (let i = 0; i < arms.length; i++) expect(Math.abs(p[i] - counts[i] / n)).toBeLessThan(0.0065);
  });
  it('match the closed form: Beta(1,2) beats two Beta(2,1) with probability ∫2(1−z)z⁴dz = 1/15', () => {
    const p = thompsonPropensities([arm(0, 2, 1), arm(1, 1, 2), arm(2, 2, 1)]);
    expect(p[1]).toBeCloseTo(1 / 15, 3);
    expect(p[0]).toBeCloseTo(7 / 15, 3);
    // two arms: P(Beta(2,1) > Beta(1,1)) = ∫ 2x · x dx = 2/3
    expect(thompsonPropensities([arm(0, 2, 1), arm(1, 1, 1)])[0]).toBeCloseTo(2 / 3, 3);
  });
  it('identical arms share equally; a hopeless arm is pruned to 0', () => {
    const same = thompsonPropensities([arm(0, 3, 2), arm(1, 3, 2), arm(2, 3, 2)]);
    for (const x of same) expect(x).toBeCloseTo(1 / 3, 3);
    const pruned = thompsonPropensities([arm(0, 400, 5), arm(1, 2, 300)]);
    expect(pruned).toEqual([1, 0]);
  });
});

describe('greedy, ε-greedy and UCB1', () => {
  it('greedy tries each arm once, then exploits the best observed mean reward (stages and duration folded in)', () => {
    const rng = createRng(1);
    const untried = [arm(0, 5, 1), arm(1, 1, 1, { pulls: 0, successes: 0, failures: 0 })];
    expect(POLICIES.greedy.choose(untried, 0, rng)).toMatchObject({ index: 1, kind: 'explore' });
    // same success rate; the faster one wins
    const tried = [arm(0, 9, 2, { durationS: 3000 }), arm(1, 9, 2, { durationS: 300 })];
    expect(POLICIES.greedy.choose(tried, 10, rng)).toMatchObject({ index: 1, kind: 'exploit' });
    expect(POLICIES.greedy.probabilities(tried, 10)).toEqual([0, 1]);
  });
  it('ε-greedy decays ε as the context accumulates runs (seed 002 schedule)', () => {
    expect(epsilonAt(0)).toBeCloseTo(0.1, 12);
    expect(epsilonAt(100)).toBeCloseTo(0.1 * 0.995 ** 100, 12);
    expect(epsilonAt(10_000)).toBe(0.01);
    const arms = [arm(0, 9, 2), arm(1, 3, 5), arm(2, 2, 2)];
    const p = POLICIES.epsilon_greedy.probabilities(arms, 0);
    expect(p[0]).toBeCloseTo(0.9 + 0.1 / 3, 12);
    expect(p[1]).toBeCloseTo(0.1 / 3, 12);
  });
  it('UCB1 prefers a rarely tried arm with a plausible mean', () => {
    const arms = [arm(0, 80, 20), arm(1, 2, 1)];
    expect(POLICIES.ucb1.probabilities(arms, 100)).toEqual([0, 1]);
  });
});

describe('PriorChooser', () => {
  it('chooses on priors without logging, honouring a forced hash', async () => {
    const { PriorChooser } = await import('../../src/learning/PriorChooser.js');
    const chooser = new PriorChooser(createRng(4));
    const cands = [
      { hash: 'a'.repeat(64), source: 'default' as const, config: 'a', label: 'a' },
      { hash: 'b'.repeat(64), source: 'llm' as const, config: 'b', label: 'b' },
    ];
    const ctx = { tenant: 'local', language: 'go', framework: 'generic' };
    const c = await chooser.choose(ctx, cands);
    expect(c.decisionId).toBeNull();
    expect(c.confidence!.runs).toBe(0);
    const f = await chooser.choose(ctx, cands, { forcedHash: 'bbbbbbbbbbbb' });
    expect(f).toMatchObject({ kind: 'forced', probability: 1 });
    expect(f.arm.source).toBe('llm');
  });
});

describe('Thompson interval pruning', () => {
  it('leaves an arm whose 90 % interval lies below the best arm only the exploration floor', () => {
    const arms = [arm(0, 181, 21), arm(1, 41, 61), arm(2, 150, 30)];
    const p = POLICIES.thompson.probabilities(arms, 500);
    expect(p[1]).toBe(PRUNE_FLOOR);
    expect(p[0] + p[2]).toBeCloseTo(1 - PRUNE_FLOOR, 12);
    // the kept arms keep their exact Thompson proportions among themselves
    const inner = thompsonPropensities([arms[0], arms[2]], 512, undefined, SATISFICE_EPSILON);
    expect(p[0] / (p[0] + p[2])).toBeCloseTo(inner[0], 9);
  });
  it('prunes nothing while the intervals overlap', () => {
    const arms = [arm(0, 9, 3), arm(1, 7, 4), arm(2, 2, 1)];
    expect(POLICIES.thompson.probabilities(arms, 10)).toEqual(
      thompsonPropensities(arms, 512, undefined, SATISFICE_EPSILON),
    );
  });
  it('caps the floor of many pruned arms at 1 % in total', () => {
    const arms = [arm(0, 500, 5), ...Array.from({ length: 50 }, (_, i) => arm(i + 1, 5, 50))];
    const p = POLICIES.thompson.probabilities(arms, 1000);
    expect(p[1]).toBeCloseTo(PRUNE_FLOOR_TOTAL / 50, 12);
    expect(p[0]).toBeCloseTo(1 - PRUNE_FLOOR_TOTAL, 12);
  });
});
