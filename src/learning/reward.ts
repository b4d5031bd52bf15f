import { type AttributionClass, creditOf } from './attribution.js';

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
  /** the pipeline was green (1) or red (0), whatever the attribution says */
  success: 0 | 1;
  durationS: number | null;
  stagesCount: number | null;
  stagesBonus: number;
  durationCost: number;
  reward: number;
  formulaVersion: string;
  /** v2 only: the attribution class and the parts it adds */
  attribution?: AttributionClass;
  credit?: number;
  testsTotal?: number | null;
  testsBonus?: number;
  coverage?: number | null;
  coverageBonus?: number;
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

/**
 * Reward formula, version `v2` (decisions rewarded before it existed keep their `v1` reward):
 *
 *   reward = credit · (1 + stagesBonus + testsBonus + coverageBonus) − durationCost
 *
 * `credit` comes from the failure attribution (attribution.ts): 1 when the configuration worked (green with
 * tests, or red because tests failed), 0 when it was broken, ½ for weak evidence (green without tests),
 * ¾ for a green pipeline that needed a retry, 0 for partial evidence. A pipeline with no evidence (runner
 * failure, canceled) has no reward at all: the decision stays unrewarded, as a canceled one always did.
 *   testsBonus    = 0.03 · min(log10(1 + tests run) / 3, 1)   (1,000 tests earn the whole 0.03)
 *   coverageBonus = 0.02 · coverage / 100                     (pipeline coverage, 0 when unknown)
 * stagesBonus and durationCost are v1's. The bonuses together stay under 0.1, so whether the
 * configuration works still dominates; an hour of pipeline time still costs 0.1.
 */
export const REWARD_FORMULA_V2 = 'v2';
export const TESTS_WEIGHT = 0.03;
export const TESTS_CAP_LOG10 = 3;
export const COVERAGE_WEIGHT = 0.02;

export function testsBonus(testsTotal: number | null | undefined): number {
  if (!testsTotal || testsTotal <= 0) return 0;
  return TESTS_WEIGHT * Math.min(Math.log10(1 + testsTotal) / TESTS_CAP_LOG10, 1);
}

export function coverageBonus(coverage: number | null | undefined): number {
  if (coverage == null || !(coverage > 0)) return 0;
  return (COVERAGE_WEIGHT * Math.min(coverage, 100)) / 100;
}

export function rewardPartsV2(run: {
  success: boolean;
  attribution: AttributionClass;
  durationS?: number | null;
  stagesCount?: number | null;
  testsTotal?: number | null;
  coverage?: number | null;
}): RewardParts | null {
  const credit = creditOf(run.attribution);
  if (credit === null) return null;
  const sb = stagesBonus(run.stagesCount);
  const tb = testsBonus(run.testsTotal);
  const cb = coverageBonus(run.coverage);
  const cost = durationCost(run.durationS);
  return {
    success: run.success ? 1 : 0,
    durationS: run.durationS ?? null,
    stagesCount: run.stagesCount ?? null,
    stagesBonus: sb,
    durationCost: cost,
    reward: credit * (1 + sb + tb + cb) - cost,
    formulaVersion: REWARD_FORMULA_V2,
    attribution: run.attribution,
    credit,
    testsTotal: run.testsTotal ?? null,
    testsBonus: tb,
    coverage: run.coverage ?? null,
    coverageBonus: cb,
  };
}
