import type { ArmStats } from '../../src/learning/ArmStats.js';

/** Arm `i` (its hash is `i` in hex) with posterior Beta(a, b) over the Beta(2, 1) template prior. */
export const arm = (i: number, a: number, b: number, durationS: number | null = null): ArmStats => ({
  hash: i.toString(16).padStart(64, '0'),
  source: 'template',
  alpha: a,
  beta: b,
  successes: a - 2,
  failures: b - 1,
  pulls: Math.max(0, Math.round(a + b - 3)),
  durationS,
  stagesCount: null,
});
