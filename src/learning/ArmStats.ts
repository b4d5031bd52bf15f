import type { ArmSource } from './Chooser.js';
import type { LearnerOptions } from './LearnerOptions.js';
import { type ArmEvidence, decayTo } from './posterior.js';
import { sharedPseudoCounts, sourcePrior } from './priors.js';

/** What a policy sees of one arm; also what a decision logs per arm, so a policy can be re-run offline. */
export interface ArmStats {
  hash: string;
  source: ArmSource;
  /** Beta posterior of success: prior + discounted evidence + feedback + shrunk shared evidence */
  alpha: number;
  beta: number;
  /** discounted observed successes and failures, feedback included (no prior) */
  successes: number;
  failures: number;
  /** undiscounted number of runs with evidence ("tried") */
  pulls: number;
  /** discounted mean duration, or the candidate's last known duration */
  durationS: number | null;
  stagesCount: number | null;
}

export function armStats(
  arm: ArmEvidence,
  contextRuns: number,
  options: LearnerOptions,
  shared?: { successes: number; failures: number } | null,
  fallback?: { durationS?: number | null; stagesCount?: number | null; untested?: boolean },
): ArmStats {
  const a = decayTo(arm, contextRuns, options.halfLifeRuns);
  const prior = sourcePrior(a.source, fallback?.untested ?? false);
  const sh =
    options.shareAcrossTenants && shared
      ? sharedPseudoCounts(shared.successes, shared.failures, options.sharedMaxRuns)
      : { alpha: 0, beta: 0 };
  const successes = a.successes + a.feedbackPositive;
  const failures = a.failures + a.feedbackNegative;
  return {
    hash: a.hash,
    source: a.source,
    alpha: prior.alpha + successes + sh.alpha,
    beta: prior.beta + failures + sh.beta,
    successes,
    failures,
    pulls: a.runsTotal,
    durationS: a.durationWeight > 1e-9 ? a.durationSum / a.durationWeight : (fallback?.durationS ?? null),
    stagesCount: a.stagesCount ?? fallback?.stagesCount ?? null,
  };
}

/** Effective (discounted) number of observed runs. */
export function effectiveRuns(arm: ArmEvidence, contextRuns: number, halfLifeRuns: number): number {
  const a = decayTo(arm, contextRuns, halfLifeRuns);
  return a.successes + a.failures;
}
