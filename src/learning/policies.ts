import type { ArmStats } from './ArmStats.js';
import { betaQuantile, incompleteBeta } from './betaMath.js';
import type { Rng } from './Rng.js';
import { durationCost, expectedReward, stagesBonus } from './reward.js';
import { leaderIndex, thompsonPropensities, uniformSubsetThompsonPropensities } from './thompsonPropensities.js';

export type PolicyName = 'thompson' | 'greedy' | 'epsilon_greedy' | 'ucb1' | 'thompson_uniform';
export const POLICY_NAMES: readonly PolicyName[] = ['thompson', 'greedy', 'epsilon_greedy', 'ucb1', 'thompson_uniform'];

export interface PolicyChoice {
  index: number;
  probabilities: number[];
  kind: 'explore' | 'exploit';
}

/**
 * A bandit policy over the eligible arms of one context. `probabilities` is the full distribution the
 * choice is drawn from (what the decision log stores as propensities); `contextRuns` is the context's run
 * counter, the clock of ε decay.
 */
export interface Policy {
  name: PolicyName;
  version: string;
  probabilities(arms: readonly ArmStats[], contextRuns: number): number[];
  choose(arms: readonly ArmStats[], contextRuns: number, rng: Rng): PolicyChoice;
}

/** Posterior mean reward (prior included): what "exploit" means for every policy. */
export function posteriorMeanReward(a: ArmStats): number {
  return expectedReward(a.alpha / (a.alpha + a.beta), a.durationS, a.stagesCount);
}

/** Observed mean reward (discounted evidence only); untried arms have none. */
export function observedMeanReward(a: ArmStats): number | null {
  const n = a.successes + a.failures;
  if (a.pulls === 0 || n <= 1e-12) return null;
  return expectedReward(a.successes / n, a.durationS, a.stagesCount);
}

function argmaxIndices(values: readonly number[]): number[] {
  let best = Number.NEGATIVE_INFINITY;
  let idx: number[] = [];
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v > best + 1e-12) {
      best = v;
      idx = [i];
    } else if (Math.abs(v - best) <= 1e-12) idx.push(i);
  }
  return idx;
}

export function sampleIndex(probabilities: readonly number[], rng: Rng): number {
  const u = rng.next();
  let acc = 0;
  let last = 0;
  for (let i = 0; i < probabilities.length; i++) {
    if (probabilities[i] <= 0) continue;
    acc += probabilities[i];
    last = i;
    if (u < acc) return i;
  }
  return last;
}

function uniformOver(indices: number[], k: number): number[] {
  const p = new Array<number>(k).fill(0);
  for (const i of indices) p[i] = 1 / indices.length;
  return p;
}

function exploitIndices(arms: readonly ArmStats[]): Set<number> {
  return new Set(argmaxIndices(arms.map(posteriorMeanReward)));
}

function untried(arms: readonly ArmStats[]): number | null {
  const i = arms.findIndex((a) => a.pulls === 0);
  return i < 0 ? null : i;
}

/**
 * Interval pruning: an arm whose whole 90 % credible interval of expected reward (the one `/learn/best`
 * shows) lies below the 5 % quantile of the best arm is not worth a real pipeline to explore; it keeps only
 * a floor of probability, so a misjudged arm is still re-tried now and then and can come back.
 */
export const PRUNE_QUANTILE = 0.05;
/** Probability each pruned arm keeps; all pruned arms together keep at most PRUNE_FLOOR_TOTAL. */
export const PRUNE_FLOOR = 0.001;
export const PRUNE_FLOOR_TOTAL = 0.01;

