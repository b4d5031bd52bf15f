import { ATTRIBUTION_TABLE, type AttributionClass } from './attribution.js';
import type { ArmSource } from './Chooser.js';
import type { LearnerOptions } from './LearnerOptions.js';

/**
 * What the learner keeps per (context, configuration). Discounted sums are stored as of `slot` (the
 * context's run counter when they were last touched) and decayed lazily, so an update is O(1): reading
 * them at counter N multiplies by γ^(N − slot), γ = 2^(−1/halfLife).
 */
export interface ArmEvidence {
  hash: string;
  source: ArmSource;
  slot: number;
  successes: number;
  failures: number;
  feedbackPositive: number;
  feedbackNegative: number;
  durationWeight: number;
  durationSum: number;
  /** undiscounted counts of runs with evidence (success or failed) */
  runsTotal: number;
  successesTotal: number;
  /** consecutive failures since the last success */
  failureStreak: number;
  lastRunSlot: number | null;
  lastDurationS: number | null;
  stagesCount: number | null;
  /** context counter at which the configuration was (last) marked broken, null when not broken */
  brokenAt: number | null;
  /** how many times it was re-tried while broken and failed again */
  brokenRetries: number;
}

export function emptyArm(hash: string, source: ArmSource): ArmEvidence {
  return {
    hash,
    source,
    slot: 0,
    successes: 0,
    failures: 0,
    feedbackPositive: 0,
    feedbackNegative: 0,
    durationWeight: 0,
    durationSum: 0,
    runsTotal: 0,
    successesTotal: 0,
    failureStreak: 0,
    lastRunSlot: null,
    lastDurationS: null,
    stagesCount: null,
    brokenAt: null,
    brokenRetries: 0,
  };
}

export function discountFactor(halfLifeRuns: number): number {
  return 2 ** (-1 / halfLifeRuns);
}

/** Weight now (context counter `now`) of evidence recorded at counter `at`. */
export function weightAt(at: number, now: number, halfLifeRuns: number): number {
  return discountFactor(halfLifeRuns) ** Math.max(0, now - at);
}

/** The arm's discounted sums brought forward to counter `now` (a new object). */
export function decayTo(arm: ArmEvidence, now: number, halfLifeRuns: number): ArmEvidence {
  if (now <= arm.slot) return { ...arm };
  const w = weightAt(arm.slot, now, halfLifeRuns);
  return {
    ...arm,
    slot: now,
    successes: arm.successes * w,
    failures: arm.failures * w,
    feedbackPositive: arm.feedbackPositive * w,
    feedbackNegative: arm.feedbackNegative * w,
    durationWeight: arm.durationWeight * w,
    durationSum: arm.durationSum * w,
  };
}

/** One run's evidence; `slot` is the context counter it was recorded under. */
export interface RunEvidence {
  hash: string;
  slot: number;
  success: boolean;
  durationS: number | null;
  stagesCount: number | null;
  /** how the run was attributed (attribution.ts); absent for runs recorded before attribution: green = works */
  attribution?: AttributionClass | null;
}

/**
 * What a run adds to the posterior: Δα, Δβ from the attribution table. `counts` says whether it is
 * evidence at all (a run with no evidence changes nothing but the context's clock); `credited` whether
 * it counts as a success (resets the failure streak), `blamed` whether it extends the streak.
 */
export function runDelta(run: Pick<RunEvidence, 'success' | 'attribution'>): {
  dAlpha: number;
  dBeta: number;
  counts: boolean;
  credited: boolean;
  blamed: boolean;
} {
  const cls = run.attribution ?? (run.success ? 'works' : 'broken');
  const { dAlpha, dBeta } = ATTRIBUTION_TABLE[cls];
  return { dAlpha, dBeta, counts: dAlpha + dBeta > 0, credited: dAlpha > 0, blamed: dAlpha === 0 && dBeta > 0 };
}

/** A failure streak this improbable under the configuration's past success rate means it broke. */
export const BROKEN_STREAK_PROBABILITY = 1e-5;

/**
 * Consecutive failures that make this configuration broken: at least `brokenAfterFailures`, more for a
 * configuration whose record says such a streak is plausible bad luck (a flaky-but-good one): the streak
 * must have probability < 1e-5 under its success rate before the streak (Laplace estimate
 * (s+1)/(n+2)), capped at 3× the minimum. A configuration that never succeeded needs the minimum.
 */
