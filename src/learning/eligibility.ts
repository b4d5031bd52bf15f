import type { LearnerOptions } from './LearnerOptions.js';
import type { ArmEvidence } from './posterior.js';

export type IneligibleReason = 'banned' | 'broken' | 'gated';

/**
 * A broken configuration stays out of the candidate set until it succeeds again. So that it can ever
 * succeed again when nothing else runs it, it gets one more try after `brokenRetryAfterRuns` runs of the
 * context, then after twice that, and so on (each failed retry doubles the wait).
 */
export function isBrokenOut(arm: ArmEvidence | undefined, contextRuns: number, options: LearnerOptions): boolean {
  if (!arm || arm.brokenAt === null) return false;
  return contextRuns - arm.brokenAt < options.brokenRetryAfterRuns * 2 ** arm.brokenRetries;
}

export function isBanned(hash: string, bans: Iterable<string>): boolean {
  const h = hash.toLowerCase();
  for (const b of bans) if (h.startsWith(b.toLowerCase())) return true;
  return false;
}

/** Quality gate (seed 001): a learned configuration is proposed only once proven enough. */
export function passesGate(runs: number, posteriorMean: number, options: LearnerOptions): boolean {
  return runs >= options.gateMinRuns && posteriorMean >= options.gateMinMean;
}
