/**
 * Reward formula, version `v1` (stored with every rewarded decision; a change gets a new version):
 *
 *   reward = s · (1 + 0.05 · min(stages, 10) / 10) − 0.1 · min(duration_s / 3600, 1)
 *
 * where s = 1 for a successful pipeline, 0 for a failed one; `stages` is the number of stages of the
 * configuration (0 when unknown) and `duration_s` the pipeline's duration (0 when unknown). Canceled
 * pipelines have no reward. Success dominates: the stage bonus (at most +0.05, seed 000's "most stages")
 * only counts when the pipeline succeeded, and an hour of pipeline time costs 0.1, i.e. as much as ten
 * percentage points of success rate (seed 000's "faster is better" and seed 002's time penalty).
 * The expected reward of an arm with success probability p is p · (1 + bonus) − cost.
 */
export const REWARD_FORMULA_VERSION = 'v1';

export const STAGES_WEIGHT = 0.05;
export const STAGES_CAP = 10;
export const DURATION_WEIGHT = 0.1;
export const DURATION_CAP_S = 3600;

export interface RewardParts {
  success: 0 | 1;
  durationS: number | null;
  stagesCount: number | null;
  stagesBonus: number;
  durationCost: number;
  reward: number;
  formulaVersion: string;
}

export function stagesBonus(stagesCount: number | null | undefined): number {
  if (!stagesCount || stagesCount <= 0) return 0;
  return (STAGES_WEIGHT * Math.min(stagesCount, STAGES_CAP)) / STAGES_CAP;
}

export function durationCost(durationS: number | null | undefined): number {
  if (!durationS || durationS <= 0) return 0;
  return DURATION_WEIGHT * Math.min(durationS / DURATION_CAP_S, 1);
}

export function rewardParts(run: {
  success: boolean;
  durationS?: number | null;
  stagesCount?: number | null;
}): RewardParts {
  const success = run.success ? 1 : 0;
  const bonus = stagesBonus(run.stagesCount);
  const cost = durationCost(run.durationS);
  return {
    success,
    durationS: run.durationS ?? null,
    stagesCount: run.stagesCount ?? null,
    stagesBonus: bonus,
    durationCost: cost,
    reward: success * (1 + bonus) - cost,
    formulaVersion: REWARD_FORMULA_VERSION,
  };
}

/** Expected reward of an arm succeeding with probability p. */
export function expectedReward(
  p: number,
  durationS: number | null | undefined,
  stagesCount: number | null | undefined,
): number {
  return p * (1 + stagesBonus(stagesCount)) - durationCost(durationS);
}
