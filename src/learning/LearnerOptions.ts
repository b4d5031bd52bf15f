/** Tunables of the learner; `learnerOptionsFrom(config.learner)` maps the environment onto them. */
export interface LearnerOptions {
  /** evidence loses half its weight after this many runs of the same context */
  halfLifeRuns: number;
  /** consecutive failures (since the last success) that mark a configuration broken, at least */
  brokenAfterFailures: number;
  /** runs of the context after which a broken configuration may be tried once more (doubles each time) */
  brokenRetryAfterRuns: number;
  /** pseudo-observations one piece of feedback is worth */
  feedbackWeight: number;
  shareAcrossTenants: boolean;
  /** other tenants' evidence counts as at most this many runs (shrinkage k in k·n/(k+n)) */
  sharedMaxRuns: number;
  gateMinRuns: number;
  gateMinMean: number;
}

export const DEFAULT_LEARNER_OPTIONS: LearnerOptions = {
  halfLifeRuns: 1000,
  brokenAfterFailures: 3,
  brokenRetryAfterRuns: 100,
  feedbackWeight: 0.5,
  shareAcrossTenants: false,
  sharedMaxRuns: 5,
  gateMinRuns: 3,
  gateMinMean: 0.7,
};

export function learnerOptionsFrom(learner: {
  halfLifeRuns: number;
  brokenAfterFailures: number;
  feedbackWeight: number;
  shareAcrossTenants: boolean;
  gateMinRuns: number;
  gateMinMean: number;
}): LearnerOptions {
  return {
    ...DEFAULT_LEARNER_OPTIONS,
    halfLifeRuns: learner.halfLifeRuns,
    brokenAfterFailures: learner.brokenAfterFailures,
    feedbackWeight: learner.feedbackWeight,
    shareAcrossTenants: learner.shareAcrossTenants,
    gateMinRuns: learner.gateMinRuns,
    gateMinMean: learner.gateMinMean,
  };
}