/** Splits the arms into those interval pruning keeps and those it leaves with the floor. */
function intervalPrune(arms: readonly ArmStats[]): { kept: number[]; pruned: number[] } {
  const k = arms.length;
  const m = arms.map((a) => 1 + stagesBonus(a.stagesCount));
  const c = arms.map((a) => durationCost(a.durationS));
  // Only an arm whose mean beats the running best lower bound can raise it: skip the others' quantiles.
  let lower = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < k; i++) {
    const mean = (arms[i].alpha / (arms[i].alpha + arms[i].beta)) * m[i] - c[i];
    if (mean <= lower) continue;
    lower = Math.max(lower, betaQuantile(PRUNE_QUANTILE, arms[i].alpha, arms[i].beta) * m[i] - c[i]);
  }
  const kept: number[] = [];
  const pruned: number[] = [];
  for (let i = 0; i < k; i++) {
    const u = (lower + c[i]) / m[i];
    const tail = u <= 0 ? 1 : u >= 1 ? 0 : 1 - incompleteBeta(u, arms[i].alpha, arms[i].beta);
    (tail >= PRUNE_QUANTILE ? kept : pruned).push(i);
  }
  return { kept, pruned };
}

/**
 * Satisficing (Russo & Van Roy, 2022): the leader (highest posterior mean reward) is kept unless a
 * challenger's sampled reward beats the leader's sampled reward by more than ε. Arms closer than ε are not
 * worth the runs it takes to tell them apart; ε = 0.05 is five points of success rate.
 */
export const SATISFICE_EPSILON = 0.05;
/**
 * With many candidates (at least SUBSAMPLE_MIN_ARMS kept), the best of several challengers' draws beats
 * the leader's by chance more often (the winner's curse grows with the number of draws), so the bar is
 * higher: 0.07. Both values were chosen on the shipped scenarios (docs/learning-attribution.md).
 */
export const SATISFICE_EPSILON_MANY = 0.07;

/**
 * Thompson sampling's choice probabilities after interval pruning: the kept arms share 1 − floor in
 * proportion to their exact Thompson propensities among themselves (subsampled when `contextRuns` is given
 * and enough arms are kept); each pruned arm gets the floor.
 */
export function prunedThompsonProbabilities(
  arms: readonly ArmStats[],
  contextRuns?: number,
  subset: SubsetRule = LEADER_SUBSET,
): number[] {
  const k = arms.length;
  if (k <= 1) return thompsonPropensities(arms);
  const { kept, pruned } = intervalPrune(arms);
  if (kept.length === 0) return thompsonPropensities(arms);
  const keptArms = kept.map((i) => arms[i]);
  let inner: number[];
  if (subset.kind === 'uniform') {
    const size =
      contextRuns === undefined
        ? keptArms.length
        : Math.min(
            keptArms.length,
            Math.max(subset.base, Math.ceil(subset.growth * Math.sqrt(Math.max(0, contextRuns) + 1))),
          );
    inner =
      keptArms.length >= SUBSAMPLE_MIN_ARMS && size < keptArms.length
        ? uniformSubsetThompsonPropensities(keptArms, size, subset.satisfice)
        : thompsonPropensities(
            keptArms,
            512,
            undefined,
            keptArms.length >= SUBSAMPLE_MIN_ARMS ? SATISFICE_EPSILON_MANY : SATISFICE_EPSILON,
          );
  } else {
    const plan = contextRuns === undefined ? null : subsetPlan(keptArms, contextRuns);
    const satisfice = keptArms.length >= SUBSAMPLE_MIN_ARMS ? SATISFICE_EPSILON_MANY : SATISFICE_EPSILON;
    inner = thompsonPropensities(keptArms, 512, plan?.inclusion, satisfice);
  }
  const out = new Array<number>(k).fill(0);
  const floor = pruned.length === 0 ? 0 : Math.min(PRUNE_FLOOR, PRUNE_FLOOR_TOTAL / pruned.length);
  const rest = 1 - floor * pruned.length;
  kept.forEach((i, j) => {
    out[i] = inner[j] * rest;
  });
  for (const i of pruned) out[i] = floor;
  return out;
}

