import type { ArmStats } from './ArmStats.js';
import { betaQuantile, incompleteBeta, logBeta } from './betaMath.js';
import { durationCost, stagesBonus } from './reward.js';

/** An arm whose chance to beat the leader's 1e-7 lower quantile is below this is pruned (probability 0). */
export const PRUNE_EPSILON = 1e-7;
/** Grid resolution: points per standard deviation of the narrowest posterior kept. */
export const POINTS_PER_SD = 6;

/**
 * P(arm i has the highest sampled reward) under Thompson sampling, for every arm, by numerical integration
 * rather than Monte Carlo:  P_i = ∫ f_i(s) ∏_{j≠i} F_j(s) ds  over the reward scale
 * s = θ·(1 + stagesBonus) − durationCost, θ ~ Beta(α, β).
 *
 * Arms that cannot win (P(s_j > leader's 1e-7 quantile) < 1e-7) are pruned first; the rest are integrated
 * on a grid between that quantile and the highest reachable reward, fine enough for six points per
 * standard deviation of the narrowest posterior (64 to `gridPoints` points); arms with identical
 * posteriors are integrated once. Each CDF is exact at the
 * grid's lower end (incomplete beta) and accumulated from the density above it, then rescaled to end at 1.
 * The vector is normalised to sum to 1. Cost O(kept arms × grid), no random draws.
 */
