import { z } from 'zod';
import { type ArmStats, armStats } from './ArmStats.js';
import { ATTRIBUTION_CLASSES, type AttributionClass, creditOf } from './attribution.js';
import { isBrokenOut } from './eligibility.js';
import { DEFAULT_LEARNER_OPTIONS, type LearnerOptions } from './LearnerOptions.js';
import {
  COMPARED_POLICIES,
  type ComparedPolicy,
  POLICIES,
  POLICY_NAMES,
  type Policy,
  type PolicyName,
} from './policies.js';
import { type ArmEvidence, addRun, emptyArm } from './posterior.js';
import { createRng, type Rng } from './Rng.js';
import { durationCost, expectedReward, stagesBonus } from './reward.js';

const armSchema = z.object({
  id: z.string().min(1),
  source: z.enum(['learned', 'template', 'default', 'translated', 'llm']).default('default'),
  p_success: z.number().min(0).max(1),
  duration_s: z.number().min(0).default(0),
  stages_count: z.number().int().min(0).optional(),
  breaks_at: z.number().int().min(0).optional(),
  p_after: z.number().min(0).max(1).optional(),
  /** tests the configuration runs; 0 = a configuration that runs no test (green is weak evidence) */
  tests: z.number().int().min(0).optional(),
  /** when the configuration works, the chance the code's tests fail (red, but the configuration worked) */
  p_code_failure: z.number().min(0).max(1).default(0),
  /** the chance the runner loses the job (red, no evidence) */
  p_runner_failure: z.number().min(0).max(1).default(0),
  /** when green, the chance a job passed only on retry (flaky) */
  p_flaky: z.number().min(0).max(1).default(0),
});

export const scenarioSchema = z.object({
  name: z.string().optional(),
  description: z.string().optional(),
  seed: z.number().int().default(42),
  rounds: z.number().int().min(1).max(1_000_000),
  /** independent repetitions with derived seeds; figures are their means */
  repetitions: z.number().int().min(1).max(1000).default(1),
  contexts: z
    .array(
      z.object({
        language: z.string().min(1),
        framework: z.string().min(1).default('generic'),
        weight: z.number().positive().default(1),
        /** context rounds [start, end) during which every run is lost to a runner outage */
        runner_outages: z.array(z.object({ start: z.number().int().min(0), end: z.number().int().min(0) })).default([]),
        arms: z.array(armSchema).min(1),
      }),
    )
    .min(1),
});

export type Scenario = z.infer<typeof scenarioSchema>;

export interface PolicyFigures {
  regret: number;
  success_rate: number;
  recovery_runs: number;
  /**
   * rounds of the first context until the best arm's share of the next 100 choices there is ≥ 90 %
   * (the context's round count when that never happens)
   */
  runs_to_best: number;
}

export type RewardMode = 'v1' | 'v2';

export interface SimulationResult {
  rounds: number;
  repetitions: number;
  /** v2: the learner sees the failure attribution; v1: only green or red */
  reward: RewardMode;
  policies: Record<ComparedPolicy, PolicyFigures>;
  /** figures of the Thompson sampling variants asked for (same seeds and random streams as `thompson`) */
  variants?: Record<string, PolicyFigures>;
  oracle_success_rate: number;
  /** share of each attribution class among Thompson sampling's runs */
  outcomes: Record<AttributionClass, number>;
}

export function parseScenario(input: unknown): Scenario {
  return scenarioSchema.parse(input);
}

type ScenarioArm = Scenario['contexts'][number]['arms'][number];

function pAt(arm: ScenarioArm, t: number): number {
  return arm.breaks_at !== undefined && t >= arm.breaks_at ? (arm.p_after ?? 0) : arm.p_success;
}

/**
 * What a run of the arm is worth to the user: the chance the configuration works times the credit its
 * green runs earn (½ without tests, ¾ after a retry), in reward v2's terms. With none of the new fields
 * it is v1's expected reward, so old scenarios keep their figures.
 */
function armReward(arm: ScenarioArm, t: number): number {
  const green = arm.tests === 0 ? 0.5 : 1 - 0.25 * arm.p_flaky;
  return expectedReward(pAt(arm, t) * green, arm.duration_s, arm.stages_count ?? null);
}

export interface SimulatedOutcome {
  green: boolean;
  attribution: AttributionClass;
}

/**
 * One pipeline of the arm at context round t. Random draws happen only for the features the arm has, so a
 * scenario without the new fields consumes the same random numbers as before.
 */
