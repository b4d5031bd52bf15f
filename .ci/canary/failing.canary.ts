import { expect, test } from 'vitest';

// Run only by .ci/run's guard (its own vitest invocation): it must make vitest exit non-zero.
test('the canary fails on purpose', () => {
  expect(1).toBe(2);
});
