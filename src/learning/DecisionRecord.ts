import type { ArmStats } from './ArmStats.js';
import type { LearningContext } from './Chooser.js';
import { thompsonSubset } from './policies.js';
import type { RewardParts } from './reward.js';

/** One logged choice; enough to re-run any policy on the same arm statistics offline. */
export interface DecisionRecord {
  id: string;
  at: string;
  policy: string;
  policyVersion: string;
  context: LearningContext;
  /** context run counter when deciding (the ε-greedy clock) */
  contextRuns: number;
  /** every eligible arm, with the statistics the policy saw */
  arms: ArmStats[];
  /** the policy's probability of choosing each arm, in `arms` order; sums to 1 */
  probabilities: number[];
  chosenHash: string;
  kind: 'explore' | 'exploit' | 'forced';
  /** probability the chosen arm had (1 when forced) */
  propensity: number;
  pipelineId: number | null;
  reward: RewardParts | null;
}

/**
 * Export format, version 1 — one JSON object per line (JSON Lines), snake_case keys:
 *
 *   {"format":"pipeline-learner.decision/1","decision_id":"…","at":"2026-01-01T00:00:00.000Z",
 *    "policy":"thompson","policy_version":"1",
 *    "context":{"tenant":"acme","language":"go","framework":"generic"},"context_runs":41,
 *    "arms":[{"hash":"<64 hex>","source":"template","alpha":9.2,"beta":2.1,"successes":7.2,"failures":1.1,
 *             "pulls":9,"duration_s":312,"stages_count":5,"probability":0.81}, …],
 *    "chosen":"<64 hex>","kind":"exploit","propensity":0.81,
 *    "pipeline_id":123456,"reward":{"success":1,"duration_s":312,"stages_count":5,"stages_bonus":0.025,
 *             "duration_cost":0.0087,"value":1.0163},"reward_formula":"v1"}
 *
 * `reward`, `reward_formula` and `pipeline_id` are null until the decision's pipeline finished.
 * A `v2` reward adds `attribution`, `credit`, `tests_total`, `tests_bonus`, `coverage`, `coverage_bonus`
 * (reward.ts); a subsampled Thompson decision (`thompson` from version 3, `thompson_uniform`) adds `subset_size` and per-arm `inclusion` (each arm's probability of being in the subset) — fields only,
 * so readers of `/1` keep working.
 * `kind` is explore, exploit or forced (a user picked the arm; not usable for off-policy evaluation).
 */
export const DECISION_FORMAT = 'pipeline-learner.decision/1';

export function decisionToJsonLine(d: DecisionRecord): string {
  // Derived, not stored: the subset plan is a function of the arms and the run counter.
  const subset =
    d.policy === 'thompson' && Number(d.policyVersion) >= 3
      ? thompsonSubset(d.arms, d.contextRuns, d.policyVersion)
      : d.policy === 'thompson_uniform'
        ? thompsonSubset(d.arms, d.contextRuns, undefined, 'uniform')
        : null;
  return JSON.stringify({
    format: DECISION_FORMAT,
    decision_id: d.id,
    at: d.at,
    policy: d.policy,
    policy_version: d.policyVersion,
    context: d.context,
    context_runs: d.contextRuns,
    arms: d.arms.map((a, i) => ({
      hash: a.hash,
      source: a.source,
      alpha: a.alpha,
      beta: a.beta,
      successes: a.successes,
      failures: a.failures,
      pulls: a.pulls,
      duration_s: a.durationS,
      stages_count: a.stagesCount,
      probability: d.probabilities[i],
      ...(subset ? { inclusion: subset.inclusion[i] } : {}),
    })),
    ...(subset ? { subset_size: subset.size } : {}),
    chosen: d.chosenHash,
    kind: d.kind,
    propensity: d.propensity,
    pipeline_id: d.pipelineId,
    reward: d.reward
      ? {
          success: d.reward.success,
          duration_s: d.reward.durationS,
          stages_count: d.reward.stagesCount,
          stages_bonus: d.reward.stagesBonus,
          duration_cost: d.reward.durationCost,
          value: d.reward.reward,
          ...(d.reward.attribution
            ? {
                attribution: d.reward.attribution,
                credit: d.reward.credit,
                tests_total: d.reward.testsTotal ?? null,
                tests_bonus: d.reward.testsBonus,
                coverage: d.reward.coverage ?? null,
                coverage_bonus: d.reward.coverageBonus,
              }
            : {}),
        }
      : null,
    reward_formula: d.reward?.formulaVersion ?? null,
  });
}

/** Parses one exported line back (for `evaluate` on a file other tools wrote). */
export function decisionFromJsonLine(line: string): DecisionRecord {
  const o = JSON.parse(line);
  if (o.format !== DECISION_FORMAT) throw new Error(`not a ${DECISION_FORMAT} line`);
  const arms = (o.arms as Record<string, unknown>[]).map((a) => ({
    hash: String(a.hash),
    source: a.source as ArmStats['source'],
    alpha: Number(a.alpha),
    beta: Number(a.beta),
    successes: Number(a.successes),
    failures: Number(a.failures),
    pulls: Number(a.pulls),
    durationS: a.duration_s == null ? null : Number(a.duration_s),
    stagesCount: a.stages_count == null ? null : Number(a.stages_count),
  }));
  return {
    id: String(o.decision_id),
    at: String(o.at),
    policy: String(o.policy),
    policyVersion: String(o.policy_version),
    context: o.context,
    contextRuns: Number(o.context_runs),
    arms,
    probabilities: (o.arms as Record<string, unknown>[]).map((a) => Number(a.probability)),
    chosenHash: String(o.chosen),
    kind: o.kind,
    propensity: Number(o.propensity),
    pipelineId: o.pipeline_id ?? null,
    reward: o.reward
      ? {
          success: o.reward.success ? 1 : 0,
          durationS: o.reward.duration_s,
          stagesCount: o.reward.stages_count,
          stagesBonus: o.reward.stages_bonus,
          durationCost: o.reward.duration_cost,
          reward: o.reward.value,
          formulaVersion: o.reward_formula,
          ...(o.reward.attribution
            ? {
                attribution: o.reward.attribution,
                credit: o.reward.credit,
                testsTotal: o.reward.tests_total ?? null,
                testsBonus: o.reward.tests_bonus,
                coverage: o.reward.coverage ?? null,
                coverageBonus: o.reward.coverage_bonus,
              }
            : {}),
        }
      : null,
  };
}