export function simulateOutcome(arm: ScenarioArm, t: number, outage: boolean, rng: Rng): SimulatedOutcome {
  if (outage || (arm.p_runner_failure > 0 && rng.next() < arm.p_runner_failure)) {
    return { green: false, attribution: 'no_evidence' };
  }
  if (!(rng.next() < pAt(arm, t))) return { green: false, attribution: 'broken' };
  if (arm.tests !== 0 && arm.p_code_failure > 0 && rng.next() < arm.p_code_failure) {
    return { green: false, attribution: 'works' };
  }
  if (arm.tests === 0) return { green: true, attribution: 'weak' };
  if (arm.p_flaky > 0 && rng.next() < arm.p_flaky) return { green: true, attribution: 'flaky' };
  return { green: true, attribution: 'works' };
}

function pickContext(weights: number[], total: number, rng: Rng): number {
  let u = rng.next() * total;
  for (let i = 0; i < weights.length; i++) {
    u -= weights[i];
    if (u < 0) return i;
  }
  return weights.length - 1;
}

/** One logged choice of a simulated run, with the true expected reward of every eligible arm. */
export interface SimulatedDecision {
  arms: ArmStats[];
  contextRuns: number;
  probabilities: number[];
  chosen: number;
  reward: number;
  truth: number[];
}

function runOnce(
  scenario: Scenario,
  policyName: PolicyName,
  seed: number,
  options: LearnerOptions,
  mode: RewardMode,
  onDecision?: (d: SimulatedDecision) => void,
  variant?: Policy,
): PolicyFigures & { oracle: number; outcomes: Record<AttributionClass, number> } {
  const policy = variant ?? POLICIES[policyName];
  const envRng = createRng(seed);
  const rng = createRng((seed ^ (0x5bd1e995 * (POLICY_NAMES.indexOf(policyName) + 1))) >>> 0);
  const weights = scenario.contexts.map((c) => c.weight);
  const total = weights.reduce((a, b) => a + b, 0);
  const state = scenario.contexts.map((c) => ({
    rounds: 0,
    runs: 0,
    arms: c.arms.map((a) => emptyArm(a.id, a.source)) as ArmEvidence[],
  }));
  const outcomes = zeroPerClass();
  const firstContextBest: boolean[] = [];
  let regret = 0;
  let successes = 0;
  let recovery = 0;
  let oracle = 0;
  for (let round = 0; round < scenario.rounds; round++) {
    const ci = pickContext(weights, total, envRng);
    const ctx = scenario.contexts[ci];
    const st = state[ci];
    const t = st.rounds++;
    let eligible = ctx.arms.map((_, i) => i).filter((i) => !isBrokenOut(st.arms[i], st.runs, options));
    if (eligible.length === 0) eligible = ctx.arms.map((_, i) => i);
    const stats = eligible.map((i) => armStats(st.arms[i], st.runs, options));
    const choice = policy.choose(stats, st.runs, rng);
    const chosen = eligible[choice.index];
    const arm = ctx.arms[chosen];
    let best = Number.NEGATIVE_INFINITY;
    let bestP = 0;
    for (const a of ctx.arms) {
      const r = armReward(a, t);
      if (r > best) {
        best = r;
        bestP = pAt(a, t);
      }
    }
    const value = armReward(arm, t);
    regret += best - value;
    oracle += bestP;
    if (ci === 0) firstContextBest.push(value >= best - 1e-12);
    if (arm.breaks_at !== undefined && t >= arm.breaks_at) recovery += 1;
    const outage = ctx.runner_outages.some((o) => t >= o.start && t < o.end);
    const outcome = simulateOutcome(arm, t, outage, rng);
    outcomes[outcome.attribution] += 1;
    if (outcome.green) successes += 1;
    if (onDecision) {
      const credit = outcome.attribution === 'no_evidence' ? null : creditOf(outcome.attribution)!;
      if (credit !== null) {
        onDecision({
          arms: stats,
          contextRuns: st.runs,
          probabilities: choice.probabilities,
          chosen: choice.index,
          reward: credit * (1 + stagesBonus(arm.stages_count ?? null)) - durationCost(arm.duration_s),
          truth: eligible.map((i) => armReward(ctx.arms[i], t)),
        });
      }
    }
    st.runs += 1;
    st.arms[chosen] = addRun(
      st.arms[chosen],
      {
        hash: arm.id,
        slot: st.runs,
        success: outcome.green,
        durationS: arm.duration_s,
        stagesCount: arm.stages_count ?? null,
        attribution: mode === 'v2' ? outcome.attribution : null,
      },
      options,
    );
  }
  const n = scenario.rounds;
  for (const k of Object.keys(outcomes) as AttributionClass[]) outcomes[k] /= n;
  return {
    regret,
    success_rate: successes / n,
    recovery_runs: recovery,
    runs_to_best: runsToBest(firstContextBest),
    oracle: oracle / n,
    outcomes,
  };
}