export function thompsonPropensities(
  arms: readonly ArmStats[],
  gridPoints = 512,
  inclusion?: readonly number[],
  satisfice = 0,
): number[] {
  const k = arms.length;
  const out = new Array<number>(k).fill(0);
  if (k === 0) return out;
  if (k === 1) {
    out[0] = 1;
    return out;
  }
  const m = arms.map((a) => 1 + stagesBonus(a.stagesCount));
  const c = arms.map((a) => durationCost(a.durationS));
  const leader = leaderIndex(arms);
  const q = (j: number) => (inclusion ? inclusion[j] : 1);
  const lo = betaQuantile(PRUNE_EPSILON, arms[leader].alpha, arms[leader].beta) * m[leader] - c[leader];
  const kept: number[] = [];
  let hi = Number.NEGATIVE_INFINITY;
  for (let j = 0; j < k; j++) {
    const u = (lo + c[j]) / m[j];
    const tail = j === leader || u <= 0 ? 1 : u >= 1 ? 0 : 1 - incompleteBeta(u, arms[j].alpha, arms[j].beta);
    if (tail >= PRUNE_EPSILON) {
      kept.push(j);
      hi = Math.max(hi, m[j] - c[j]);
    }
  }
  if (kept.length === 1) {
    out[kept[0]] = 1;
    return out;
  }
  // Arms with the same posterior and costs share one density: integrate each distinct shape once.
  const groupOf = new Map<string, number>();
  const shapes: number[] = [];
  const members: number[][] = [];
  let sdMin = Number.POSITIVE_INFINITY;
  for (const j of kept) {
    const key = `${arms[j].alpha}|${arms[j].beta}|${m[j]}|${c[j]}|${q(j)}|${satisfice > 0 && j === leader}`;
    let gi = groupOf.get(key);
    if (gi === undefined) {
      gi = shapes.length;
      groupOf.set(key, gi);
      shapes.push(j);
      members.push([]);
      const { alpha: a, beta: b } = arms[j];
      sdMin = Math.min(sdMin, m[j] * Math.sqrt((a * b) / ((a + b) ** 2 * (a + b + 1))));
    }
    members[gi].push(j);
  }
  // Enough points for six per standard deviation of the narrowest posterior, within bounds.
  const g = Math.max(64, Math.min(gridPoints, Math.ceil((POINTS_PER_SD * (hi - lo)) / sdMin) + 1));
  const step = (hi - lo) / (g - 1);
  const n = shapes.length;
  // cdf[r*g + t] = F_{shape r}(lo + t·step); gOf[r*g + t] = G_r = 1 − q_r + q_r·F_r (see below)
  const cdf = new Float64Array(n * g);
  const gOf = new Float64Array(n * g);
  for (let r = 0; r < n; r++) {
    const j = shapes[r];
    const base = r * g;
    cdfOnGrid(arms[j].alpha, arms[j].beta, m[j], c[j], lo, step, g, cdf, base);
    const qj = q(j);
    for (let t = 0; t < g; t++) gOf[base + t] = qj >= 1 ? cdf[base + t] : 1 - qj + qj * cdf[base + t];
  }
  // An arm in the subset with probability q_j is "below s or absent" with probability G_j = 1 − q_j + q_j·F_j
  // (independent inclusions), so the same product formula integrates the subsampled procedure exactly.
  // logAll[t] = Σ_j log G_j(t) over all kept arms with G_j > 0, zeros counted apart so that the "every
  // other arm is below s" products stay exact. The product is taken in linear space, rescaled before it
  // can underflow (one logarithm per grid point instead of one per arm and point).
  const logAll = new Float64Array(g);
  const zeros = new Int32Array(g);
  const prod = new Float64Array(g).fill(1);
  const rescales = new Int32Array(g);
  for (let r = 0; r < n; r++) {
    const base = r * g;
    const count = members[r].length;
    for (let t = 0; t < g; t++) {
      const gv = gOf[base + t];
      if (!(gv > 0)) {
        zeros[t] += count;
        continue;
      }
      const f = count === 1 ? gv : gv ** count;
      if (f < 1e-100) logAll[t] += count * Math.log(gv);
      else {
        let x = prod[t] * f;
        if (x < 1e-150) {
          x *= 1e150;
          rescales[t] += 1;
        }
        prod[t] = x;
      }
    }
  }
  const LN_1E150 = 150 * Math.LN10;
  const all = new Float64Array(g);
  for (let t = 0; t < g; t++) {
    logAll[t] += Math.log(prod[t]) - rescales[t] * LN_1E150;
    all[t] = Math.exp(logAll[t]);
  }
  // Satisficing: a challenger a is chosen only when its sample beats the leader's by more than ε, so the
  // leader's factor F_L(s) becomes F_L(s − ε) (its CDF on the grid shifted down by ε), and the leader takes
  // the rest: P(leader) = 1 − Σ_a P(a). The events partition the outcomes, so this is exact.
  const leaderShape = satisfice > 0 ? shapes.indexOf(leader) : -1;
  let shifted: Float64Array | null = null;
  if (leaderShape >= 0) {
    shifted = new Float64Array(g);
    cdfOnGrid(arms[leader].alpha, arms[leader].beta, m[leader], c[leader], lo - satisfice, step, g, shifted, 0);
  }
  const leaderBase = leaderShape * g;
  let total = 0;
  for (let r = 0; r < n; r++) {
    if (r === leaderShape) continue;
    const base = r * g;
    let p = 0;
    let prevOthers = 0;
    for (let t = 0; t < g; t++) {
      // ∏ over the other arms = (∏ over all) / G_r [/ G_L · F_L(s − ε) when satisficing]
      const own = gOf[base + t];
      let z = zeros[t] - (own > 0 ? 0 : 1);
      const ownDivisor = own > 0 ? own : 1;
      let leaderDivisor = 1;
      let factor = 1;
      if (shifted !== null) {
        const gl = gOf[leaderBase + t];
        if (gl > 0) leaderDivisor = gl;
        else z -= 1;
        factor = shifted[t];
      }
      let others = 0;
      if (z <= 0 && factor > 0) {
        // all[t] and the divisor underflow when the products are tiny (denormal CDFs far in a tail): then
        // divide in log space, one logarithm per factor, so that 0/0 or x/0 cannot appear.
        const divisor = ownDivisor * leaderDivisor;
        others =
          all[t] > 1e-280 && divisor > 1e-280
            ? (factor * all[t]) / divisor
            : factor * Math.exp(logAll[t] - Math.log(ownDivisor) - Math.log(leaderDivisor));
        others = Math.min(others, 1);
      }
      if (t > 0) p += (cdf[base + t] - cdf[base + t - 1]) * 0.5 * (others + prevOthers);
      prevOthers = others;
    }
    p *= q(shapes[r]);
    for (const j of members[r]) {
      out[j] = p;
      total += p;
    }
  }
  if (shifted !== null) {
    // Grid error can push the challengers' sum a hair above 1; then scale them down.
    if (total > 1) for (let i = 0; i < k; i++) out[i] /= total;
    out[leader] = Math.max(0, 1 - Math.min(total, 1));
    return out;
  }
  if (!(total > 0)) {
    out.fill(0);
    out[leader] = 1;
    return out;
  }
  for (let i = 0; i < k; i++) out[i] /= total;
  return out;
}

