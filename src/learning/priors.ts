import type { ArmSource } from './Chooser.js';

/**
 * Cold-start Beta priors by source, in pseudo-runs. Built-in defaults and templates are written for the
 * stack and usually work: mildly optimistic (mean 2/3, worth 3 runs). A learned configuration already
 * ran green somewhere in this GitLab: Beta(2, 1) too. A translated one is the maintainers' own CI, which runs
 * on every change of the project: Beta(2, 1). An LLM-adapted one is unproven: cautious, Beta(1, 1)
 * (mean 1/2, worth 2 runs; issue 12's pinned decision), below every other source until it runs green.
 * Every parameter is ≥ 1 so densities stay bounded, which the propensity integration relies on.
 */
export const SOURCE_PRIORS: Record<ArmSource, { alpha: number; beta: number }> = {
  default: { alpha: 2, beta: 1 },
  template: { alpha: 2, beta: 1 },
  learned: { alpha: 2, beta: 1 },
  translated: { alpha: 2, beta: 1 },
  llm: { alpha: 1, beta: 1 },
};

/** For an arm that runs no tests or whose stack is unknown: no reason to expect success or failure. */
export const UNINFORMED_PRIOR = { alpha: 1, beta: 1 } as const;

export function sourcePrior(source: ArmSource, untested = false): { alpha: number; beta: number } {
  if (untested) return { ...UNINFORMED_PRIOR };
  return SOURCE_PRIORS[source] ?? { ...UNINFORMED_PRIOR };
}

/**
 * Other tenants' evidence on the same configuration and stack, shrunk: n observed runs count as
 * k·n/(k+n) pseudo-runs (never more than k), split by their success share.
 */
export function sharedPseudoCounts(successes: number, failures: number, k: number): { alpha: number; beta: number } {
  const n = successes + failures;
  if (n <= 0 || k <= 0) return { alpha: 0, beta: 0 };
  const scale = k / (k + n);
  return { alpha: successes * scale, beta: failures * scale };
}