export function brokenThreshold(arm: ArmEvidence, options: LearnerOptions): number {
  const base = options.brokenAfterFailures;
  if (arm.successesTotal === 0) return base;
  const before = Math.max(0, arm.runsTotal - arm.failureStreak);
  const p = Math.min((arm.successesTotal + 1) / (before + 2), 0.999);
  const needed = Math.ceil(Math.log(BROKEN_STREAK_PROBABILITY) / Math.log(1 - p) - 1e-9);
  return Math.min(3 * base, Math.max(base, needed));
}

/** Adds a new run recorded at counter `run.slot` (≥ arm.slot). */
export function addRun(arm: ArmEvidence, run: RunEvidence, options: LearnerOptions): ArmEvidence {
  const next = decayTo(arm, run.slot, options.halfLifeRuns);
  const d = runDelta(run);
  // A runner outage is not a run of the configuration: its duration and place in the streak mean nothing.
  if (!d.counts) return next;
  next.runsTotal += 1;
  if (run.durationS != null) {
    next.durationWeight += 1;
    next.durationSum += run.durationS;
    next.lastDurationS = run.durationS;
  }
  if (run.stagesCount != null) next.stagesCount = run.stagesCount;
  next.lastRunSlot = run.slot;
  next.successes += d.dAlpha;
  next.failures += d.dBeta;
  if (d.credited) {
    next.successesTotal += 1;
    next.failureStreak = 0;
    next.brokenAt = null;
    next.brokenRetries = 0;
  } else if (d.blamed) {
    next.failureStreak += 1;
    if (next.failureStreak >= brokenThreshold(next, options)) markBroken(next, run.slot);
  }
  return next;
}

/**
 * A break is a change point: the successes from before the streak describe a configuration that no longer
 * exists (a removed base image), so they are dropped and its record restarts with the streak. Without
 * this, one lucky success would restore a lead built over hundreds of runs.
 */
function markBroken(arm: ArmEvidence, slot: number): void {
  if (arm.brokenAt !== null) arm.brokenRetries += 1;
  else {
    arm.successes = 0;
    arm.successesTotal = 0;
    arm.runsTotal = arm.failureStreak;
  }
  arm.brokenAt = slot;
}

/**
 * Takes a run's evidence back out (a retried pipeline about to be corrected, or one that ended canceled).
 * The sums lose exactly what the run still weighs at counter `now`. The failure streak can only be
 * repaired when the run was the arm's latest; older corrections leave it (a replay recomputes it exactly).
 */
export function removeRun(arm: ArmEvidence, run: RunEvidence, now: number, options: LearnerOptions): ArmEvidence {
  const next = decayTo(arm, now, options.halfLifeRuns);
  const w = weightAt(run.slot, next.slot, options.halfLifeRuns);
  const d = runDelta(run);
  if (!d.counts) return next;
  next.runsTotal = Math.max(0, next.runsTotal - 1);
  if (run.durationS != null) {
    next.durationWeight = Math.max(0, next.durationWeight - w);
    next.durationSum = Math.max(0, next.durationSum - w * run.durationS);
  }
  next.successes = Math.max(0, next.successes - w * d.dAlpha);
  next.failures = Math.max(0, next.failures - w * d.dBeta);
  if (d.credited) {
    next.successesTotal = Math.max(0, next.successesTotal - 1);
  } else if (d.blamed) {
    if (next.lastRunSlot === run.slot && next.failureStreak > 0) {
      next.failureStreak -= 1;
      if (next.failureStreak < brokenThreshold(next, options)) next.brokenAt = null;
    }
  }
  return next;
}

/**
 * Re-adds a corrected run at its original counter (weight as of `now`), keeping its place in time.
 * Only a correction of the arm's latest run moves the failure streak.
 */
