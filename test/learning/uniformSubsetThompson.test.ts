import { describe, expect, it } from 'vitest';
import { parseComment } from '../../src/commands/parseComment.js';
import { loadConfig } from '../../src/config.js';
import { createLearningStore } from '../../src/db/learningStore.js';
import type { ArmStats } from '../../src/learning/ArmStats.js';
import { sampleBeta } from '../../src/learning/betaMath.js';
import { decisionToJsonLine } from '../../src/learning/DecisionRecord.js';
import { Learner } from '../../src/learning/Learner.js';
import { DEFAULT_LEARNER_OPTIONS } from '../../src/learning/LearnerOptions.js';
import { LEADER_SUBSET, POLICIES, THOMPSON_VARIANTS, thompson, thompsonVariant } from '../../src/learning/policies.js';
import { createRng, type Rng } from '../../src/learning/Rng.js';
import { durationCost, stagesBonus } from '../../src/learning/reward.js';
import { parseScenario, simulate, simulatePolicy } from '../../src/learning/simulate.js';
import { thompsonPropensities, uniformSubsetThompsonPropensities } from '../../src/learning/thompsonPropensities.js';
import { openTestStore } from '../support/db.js';
import { arm } from './armFixtures.js';

/** A mix of young and proven posteriors, with ties in posterior mean (identical arms). */
function mixedArms(k: number, seed: number): ArmStats[] {
  const rng = createRng(seed);
  return Array.from({ length: k }, (_, i) => {
    if (i % 5 === 4) return arm(i, 2, 1, 300);
    const n = Math.floor(rng.next() * (i % 3 === 0 ? 40 : 4));
    const s = Math.floor(rng.next() * (n + 1));
    return arm(i, 2 + s, 1 + n - s, 100 + Math.floor(rng.next() * 900));
  });
}

function subsetsOf(k: number, m: number): number[][] {
  const out: number[][] = [];
  const pick = (start: number, acc: number[]) => {
    if (acc.length === m) {
      out.push([...acc]);
      return;
    }
    for (let i = start; i < k; i++) pick(i + 1, [...acc, i]);
  };
  pick(0, []);
  return out;
}

function posteriorMean(a: ArmStats): number {
  return (a.alpha / (a.alpha + a.beta)) * (1 + stagesBonus(a.stagesCount)) - durationCost(a.durationS);
}

/** The literal procedure: draw m of k uniformly, one posterior draw per member, satisficing against the subset's leader. */
function literalChoice(arms: readonly ArmStats[], m: number, eps: number, rng: Rng): number {
  const idx = arms.map((_, i) => i);
  for (let i = 0; i < m; i++) {
    const j = i + Math.floor(rng.next() * (idx.length - i));
    [idx[i], idx[j]] = [idx[j], idx[i]];
  }
  const members = idx.slice(0, m).sort((x, y) => x - y);
  let leader = members[0];
  for (const i of members) if (posteriorMean(arms[i]) > posteriorMean(arms[leader])) leader = i;
  let best = -1;
  let bestValue = Number.NEGATIVE_INFINITY;
  let leaderValue = Number.NEGATIVE_INFINITY;
  for (const i of members) {
    const a = arms[i];
    const v = sampleBeta(a.alpha, a.beta, rng) * (1 + stagesBonus(a.stagesCount)) - durationCost(a.durationS);
    if (i === leader) leaderValue = v;
    else if (v > bestValue) {
      bestValue = v;
      best = i;
    }
  }
  return best >= 0 && bestValue > leaderValue + eps ? best : leader;
}

