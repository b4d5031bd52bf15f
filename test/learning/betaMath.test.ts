import { describe, expect, it } from 'vitest';
import {
  betaInterval,
  betaMean,
  betaPdf,
  betaQuantile,
  incompleteBeta,
  logGamma,
  sampleBeta,
} from '../../src/learning/betaMath.js';
import { createRng } from '../../src/learning/Rng.js';

const xs = [0.001, 0.05, 0.2, 0.37, 0.5, 0.73, 0.9, 0.999];
const ps = [1e-6, 0.01, 0.05, 0.3, 0.5, 0.7, 0.95, 0.99, 1 - 1e-6];

describe('log gamma', () => {
  it('matches factorials and Γ(1/2) = √π', () => {
    let f = 1;
    for (let n = 1; n <= 20; n++) {
      expect(logGamma(n)).toBeCloseTo(Math.log(f), 10);
      f *= n;
    }
    expect(logGamma(0.5)).toBeCloseTo(0.5 * Math.log(Math.PI), 12);
    expect(logGamma(0.25)).toBeCloseTo(Math.log(3.625609908221908), 10);
  });
});

describe('regularised incomplete beta against closed forms', () => {
  it('Beta(1,1) is uniform', () => {
    for (const x of xs) expect(incompleteBeta(x, 1, 1)).toBeCloseTo(x, 12);
  });
  it('Beta(a,1): x^a and Beta(1,b): 1-(1-x)^b', () => {
    for (const a of [0.5, 2, 7.5, 40]) for (const x of xs) expect(incompleteBeta(x, a, 1)).toBeCloseTo(x ** a, 11);
    for (const b of [0.5, 3, 12, 80])
      for (const x of xs) expect(incompleteBeta(x, 1, b)).toBeCloseTo(1 - (1 - x) ** b, 11);
  });
  it('Beta(2,2): 3x² − 2x³ and Beta(2,3): 6x²−8x³+3x⁴', () => {
    for (const x of xs) {
      expect(incompleteBeta(x, 2, 2)).toBeCloseTo(3 * x * x - 2 * x ** 3, 12);
      expect(incompleteBeta(x, 2, 3)).toBeCloseTo(6 * x * x - 8 * x ** 3 + 3 * x ** 4, 12);
    }
  });
  it('is symmetric: I_x(a,b) = 1 − I_(1−x)(b,a), and bounded', () => {
    for (const [a, b] of [
      [3.3, 9.1],
      [150, 20],
      [0.7, 2.2],
    ]) {
      for (const x of xs) expect(incompleteBeta(x, a, b)).toBeCloseTo(1 - incompleteBeta(1 - x, b, a), 12);
    }
    expect(incompleteBeta(0, 2, 3)).toBe(0);
    expect(incompleteBeta(1, 2, 3)).toBe(1);
  });
  it('the density integrates to the CDF', () => {
    const [a, b] = [4.5, 2.5];
    let acc = 0;
    const n = 20000;
    for (let i = 0; i < n; i++) acc += betaPdf((i + 0.5) / n / 2, a, b) / n / 2; // ∫_0^0.5
    expect(acc).toBeCloseTo(incompleteBeta(0.5, a, b), 7);
  });
});

describe('Beta quantiles', () => {
  it('invert closed forms', () => {
    for (const p of ps) {
      expect(betaQuantile(p, 1, 1)).toBeCloseTo(p, 9);
      expect(betaQuantile(p, 3, 1)).toBeCloseTo(p ** (1 / 3), 9);
      expect(betaQuantile(p, 1, 5)).toBeCloseTo(1 - (1 - p) ** (1 / 5), 9);
    }
  });
  it('round-trips through the CDF for many shapes', () => {
    for (const [a, b] of [
      [2, 1],
      [1, 2],
      [0.5, 0.5],
      [10, 3],
      [45.2, 3.1],
      [300, 700],
      [1.5, 60],
    ]) {
      for (const p of ps) expect(incompleteBeta(betaQuantile(p, a, b), a, b)).toBeCloseTo(p, 8);
    }
  });
  it('90 % credible interval of Beta(1,1) is [0.05, 0.95]; of Beta(a,1) is [0.05^(1/a), 0.95^(1/a)]', () => {
    const u = betaInterval(1, 1);
    expect(u.low).toBeCloseTo(0.05, 10);
    expect(u.high).toBeCloseTo(0.95, 10);
    const b = betaInterval(4, 1);
    expect(b.low).toBeCloseTo(0.05 ** 0.25, 9);
    expect(b.high).toBeCloseTo(0.95 ** 0.25, 9);
  });
});

describe('Beta sampling', () => {
  it('has the right mean and variance (fixed seed)', () => {
    const rng = createRng(123);
    for (const [a, b] of [
      [2, 1],
      [0.6, 0.9],
      [30, 5],
    ]) {
      const n = 40000;
      let s = 0;
      let s2 = 0;
      for (let i = 0; i < n; i++) {
        const x = sampleBeta(a, b, rng);
        s += x;
        s2 += x * x;
      }
      const mean = s / n;
      const variance = s2 / n - mean * mean;
      expect(mean).toBeCloseTo(betaMean(a, b), 2);
      expect(variance).toBeCloseTo((a * b) / ((a + b) ** 2 * (a + b + 1)), 3);
    }
  });
});
