import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';
import base from '../vitest.config.js';

// The repository's own configuration (global setup included), with only `include` replaced: a canary
// that skipped the global setup would prove nothing about the suite's exit status.
export default defineConfig({
  ...base,
  root: fileURLToPath(new URL('..', import.meta.url)),
  test: { ...base.test, include: ['.ci/canary/failing.canary.ts'] },
});