describe('uniform-subset Thompson sampling: exact propensities', () => {
  for (const eps of [0, 0.07]) {
    it(`equal the average of Thompson propensities over every subset (k = 13, ε = ${eps})`, () => {
      const arms = mixedArms(13, 3);
      for (const m of [2, 4, 7]) {
        const subsets = subsetsOf(arms.length, m);
        const brute = new Array<number>(arms.length).fill(0);
        for (const members of subsets) {
          const inner = thompsonPropensities(
            members.map((i) => arms[i]),
            512,
            undefined,
            eps,
          );
          members.forEach((i, j) => {
            brute[i] += inner[j] / subsets.length;
          });
        }
        const exact = uniformSubsetThompsonPropensities(arms, m, eps);
        expect(exact.reduce((s, p) => s + p, 0)).toBeCloseTo(1, 12);
        for (let i = 0; i < arms.length; i++) expect(Math.abs(exact[i] - brute[i])).toBeLessThan(2e-3);
      }
    });
  }

  it('with the subset being every arm and no satisficing, equal plain Thompson sampling', () => {
    const arms = mixedArms(12, 5);
    const all = uniformSubsetThompsonPropensities(arms, arms.length, 0);
    const plain = thompsonPropensities(arms, 512, undefined, 0);
    for (let i = 0; i < arms.length; i++) expect(Math.abs(all[i] - plain[i])).toBeLessThan(1e-4);
  });

  it('two arms of which one is drawn: the single member is chosen, 1/k each', () => {
    const arms = mixedArms(20, 6);
    const p = uniformSubsetThompsonPropensities(arms, 1, 0.07);
    for (const x of p) expect(x).toBeCloseTo(1 / 20, 12);
  });

  it('closed form for identical uniform arms: every arm 1/k, whatever the subset size', () => {
    const arms = Array.from({ length: 30 }, (_, i) => arm(i, 1, 1));
    const plain = uniformSubsetThompsonPropensities(arms, 5, 0);
    for (const x of plain) expect(x).toBeCloseTo(1 / 30, 4);
    // with satisficing the subset's leader (lowest index among its members: ties) keeps more: not uniform
    const sat = uniformSubsetThompsonPropensities(arms, 5, 0.07);
    expect(sat[0]).toBeGreaterThan(sat[29]);
  });

  it('match a Monte Carlo run of the literal procedure (60 arms, subsets of 6)', () => {
    const arms = mixedArms(60, 4);
    for (const eps of [0, 0.07]) {
      const exact = uniformSubsetThompsonPropensities(arms, 6, eps);
      const rng = createRng(11 + eps * 100);
      const n = 40_000;
      const counts = new Array<number>(arms.length).fill(0);
      for (let r = 0; r < n; r++) counts[literalChoice(arms, 6, eps, rng)] += 1;
      for (let i = 0; i < arms.length; i++) {
        const p = exact[i];
        const se = Math.sqrt((p * (1 - p)) / n);
        expect(Math.abs(counts[i] / n - p)).toBeLessThan(5 * se + 2e-3);
      }
    }
  });

  it('stay finite and sum to 1 with 1,000 proven arms and a subset of 101', () => {
    const rng = createRng(8);
    const arms = Array.from({ length: 1000 }, (_, i) => {
      const n = 20 + Math.floor(rng.next() * 400);
      const p = 0.3 + 0.65 * rng.next();
      return arm(i, 2 + p * n, 1 + (1 - p) * n, 120 + Math.floor(rng.next() * 1800));
    });
    const p = uniformSubsetThompsonPropensities(arms, 101, 0.07);
    expect(p.every((x) => Number.isFinite(x) && x >= 0)).toBe(true);
    expect(p.reduce((s, x) => s + x, 0)).toBeCloseTo(1, 9);
  });
});

describe('Thompson sampling variants in simulation', () => {
  const scenarioWith = (k: number) =>
    parseScenario({
      seed: 7,
      rounds: 150,
      repetitions: 2,
      contexts: [
        {
          language: 'go',
          arms: Array.from({ length: k }, (_, i) => ({
            id: `c${i}`,
            p_success: i === 3 ? 0.95 : 0.6 + 0.2 * ((i * 7) % 5) * 0.2,
            duration_s: 200 + 20 * i,
          })),
        },
      ],
    });

  it('see what thompson sees: the version-4 rule as a variant reproduces its figures exactly', () => {
    const s = scenarioWith(15);
    const base = simulate(s, DEFAULT_LEARNER_OPTIONS, 'v2', { leader: thompsonVariant(LEADER_SUBSET) });
    expect(base.variants?.leader).toEqual(base.policies.thompson);
    expect(simulate(s).variants).toBeUndefined();
  });

  it('differ from version 4 only where subsets are drawn (12 or more candidates)', () => {
    const few = scenarioWith(6);
    const many = scenarioWith(15);
    const uniform = POLICIES.thompson_uniform;
    expect(simulatePolicy(few, uniform)).toEqual(simulate(few).policies.thompson);
    expect(simulatePolicy(many, uniform).regret).not.toBe(simulate(many).policies.thompson.regret);
  });
});

describe('the uniform-subset policy, selectable as thompson_uniform', () => {
  it('is the simulated variant, chosen by configuration, comment or option, and logged with its plan', async () => {
    expect(POLICIES.thompson_uniform).toBe(THOMPSON_VARIANTS.thompson_uniform);
    expect(loadConfig({ PIPELINE_LEARNER_POLICY: 'thompson_uniform' }).learner.policy).toBe('thompson_uniform');
    expect(parseComment('/pipeline generate --policy thompson_uniform', { botUsername: 'pipeline-bot' })).toMatchObject(
      {
        kind: 'command',
        args: { policy: 'thompson_uniform' },
      },
    );

    const store = (await openTestStore('pglite'))!;
    try {
      const learner = new Learner({ store: createLearningStore(store.db), rng: createRng(5) });
      const context = { tenant: 'acme', language: 'go', framework: 'generic' };
      const candidates = Array.from({ length: 20 }, (_, i) => ({
        hash: i.toString(16).padStart(64, '0'),
        source: 'template' as const,
        config: `# ${i}\n`,
        label: `t${i}`,
      }));
      const choice = await learner.choose(context, candidates, { policy: 'thompson_uniform' });
      expect(choice.policy).toBe('thompson_uniform');
      const [logged] = await learner.decisions();
      expect(logged).toMatchObject({ policy: 'thompson_uniform', policyVersion: '1' });
      // 20 fresh candidates, no runs yet: a uniform subset of 2, so each is in it with probability 2/20
      // (version 4 would force the leader in: inclusion 1 for it, 1/19 for the others)
      const line = JSON.parse(decisionToJsonLine(logged!));
      expect(line.subset_size).toBe(2);
      expect(line.arms.map((a: { inclusion: number }) => a.inclusion)).toEqual(new Array(20).fill(0.1));
      expect(logged!.probabilities).toEqual(POLICIES.thompson_uniform.probabilities(logged!.arms, 0));
      expect(logged!.probabilities).not.toEqual(thompson.probabilities(logged!.arms, 0));
    } finally {
      await store.close();
    }
  });
});