/**
 * Subsampled Thompson sampling (Bayati et al., 2020): with many candidates, plain Thompson sampling spends
 * its runs trying every optimistic newcomer. Instead, each choice draws a subset of the candidates and
 * samples only within it. The subset always holds the leader (highest posterior mean reward; otherwise
 * the best arm could be chosen at most |subset|/k of the time, and satisficing needs it) and each other
 * candidate independently with probability q = (m − 1)/(k − 1), m = min(k, max(2, ⌈√(runs + 1)⌉)): one
 * challenger on average at first, about √runs later, until it is every candidate. Given its size, the set of
 * challengers is uniformly random. Below SUBSAMPLE_MIN_ARMS candidates the subset is always everything.
 * Interval pruning comes first: subsampling is among the arms it keeps. (Base and growth were chosen on the
 * shipped `wide` scenario, 30 repetitions: version 3's max(4, ⌈½√runs⌉) with satisficing at ε = 0.05 gave
 * regret 133 there, max(2, ⌈√runs⌉) with ε = 0.07 gives 95.)
 */
export const SUBSAMPLE_MIN_ARMS = 12;
export const SUBSAMPLE_BASE = 2;
export const SUBSAMPLE_GROWTH = 1;

/** Policy version 3 drew m = max(4, ⌈½·√(runs + 1)⌉): kept so that its logged decisions export their plan. */
const SUBSAMPLE_V3 = { base: 4, growth: 0.5 };

export function subsetSize(k: number, contextRuns: number, policyVersion?: string): number {
  const { base, growth } = policyVersion === '3' ? SUBSAMPLE_V3 : { base: SUBSAMPLE_BASE, growth: SUBSAMPLE_GROWTH };
  return Math.min(k, Math.max(base, Math.ceil(growth * Math.sqrt(Math.max(0, contextRuns) + 1))));
}

function subsetPlan(
  arms: readonly ArmStats[],
  contextRuns: number,
  policyVersion?: string,
  rule: SubsetRule['kind'] = 'leader',
): { size: number; inclusion: number[] } | null {
  const k = arms.length;
  if (k < SUBSAMPLE_MIN_ARMS) return null;
  const size = subsetSize(k, contextRuns, policyVersion);
  if (size >= k) return null;
  if (rule === 'uniform') return { size, inclusion: new Array<number>(k).fill(size / k) };
  const q = (size - 1) / (k - 1);
  const inclusion = new Array<number>(k).fill(q);
  inclusion[leaderIndex(arms)] = 1;
  return { size, inclusion };
}

/**
 * Each arm's probability of being in the subset (0 for an arm interval pruning left out: it keeps its
 * floor probability outside the subset), or null when the subset is every kept arm.
 */
export function thompsonSubset(
  arms: readonly ArmStats[],
  contextRuns: number,
  policyVersion?: string,
  rule: SubsetRule['kind'] = 'leader',
): { size: number; inclusion: number[] } | null {
  const { kept } = intervalPrune(arms);
  const plan = subsetPlan(
    kept.map((i) => arms[i]),
    contextRuns,
    policyVersion,
    rule,
  );
  if (!plan) return null;
  const inclusion = new Array<number>(arms.length).fill(0);
  kept.forEach((i, j) => {
    inclusion[i] = plan.inclusion[j];
  });
  return { size: plan.size, inclusion };
}

/**
 * The exact probability of each arm under the whole procedure (pruning floor and subset draw included):
 * among the kept arms, P(a) = q_a ∫ f_a(s) ∏_{j≠a} (1 − q_j + q_j F_j(s)) ds, integrated like plain
 * Thompson sampling.
 */
export function subsampledThompsonProbabilities(arms: readonly ArmStats[], contextRuns: number): number[] {
  return prunedThompsonProbabilities(arms, contextRuns);
}