/**
 * F(s) of the reward s = θ·mult − cost, θ ~ Beta(α, β), at the g points start + t·step, written to
 * out[offset + t]: exact at the first point (incomplete beta), accumulated from the density above it
 * (trapezoids), then rescaled so that the last point reaches the exact total mass.
 */
function cdfOnGrid(
  alpha: number,
  beta: number,
  mult: number,
  cost: number,
  start: number,
  step: number,
  g: number,
  out: Float64Array,
  offset: number,
): void {
  const lb = logBeta(alpha, beta);
  const scale = 1 / mult;
  const u0 = (start + cost) * scale;
  const f0 = u0 <= 0 ? 0 : u0 >= 1 ? 1 : incompleteBeta(u0, alpha, beta);
  const pdfAt = (u: number) => Math.exp((alpha - 1) * Math.log(u) + (beta - 1) * Math.log1p(-u) - lb) * scale;
  const uEnd = 1 - 1e-12;
  let prevPdf = 0;
  let prevU = u0;
  let acc = 0;
  for (let t = 0; t < g; t++) {
    const u = (start + t * step + cost) * scale;
    const pdf = u > 0 && u < 1 ? pdfAt(u) : 0;
    if (t > 0) {
      // Densities can jump to 0 at the support's ends (Beta(α, 1) at 1, Beta(1, β) at 0): integrate
      // only the part of a cell inside the support, so the mass lands where it belongs.
      if (prevU < 1 && u >= 1) acc += 0.5 * (prevPdf + pdfAt(uEnd)) * ((1 - Math.max(prevU, 0)) * mult);
      else if (prevU <= 0 && u > 0) acc += 0.5 * (pdfAt(1e-12) + pdf) * (u * mult);
      else acc += 0.5 * (prevPdf + pdf) * step;
    }
    out[offset + t] = acc;
    prevPdf = pdf;
    prevU = u;
  }
  // The exact mass between the first and the last point (the last may lie below the support's top).
  const uLast = (start + (g - 1) * step + cost) * scale;
  const fLast = uLast <= 0 ? 0 : uLast >= 1 ? 1 : incompleteBeta(uLast, alpha, beta);
  const fix = acc > 0 ? (fLast - f0) / acc : 0;
  for (let t = 0; t < g; t++) {
    out[offset + t] = acc > 0 ? f0 + out[offset + t] * fix : t === g - 1 ? fLast : f0;
  }
}

/** The arm with the highest posterior mean reward (first on ties): Thompson pruning's and subsampling's anchor. */
export function leaderIndex(arms: readonly ArmStats[]): number {
  let leader = 0;
  let bestMean = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < arms.length; i++) {
    const a = arms[i];
    const mean = (a.alpha / (a.alpha + a.beta)) * (1 + stagesBonus(a.stagesCount)) - durationCost(a.durationS);
    if (mean > bestMean) {
      bestMean = mean;
      leader = i;
    }
  }
  return leader;
}

/** Lower tail left out of the uniform-subset grid: each arm's mass below the grid's start is at most this. */
export const UNIFORM_GRID_TAIL = 1e-9;

