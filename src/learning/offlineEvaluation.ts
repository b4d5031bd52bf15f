import type { DecisionRecord } from './DecisionRecord.js';
import type { Policy } from './policies.js';
import { createRng } from './Rng.js';

export interface Estimate {
  value: number;
  /** bootstrap percentile interval */
  low: number;
  high: number;
}

export interface OfflineEvaluation {
  policy: string;
  /** decisions with a reward that a policy produced (forced ones excluded) */
  decisions: number;
  /** the logging policies' realised mean reward on those decisions */
  logged: number;
  ips: Estimate;
  snips: Estimate;
  /** mean importance weight (≈ 1 when the estimate is healthy) */
  meanWeight: number;
  /** Kish effective sample size (Σw)² / Σw²: how many decisions the estimate is really worth */
  effectiveSampleSize: number;
  /** smallest logged propensity among the decisions the target policy would also make */
  minPropensity: number | null;
  /** why the estimate should not be trusted, for people; empty when it looks healthy */
  warnings: string[];
  confidence: number;
}

/** Below this effective sample size — absolute, or as a share of the decisions — `evaluate` warns. */
export const MIN_EFFECTIVE_SAMPLE_SIZE = 30;
export const MIN_EFFECTIVE_SHARE = 0.1;

/**
 * Off-policy value of `policy` on logged decisions: IPS = mean(r·π(a)/μ(a)), self-normalised IPS =
 * Σ r·w / Σ w, with w = π(a)/μ(a), μ the logged propensity and π the target policy's probability on the
 * logged arm statistics. Percentile bootstrap intervals with a fixed seed, so figures are reproducible.
 */
export function evaluateOffline(
  decisions: readonly DecisionRecord[],
  policy: Policy,
  options: { bootstrap?: number; confidence?: number; seed?: number } = {},
): OfflineEvaluation {
  const usable = decisions.filter((d) => d.reward && d.kind !== 'forced' && d.propensity > 0);
  const rewards: number[] = [];
  const weights: number[] = [];
  let minPropensity: number | null = null;
  for (const d of usable) {
    const i = d.arms.findIndex((a) => a.hash === d.chosenHash);
    if (i < 0) continue;
    const pi = policy.probabilities(d.arms, d.contextRuns)[i];
    rewards.push(d.reward!.reward);
    weights.push(pi / d.propensity);
    if (pi > 0) minPropensity = Math.min(minPropensity ?? 1, d.propensity);
  }
  const n = rewards.length;
  const confidence = options.confidence ?? 0.95;
  const ipsOf = (idx: ArrayLike<number>) => {
    let s = 0;
    for (let k = 0; k < idx.length; k++) s += rewards[idx[k]] * weights[idx[k]];
    return idx.length ? s / idx.length : Number.NaN;
  };
  const snipsOf = (idx: ArrayLike<number>) => {
    let s = 0;
    let w = 0;
    for (let k = 0; k < idx.length; k++) {
      s += rewards[idx[k]] * weights[idx[k]];
      w += weights[idx[k]];
    }
    return w > 0 ? s / w : Number.NaN;
  };
  const all = Array.from({ length: n }, (_, i) => i);
  const b = options.bootstrap ?? 1000;
  const rng = createRng(options.seed ?? 1);
  const ipsB: number[] = [];
  const snipsB: number[] = [];
  const idx = new Int32Array(n);
  for (let r = 0; r < b && n > 0; r++) {
    for (let k = 0; k < n; k++) idx[k] = Math.floor(rng.next() * n);
    ipsB.push(ipsOf(idx));
    const s = snipsOf(idx);
    if (!Number.isNaN(s)) snipsB.push(s);
  }
  const pct = (xs: number[], q: number) => {
    if (xs.length === 0) return Number.NaN;
    const sorted = [...xs].sort((x, y) => x - y);
    return sorted[Math.min(sorted.length - 1, Math.max(0, Math.floor(q * sorted.length)))];
  };
  const tail = (1 - confidence) / 2;
  const sw = weights.reduce((s, w) => s + w, 0);
  const sw2 = weights.reduce((s, w) => s + w * w, 0);
  const ess = sw2 > 0 ? (sw * sw) / sw2 : 0;
  const warnings: string[] = [];
  if (n > 0 && (ess < MIN_EFFECTIVE_SAMPLE_SIZE || ess < MIN_EFFECTIVE_SHARE * n)) {
    warnings.push(
      `the logged propensities are too small for a reliable estimate: ${n} decisions are worth ${ess.toFixed(1)} ` +
        `(effective sample size; want at least ${Math.max(MIN_EFFECTIVE_SAMPLE_SIZE, Math.ceil(MIN_EFFECTIVE_SHARE * n))})` +
        (minPropensity !== null ? `, smallest logged propensity ${minPropensity.toPrecision(2)}` : ''),
    );
  }
  return {
    policy: policy.name,
    decisions: n,
    logged: n ? rewards.reduce((s, r) => s + r, 0) / n : Number.NaN,
    ips: { value: ipsOf(all), low: pct(ipsB, tail), high: pct(ipsB, 1 - tail) },
    snips: { value: snipsOf(all), low: pct(snipsB, tail), high: pct(snipsB, 1 - tail) },
    meanWeight: n ? sw / n : Number.NaN,
    effectiveSampleSize: ess,
    minPropensity,
    warnings,
    confidence,
  };
}