/** First index from which the best arm holds ≥ 90 % of the next 100 choices (the length when never). */
export function runsToBest(isBest: readonly boolean[], window = 100, share = 0.9): number {
  if (isBest.length < window) return isBest.length;
  let inWindow = 0;
  for (let i = 0; i < window; i++) if (isBest[i]) inWindow++;
  for (let start = 0; start + window <= isBest.length; start++) {
    if (inWindow >= share * window) return start;
    if (start + window < isBest.length) inWindow += (isBest[start + window] ? 1 : 0) - (isBest[start] ? 1 : 0);
  }
  return isBest.length;
}

/**
 * Logs every decision of `policyName` on one repetition of the scenario (decisions whose pipeline carried
 * no evidence are left out, as the learner leaves them unrewarded); for offline-evaluation checks.
 */
export function logDecisions(
  scenario: Scenario,
  policyName: PolicyName,
  seed: number,
  options: LearnerOptions = DEFAULT_LEARNER_OPTIONS,
  mode: RewardMode = 'v2',
): SimulatedDecision[] {
  const out: SimulatedDecision[] = [];
  runOnce(scenario, policyName, seed, options, mode, (d) => out.push(d));
  return out;
}

/**
 * Runs every policy on the scenario. Regret is Σ (best arm's expected reward − chosen arm's), with the
 * reward formula of reward.ts; recovery_runs counts choices of an arm after its `breaks_at`. Every policy
 * sees the same context sequence; repetitions use derived seeds and the figures are their means.
 */
export function simulate(
  scenario: Scenario,
  options: LearnerOptions = DEFAULT_LEARNER_OPTIONS,
  mode: RewardMode = 'v2',
  variants?: Record<string, Policy>,
): SimulationResult {
  const policies = {} as Record<ComparedPolicy, PolicyFigures>;
  let oracle = 0;
  const outcomes = zeroPerClass();
  const n = scenario.repetitions;
  for (const name of COMPARED_POLICIES) {
    const sum = { regret: 0, success_rate: 0, recovery_runs: 0, runs_to_best: 0 };
    for (let rep = 0; rep < n; rep++) {
      const seed = (scenario.seed + rep * 7919) >>> 0;
      const r = runOnce(scenario, name, seed, options, mode);
      sum.regret += r.regret;
      sum.success_rate += r.success_rate;
      sum.recovery_runs += r.recovery_runs;
      sum.runs_to_best += r.runs_to_best;
      if (name === 'thompson') {
        oracle += r.oracle;
        for (const k of Object.keys(outcomes) as AttributionClass[]) outcomes[k] += r.outcomes[k] / n;
      }
    }
    policies[name] = {
      regret: round(sum.regret / n),
      success_rate: round(sum.success_rate / n),
      recovery_runs: round(sum.recovery_runs / n),
      runs_to_best: round(sum.runs_to_best / n),
    };
  }
  let variantFigures: Record<string, PolicyFigures> | undefined;
  if (variants) {
    variantFigures = {};
    for (const [name, policy] of Object.entries(variants)) {
      variantFigures[name] = simulatePolicy(scenario, policy, options, mode);
    }
  }
  for (const k of Object.keys(outcomes) as AttributionClass[]) outcomes[k] = round(outcomes[k]);
  return {
    rounds: scenario.rounds,
    repetitions: n,
    reward: mode,
    policies,
    ...(variantFigures ? { variants: variantFigures } : {}),
    oracle_success_rate: round(oracle / n),
    outcomes,
  };
}

/**
 * One policy's figures on the scenario (means over its repetitions), with the seeds, context sequence and
 * random stream `simulate` gives `thompson`: a Thompson sampling variant (`thompson_uniform` included) sees
 * exactly what `thompson` sees, so differences come from the policy alone (a paired comparison).
 */
export function simulatePolicy(
  scenario: Scenario,
  policy: Policy,
  options: LearnerOptions = DEFAULT_LEARNER_OPTIONS,
  mode: RewardMode = 'v2',
): PolicyFigures {
  const n = scenario.repetitions;
  const sum = { regret: 0, success_rate: 0, recovery_runs: 0, runs_to_best: 0 };
  for (let rep = 0; rep < n; rep++) {
    const seed = (scenario.seed + rep * 7919) >>> 0;
    const r = runOnce(scenario, 'thompson', seed, options, mode, undefined, policy);
    sum.regret += r.regret;
    sum.success_rate += r.success_rate;
    sum.recovery_runs += r.recovery_runs;
    sum.runs_to_best += r.runs_to_best;
  }
  return {
    regret: round(sum.regret / n),
    success_rate: round(sum.success_rate / n),
    recovery_runs: round(sum.recovery_runs / n),
    runs_to_best: round(sum.runs_to_best / n),
  };
}

function round(x: number): number {
  return Math.round(x * 1e4) / 1e4;
}

function zeroPerClass(): Record<AttributionClass, number> {
  return Object.fromEntries(ATTRIBUTION_CLASSES.map((c) => [c, 0])) as Record<AttributionClass, number>;
}