/**
 * The exact choice distribution of Thompson sampling on a subset of `size` arms drawn uniformly at random
 * among all `arms` (every subset of that size equally likely; the leader is not forced in), with
 * satisficing relative to the subset's own leader (its member with the highest posterior mean reward, first
 * on ties): the leader is kept unless a challenger's draw beats the leader's by more than `satisfice`
 * (0 = plain Thompson sampling within the subset).
 *
 * Order the arms by posterior mean reward, positions 0 … k−1. With F_j the distribution function of arm j's
 * reward draw and e_r the elementary symmetric polynomial of degree r,
 *
 *   P(arm at p chosen as a challenger) = 1/C(k, m) · ∫ f_p(s) · Σ_{l<p} F_l(s − ε) · e_{m−2}(F_{l+1..k−1 without p}(s)) ds
 *   P(arm at p chosen as the leader)   = 1/C(k, m) · ∫ e_{m−1}(F_{p+1..k−1}(s)) dF_p(s − ε)
 *
 * (the subset is {leader l, challenger p, m − 2 others all ranked below l}, each subset having probability
 * 1/C(k, m)). The sum over leaders is the coefficient of x^{m−2} in A_p(x)·S_{p+1}(x), where
 * S_{p}(x) = ∏_{j≥p}(1 + x F_j) and A_{p+1} = A_p·(1 + x F_p) + F_p(s − ε), so one forward and one backward
 * pass per grid point, O(k·m) each, give every arm. Both are kept as averages (each coefficient divided by
 * its number of terms), so every update is a convex combination of numbers in [0, 1]: no subtraction, no
 * overflow. The grid spans every arm's support (from the lowest 1e-9 quantile), not only the leader's,
 * because the leader may be absent. Cost O(k·m·grid); no random draws. The result is normalised to sum to 1.
 */