export function restoreRun(arm: ArmEvidence, run: RunEvidence, now: number, options: LearnerOptions): ArmEvidence {
  const next = decayTo(arm, now, options.halfLifeRuns);
  const w = weightAt(run.slot, next.slot, options.halfLifeRuns);
  const d = runDelta(run);
  if (!d.counts) return next;
  const latest = next.lastRunSlot === null || run.slot >= next.lastRunSlot;
  next.runsTotal += 1;
  if (run.durationS != null) {
    next.durationWeight += w;
    next.durationSum += w * run.durationS;
    if (latest) next.lastDurationS = run.durationS;
  }
  if (run.stagesCount != null && latest) next.stagesCount = run.stagesCount;
  if (latest) next.lastRunSlot = run.slot;
  next.successes += w * d.dAlpha;
  next.failures += w * d.dBeta;
  if (d.credited) {
    next.successesTotal += 1;
    if (latest) {
      next.failureStreak = 0;
      next.brokenAt = null;
      next.brokenRetries = 0;
    }
  } else if (d.blamed) {
    if (latest) {
      next.failureStreak += 1;
      if (next.failureStreak >= brokenThreshold(next, options) && next.brokenAt === null) markBroken(next, run.slot);
    }
  }
  return next;
}

/** Feedback as pseudo-observations: `positive`/`negative` are already multiplied by the feedback weight. */
export interface FeedbackEvidence {
  hash: string;
  slot: number;
  positive: number;
  negative: number;
}

export function addFeedback(arm: ArmEvidence, fb: FeedbackEvidence, now: number, halfLifeRuns: number): ArmEvidence {
  const next = decayTo(arm, now, halfLifeRuns);
  const w = weightAt(fb.slot, next.slot, halfLifeRuns);
  next.feedbackPositive += w * fb.positive;
  next.feedbackNegative += w * fb.negative;
  return next;
}

export function removeFeedback(arm: ArmEvidence, fb: FeedbackEvidence, now: number, halfLifeRuns: number): ArmEvidence {
  const next = decayTo(arm, now, halfLifeRuns);
  const w = weightAt(fb.slot, next.slot, halfLifeRuns);
  next.feedbackPositive = Math.max(0, next.feedbackPositive - w * fb.positive);
  next.feedbackNegative = Math.max(0, next.feedbackNegative - w * fb.negative);
  return next;
}

/**
 * Feedback weights (documented in README): thumbs up = +w success, thumbs down = +w failure,
 * rating r ∈ 1..5 = w·(r−1)/4 success and w·(5−r)/4 failure (3 is neutral).
 */
export function feedbackPseudoCounts(
  kind: 'rating' | 'thumbs_up' | 'thumbs_down',
  value: number | null | undefined,
  weight: number,
): { positive: number; negative: number } {
  if (kind === 'thumbs_up') return { positive: weight, negative: 0 };
  if (kind === 'thumbs_down') return { positive: 0, negative: weight };
  const r = Math.round(value ?? Number.NaN);
  if (!(r >= 1 && r <= 5)) throw new RangeError('a rating is a whole number from 1 to 5');
  return { positive: (weight * (r - 1)) / 4, negative: (weight * (5 - r)) / 4 };
}

/** Rebuilds arms from the stored history: runs and feedback in the order they happened. */
export function replayArms(
  sources: Map<string, ArmSource>,
  runs: RunEvidence[],
  feedback: FeedbackEvidence[],
  contextRuns: number,
  options: LearnerOptions,
): Map<string, ArmEvidence> {
  type Ev = { slot: number; order: number; run?: RunEvidence; fb?: FeedbackEvidence };
  const events: Ev[] = [
    ...runs.map((run) => ({ slot: run.slot, order: 0, run })),
    ...feedback.map((fb) => ({ slot: fb.slot, order: 1, fb })),
  ];
  events.sort((a, b) => a.slot - b.slot || a.order - b.order);
  const arms = new Map<string, ArmEvidence>();
  for (const [hash, source] of sources) arms.set(hash, emptyArm(hash, source));
  const get = (hash: string) => arms.get(hash) ?? emptyArm(hash, sources.get(hash) ?? 'learned');
  for (const e of events) {
    if (e.run) arms.set(e.run.hash, addRun(get(e.run.hash), e.run, options));
    else if (e.fb) arms.set(e.fb.hash, addFeedback(get(e.fb.hash), e.fb, e.fb.slot, options.halfLifeRuns));
  }
  for (const [hash, arm] of arms) arms.set(hash, decayTo(arm, contextRuns, options.halfLifeRuns));
  return arms;
}