/**
 * How subsampled Thompson sampling draws its subset. `leader` (the default, version 4): the leader always
 * in, every other kept arm independently with q = (m − 1)/(k − 1). `uniform` (issue 11's pinned design,
 * selectable in simulation): m kept arms uniformly at random, the leader not forced; Thompson sampling
 * within the subset with satisficing at `satisfice` against the subset's own leader (0 = none), subset size
 * m = min(k, max(base, ⌈growth·√(runs + 1)⌉)) (version 4's schedule: base 2, growth 1). Below
 * SUBSAMPLE_MIN_ARMS kept arms both are plain Thompson sampling with the usual satisficing.
 */
export type SubsetRule = { kind: 'leader' } | { kind: 'uniform'; satisfice: number; base: number; growth: number };
export const LEADER_SUBSET: SubsetRule = { kind: 'leader' };

/**
 * Thompson sampling with the given subset rule; `version` names the rule unless given (simulation variants),
 * `name` is the policy it is logged as.
 */
export function thompsonVariant(subset: SubsetRule, name: PolicyName = 'thompson', version?: string): Policy {
  return {
    name,
    version:
      version ??
      (subset.kind === 'leader'
        ? 'leader'
        : `uniform-eps${subset.satisfice}-base${subset.base}-growth${subset.growth}`),
    probabilities: (arms, contextRuns) => prunedThompsonProbabilities(arms, contextRuns, subset),
    choose(arms, contextRuns, rng) {
      const probabilities = this.probabilities(arms, contextRuns);
      const index = sampleIndex(probabilities, rng);
      return { index, probabilities, kind: exploitIndices(arms).has(index) ? 'exploit' : 'explore' };
    },
  };
}

/**
 * Issue 11's pinned design, selectable (`PIPELINE_LEARNER_POLICY=thompson_uniform`, `--policy`): with 12 or
 * more kept candidates, a subset of m = min(k, max(2, ⌈√(runs + 1)⌉)) drawn uniformly at random (the leader
 * not forced), Thompson sampling within it with satisficing at ε = 0.07 against the subset's own leader, and
 * the exact probability of the whole procedure logged. Not the default: on the shipped scenarios it has more
 * regret where subsets are drawn (docs/learning-attribution.md).
 */
export const UNIFORM_SUBSET: SubsetRule = {
  kind: 'uniform',
  satisfice: SATISFICE_EPSILON_MANY,
  base: SUBSAMPLE_BASE,
  growth: SUBSAMPLE_GROWTH,
};
export const thompsonUniform: Policy = thompsonVariant(UNIFORM_SUBSET, 'thompson_uniform', '1');

/**
 * Thompson sampling variants compared with version 4 in simulation, on its seeds and random streams
 * (bench:learner with BENCH_THOMPSON_VARIANTS=1, or `simulate(…, variants)`): the selectable uniform-subset
 * policy, and the same without satisficing (simulation only, never logged). Their exact propensities cost
 * k·m·grid per choice, so `simulate` runs them only when asked.
 */
export const THOMPSON_VARIANTS: Record<string, Policy> = {
  thompson_uniform: thompsonUniform,
  thompson_uniform_plain: thompsonVariant({ ...UNIFORM_SUBSET, satisfice: 0 }),
};

/** The policies `simulate` compares by default (the selectable `thompson_uniform` is a variant there). */
export type ComparedPolicy = Exclude<PolicyName, 'thompson_uniform'>;
export const COMPARED_POLICIES: readonly ComparedPolicy[] = ['thompson', 'greedy', 'epsilon_greedy', 'ucb1'];

export const thompson: Policy = {
  name: 'thompson',
  version: '4',
  probabilities: (arms, contextRuns) => subsampledThompsonProbabilities(arms, contextRuns),
  choose(arms, contextRuns, rng) {
    // Drawing from the exact choice distribution is (subsampled) Thompson sampling — the same distribution
    // as drawing the subset and then a posterior sample per member — and keeps the logged propensity equal
    // to the probability the choice was really made with.
    const probabilities = this.probabilities(arms, contextRuns);
    const index = sampleIndex(probabilities, rng);
    return { index, probabilities, kind: exploitIndices(arms).has(index) ? 'exploit' : 'explore' };
  },
};

