import type { DecisionRecord } from './DecisionRecord.js';
import { DEFAULT_LEARNER_OPTIONS, type LearnerOptions } from './LearnerOptions.js';
import { evaluateOffline } from './offlineEvaluation.js';
import { POLICIES, type PolicyName } from './policies.js';
import { logDecisions, type Scenario, type SimulatedDecision } from './simulate.js';

export interface IntervalCoverage {
  /** share of replications whose 95 % bootstrap interval holds the true value */
  coverage: number;
  /** mean of (estimate − true value) */
  bias: number;
  meanWidth: number;
}

export interface CoverageReport {
  logging: PolicyName;
  target: PolicyName;
  replications: number;
  meanDecisions: number;
  meanEffectiveSampleSize: number;
  ips: IntervalCoverage;
  snips: IntervalCoverage;
}

/** What the target policy would truly earn on the logged contexts: mean over them of Σₐ π(a|x)·μ(a|x). */
export function trueValue(decisions: readonly SimulatedDecision[], target: PolicyName): number {
  const policy = POLICIES[target];
  let sum = 0;
  for (const d of decisions) {
    const pi = policy.probabilities(d.arms, d.contextRuns);
    for (let a = 0; a < pi.length; a++) sum += pi[a] * d.truth[a];
  }
  return decisions.length ? sum / decisions.length : Number.NaN;
}

function asRecords(decisions: readonly SimulatedDecision[], logging: PolicyName): DecisionRecord[] {
  return decisions.map((d, i) => ({
    id: `sim-${i}`,
    at: new Date(0).toISOString(),
    policy: logging,
    policyVersion: POLICIES[logging].version,
    context: { tenant: 'sim', language: 'sim', framework: 'generic' },
    contextRuns: d.contextRuns,
    arms: d.arms,
    probabilities: d.probabilities,
    chosenHash: d.arms[d.chosen].hash,
    kind: 'explore',
    propensity: d.probabilities[d.chosen],
    pipelineId: i,
    reward: {
      success: 1,
      durationS: null,
      stagesCount: null,
      stagesBonus: 0,
      durationCost: 0,
      reward: d.reward,
      formulaVersion: 'sim',
    },
  }));
}

/**
 * The check that offline evaluation can be trusted: in simulation the true value of the target policy on
 * the logged contexts is known, so over many independent logging runs its 95 % bootstrap interval should
 * hold it in about 95 % of them. Replication r logs with seed `seed + r·7919`.
 */
export function offlineCoverage(
  scenario: Scenario,
  opts: {
    logging: PolicyName;
    target: PolicyName;
    replications: number;
    bootstrap?: number;
    seed?: number;
    options?: LearnerOptions;
  },
): CoverageReport {
  const acc = {
    ips: { hit: 0, bias: 0, width: 0 },
    snips: { hit: 0, bias: 0, width: 0 },
    n: 0,
    ess: 0,
  };
  const base = opts.seed ?? scenario.seed;
  for (let r = 0; r < opts.replications; r++) {
    const logged = logDecisions(
      scenario,
      opts.logging,
      (base + r * 7919) >>> 0,
      opts.options ?? DEFAULT_LEARNER_OPTIONS,
    );
    const truth = trueValue(logged, opts.target);
    const e = evaluateOffline(asRecords(logged, opts.logging), POLICIES[opts.target], {
      bootstrap: opts.bootstrap ?? 1000,
      seed: r + 1,
    });
    for (const k of ['ips', 'snips'] as const) {
      const est = e[k];
      if (est.low <= truth && truth <= est.high) acc[k].hit += 1;
      acc[k].bias += est.value - truth;
      acc[k].width += est.high - est.low;
    }
    acc.n += e.decisions;
    acc.ess += e.effectiveSampleSize;
  }
  const R = opts.replications;
  const summary = (k: 'ips' | 'snips'): IntervalCoverage => ({
    coverage: acc[k].hit / R,
    bias: acc[k].bias / R,
    meanWidth: acc[k].width / R,
  });
  return {
    logging: opts.logging,
    target: opts.target,
    replications: R,
    meanDecisions: acc.n / R,
    meanEffectiveSampleSize: acc.ess / R,
    ips: summary('ips'),
    snips: summary('snips'),
  };
}
