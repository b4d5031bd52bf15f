import { z } from 'zod';
import { armStats } from './ArmStats.js';
import { isBrokenOut } from './eligibility.js';
import { DEFAULT_LEARNER_OPTIONS, type LearnerOptions } from './LearnerOptions.js';
import { POLICIES, POLICY_NAMES, type PolicyName } from './policies.js';
import { type ArmEvidence, addRun, emptyArm } from './posterior.js';
import { createRng, type Rng } from './Rng.js';
import { expectedReward } from './reward.js';

const armSchema = z.object({
  id: z.string().min(1),
  source: z.enum(['learned', 'template', 'default', 'translated', 'llm']).default('default'),
  p_success: z.number().min(0).max(1),
  duration_s: z.number().min(0).default(0),
  stages_count: z.number().int().min(0).optional(),
  breaks_at: z.number().int().min(0).optional(),
  p_after: z.number().min(0).max(1).optional(),
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
}

export interface SimulationResult {
  rounds: number;
  repetitions: number;
  policies: Record<PolicyName, PolicyFigures>;
  oracle_success_rate: number;
}

export function parseScenario(input: unknown): Scenario {
  return scenarioSchema.parse(input);
}

type ScenarioArm = Scenario['contexts'][number]['arms'][number];

function pAt(arm: ScenarioArm, t: number): number {
  return arm.breaks_at !== undefined && t >= arm.breaks_at ? (arm.p_after ?? 0) : arm.p_success;
}

function armReward(arm: ScenarioArm, t: number): number {
  return expectedReward(pAt(arm, t), arm.duration_s, arm.stages_count ?? null);
}

function pickContext(weights: number[], total: number, rng: Rng): number {
  let u = rng.next() * total;
  for (let i = 0; i < weights.length; i++) {
    u -= weights[i];
    if (u < 0) return i;
  }
  return weights.length - 1;
}

function runOnce(
  scenario: Scenario,
  policyName: PolicyName,
  seed: number,
  options: LearnerOptions,
): PolicyFigures & { oracle: number } {
  const policy = POLICIES[policyName];
  const envRng = createRng(seed);
  const rng = createRng((seed ^ (0x5bd1e995 * (POLICY_NAMES.indexOf(policyName) + 1))) >>> 0);
  const weights = scenario.contexts.map((c) => c.weight);
  const total = weights.reduce((a, b) => a + b, 0);
  const state = scenario.contexts.map((c) => ({
    rounds: 0,
    runs: 0,
    arms: c.arms.map((a) => emptyArm(a.id, a.source)) as ArmEvidence[],
  }));
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
    regret += best - armReward(arm, t);
    oracle += bestP;
    if (arm.breaks_at !== undefined && t >= arm.breaks_at) recovery += 1;
    const success = rng.next() < pAt(arm, t);
    if (success) successes += 1;
    st.runs += 1;
    st.arms[chosen] = addRun(
      st.arms[chosen],
      { hash: arm.id, slot: st.runs, success, durationS: arm.duration_s, stagesCount: arm.stages_count ?? null },
      options,
    );
  }
  return {
    regret,
    success_rate: successes / scenario.rounds,
    recovery_runs: recovery,
    oracle: oracle / scenario.rounds,
  };
}

/**
 * Runs every policy on the scenario. Regret is Σ (best arm's expected reward − chosen arm's), with the
 * reward formula of reward.ts; recovery_runs counts choices of an arm after its `breaks_at`. Every policy
 * sees the same context sequence; repetitions use derived seeds and the figures are their means.
 */
export function simulate(scenario: Scenario, options: LearnerOptions = DEFAULT_LEARNER_OPTIONS): SimulationResult {
  const policies = {} as Record<PolicyName, PolicyFigures>;
  let oracle = 0;
  for (const name of POLICY_NAMES) {
    const sum = { regret: 0, success_rate: 0, recovery_runs: 0 };
    for (let rep = 0; rep < scenario.repetitions; rep++) {
      const seed = (scenario.seed + rep * 7919) >>> 0;
      const r = runOnce(scenario, name, seed, options);
      sum.regret += r.regret;
      sum.success_rate += r.success_rate;
      sum.recovery_runs += r.recovery_runs;
      if (name === 'thompson') oracle += r.oracle;
    }
    const n = scenario.repetitions;
    policies[name] = {
      regret: round(sum.regret / n),
      success_rate: round(sum.success_rate / n),
      recovery_runs: round(sum.recovery_runs / n),
    };
  }
  return {
    rounds: scenario.rounds,
    repetitions: scenario.repetitions,
    policies,
    oracle_success_rate: round(oracle / scenario.repetitions),
  };
}

function round(x: number): number {
  return Math.round(x * 1e4) / 1e4;
}