export function uniformSubsetThompsonPropensities(
  arms: readonly ArmStats[],
  size: number,
  satisfice = 0,
  gridPoints = 512,
): number[] {
  const k = arms.length;
  const out = new Array<number>(k).fill(0);
  if (k === 0) return out;
  if (k === 1) {
    out[0] = 1;
    return out;
  }
  const m = Math.max(1, Math.min(k, Math.round(size)));
  if (m === 1) return out.fill(1 / k);
  const mult = arms.map((a) => 1 + stagesBonus(a.stagesCount));
  const cost = arms.map((a) => durationCost(a.durationS));
  const mean = arms.map((a, j) => (a.alpha / (a.alpha + a.beta)) * mult[j] - cost[j]);
  // position → arm index, highest mean first, first index on ties (leaderIndex's rule)
  const order = arms.map((_, j) => j).sort((x, y) => (mean[y] > mean[x] ? 1 : mean[y] < mean[x] ? -1 : x - y));
  let lo = Number.POSITIVE_INFINITY;
  let hi = Number.NEGATIVE_INFINITY;
  let sdMin = Number.POSITIVE_INFINITY;
  for (let j = 0; j < k; j++) {
    const { alpha: a, beta: b } = arms[j];
    lo = Math.min(lo, betaQuantile(UNIFORM_GRID_TAIL, a, b) * mult[j] - cost[j]);
    hi = Math.max(hi, mult[j] - cost[j]);
    sdMin = Math.min(sdMin, mult[j] * Math.sqrt((a * b) / ((a + b) ** 2 * (a + b + 1))));
  }
  const eps = Math.max(0, satisfice);
  hi += eps; // so that the shifted distribution functions F(s − ε) reach 1 on the grid
  const g = Math.max(64, Math.min(gridPoints, Math.ceil((POINTS_PER_SD * (hi - lo)) / sdMin) + 1));
  const step = (hi - lo) / (g - 1);
  // cdf[p*g + t] = F_{order[p]}(lo + t·step); shifted[p*g + t] = F_{order[p]}(lo + t·step − ε)
  const cdf = new Float64Array(k * g);
  const shifted = eps > 0 ? new Float64Array(k * g) : cdf;
  for (let p = 0; p < k; p++) {
    const j = order[p];
    cdfOnGrid(arms[j].alpha, arms[j].beta, mult[j], cost[j], lo, step, g, cdf, p * g);
    if (eps > 0) cdfOnGrid(arms[j].alpha, arms[j].beta, mult[j], cost[j], lo - eps, step, g, shifted, p * g);
  }
  // Weights that turn the averages back into counts over C(k, m) subsets, in log space.
  const logFact = new Float64Array(k + 1);
  for (let n = 2; n <= k; n++) logFact[n] = logFact[n - 1] + Math.log(n);
  const logC = (n: number, r: number) =>
    r < 0 || r > n ? Number.NEGATIVE_INFINITY : logFact[n] - logFact[r] - logFact[n - r];
  const logAll = logC(k, m);
  const deg = m - 1; // suffix degrees 0 … m − 1
  // wCh[p*(m−1) + r] = C(p, r + 1)·C(k − 1 − p, m − 2 − r)/C(k, m); wLd[p] = C(k − 1 − p, m − 1)/C(k, m)
  // Terms whose weight is below NEGLIGIBLE_WEIGHT are skipped (each average is at most 1, so the error of a
  // probability is below m·1e-17): the weights are hypergeometric, concentrated around r ≈ p·(m − 1)/(k − 1).
  const NEGLIGIBLE_WEIGHT = 1e-17;
  const wCh = new Float64Array(k * deg);
  const wLd = new Float64Array(k);
  const rFrom = new Int32Array(k);
  const rTo = new Int32Array(k); // exclusive
  for (let p = 0; p < k; p++) {
    wLd[p] = Math.exp(logC(k - 1 - p, m - 1) - logAll);
    let from = deg;
    let to = 0;
    for (let r = 0; r < deg; r++) {
      const w = Math.exp(logC(p, r + 1) + logC(k - 1 - p, m - 2 - r) - logAll);
      wCh[p * deg + r] = w;
      if (w >= NEGLIGIBLE_WEIGHT) {
        from = Math.min(from, r);
        to = r + 1;
      }
    }
    rFrom[p] = from;
    rTo[p] = to;
  }
  // suf[(p)*(m) + r] = e_r(F at positions p … k−1)/C(k − p, r), for p = 0 … k (p = k: the empty set)
  const width = m;
  const suf = new Float64Array((k + 1) * width);
  const a = new Float64Array(deg); // Â_p[r] = A_p[r]/C(p, r + 1), r = 0 … m − 2
  const prevCh = new Float64Array(k);
  const prevLd = new Float64Array(k);
  const acc = new Float64Array(k);
  for (let t = 0; t < g; t++) {
    suf.fill(0, k * width, (k + 1) * width);
    suf[k * width] = 1;
    for (let p = k - 1; p >= 0; p--) {
      const n = k - p;
      const inv = 1 / n;
      const fInv = cdf[p * g + t] * inv;
      const cur = p * width;
      const nxt = cur + width;
      suf[cur] = 1;
      const top = Math.min(deg, n);
      for (let r = 1; r <= top; r++) suf[cur + r] = (n - r) * inv * suf[nxt + r] + r * fInv * suf[nxt + r - 1];
      for (let r = top + 1; r <= deg; r++) suf[cur + r] = 0;
    }
    a.fill(0);
    for (let p = 0; p < k; p++) {
      const nxt = (p + 1) * width;
      let ch = 0;
      const wBase = p * deg;
      const to = Math.min(rTo[p], p);
      for (let r = rFrom[p]; r < to; r++) ch += a[r] * suf[nxt + deg - 1 - r] * wCh[wBase + r];
      const ld = suf[nxt + deg] * wLd[p];
      if (t > 0) {
        const base = p * g + t;
        acc[p] +=
          (cdf[base] - cdf[base - 1]) * 0.5 * (ch + prevCh[p]) +
          (shifted[base] - shifted[base - 1]) * 0.5 * (ld + prevLd[p]);
      }
      prevCh[p] = ch;
      prevLd[p] = ld;
      // A_{p+1} from A_p: this arm joins the chain (as a possible leader, and as a member below later leaders)
      const inv = 1 / (p + 1);
      const fInv = cdf[p * g + t] * inv;
      for (let r = Math.min(deg - 1, p); r >= 1; r--) a[r] = (p - r) * inv * a[r] + (r + 1) * fInv * a[r - 1];
      if (deg > 0) a[0] = (p * a[0] + shifted[p * g + t]) * inv;
    }
  }
  let total = 0;
  for (let p = 0; p < k; p++) total += acc[p];
  if (!(total > 0)) return out.fill(1 / k);
  for (let p = 0; p < k; p++) out[order[p]] = acc[p] / total;
  return out;
}