/** Seed 000's rule made a policy: try every arm once, then always the best observed mean reward. */
export const greedy: Policy = {
  name: 'greedy',
  version: '1',
  probabilities(arms) {
    const u = untried(arms);
    if (u !== null) return uniformOver([u], arms.length);
    return uniformOver(argmaxIndices(arms.map((a) => observedMeanReward(a) ?? posteriorMeanReward(a))), arms.length);
  },
  choose(arms, contextRuns, rng) {
    const probabilities = this.probabilities(arms, contextRuns);
    const index = sampleIndex(probabilities, rng);
    return { index, probabilities, kind: untried(arms) !== null ? 'explore' : 'exploit' };
  },
};

/** Seed 002's schedule: ε starts at 0.1, decays ×0.995 per choice, never below 0.01. */
export const EPSILON_START = 0.1;
export const EPSILON_DECAY = 0.995;
export const EPSILON_MIN = 0.01;

/** ε_t = max(0.01, 0.1 · 0.995^t), t = runs of the context so far. */
export function epsilonAt(contextRuns: number): number {
  return Math.max(EPSILON_MIN, EPSILON_START * EPSILON_DECAY ** Math.max(0, contextRuns));
}

export const epsilonGreedy: Policy = {
  name: 'epsilon_greedy',
  version: '1',
  probabilities(arms, contextRuns) {
    const k = arms.length;
    const u = untried(arms);
    if (u !== null) return uniformOver([u], k);
    const eps = epsilonAt(contextRuns);
    const best = argmaxIndices(arms.map((a) => observedMeanReward(a) ?? posteriorMeanReward(a)));
    const p = new Array<number>(k).fill(eps / k);
    for (const i of best) p[i] += (1 - eps) / best.length;
    return p;
  },
  choose(arms, contextRuns, rng) {
    const k = arms.length;
    const probabilities = this.probabilities(arms, contextRuns);
    const u = untried(arms);
    if (u !== null) return { index: u, probabilities, kind: 'explore' };
    const eps = epsilonAt(contextRuns);
    if (rng.next() < eps) return { index: Math.min(k - 1, Math.floor(rng.next() * k)), probabilities, kind: 'explore' };
    const best = argmaxIndices(arms.map((a) => observedMeanReward(a) ?? posteriorMeanReward(a)));
    return {
      index: best[Math.min(best.length - 1, Math.floor(rng.next() * best.length))],
      probabilities,
      kind: 'exploit',
    };
  },
};

/** UCB1 on discounted counts: mean + sqrt(2 ln N / n_i), untried arms first. */
export const ucb1: Policy = {
  name: 'ucb1',
  version: '1',
  probabilities(arms) {
    const u = untried(arms);
    if (u !== null) return uniformOver([u], arms.length);
    const total = arms.reduce((s, a) => s + a.successes + a.failures, 0);
    const scores = arms.map((a) => {
      const n = Math.max(a.successes + a.failures, 1e-9);
      const mean = observedMeanReward(a) ?? posteriorMeanReward(a);
      return mean + Math.sqrt((2 * Math.log(Math.max(total, 1.0001))) / n);
    });
    return uniformOver(argmaxIndices(scores), arms.length);
  },
  choose(arms, contextRuns, rng) {
    const probabilities = this.probabilities(arms, contextRuns);
    const index = sampleIndex(probabilities, rng);
    const kind = untried(arms) === null && exploitIndices(arms).has(index) ? 'exploit' : 'explore';
    return { index, probabilities, kind };
  },
};

export const POLICIES: Record<PolicyName, Policy> = {
  thompson,
  greedy,
  epsilon_greedy: epsilonGreedy,
  ucb1,
  thompson_uniform: thompsonUniform,
};

export function isPolicyName(name: string): name is PolicyName {
  return (POLICY_NAMES as readonly string[]).includes(name);
}
