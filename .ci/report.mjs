#!/usr/bin/env node
// Reads vitest's JSON report and decides the suite's verdict independently of vitest's exit status.
//   node .ci/report.mjs <report.json> <started-at-ms> <min-total-tests>
// Prints "N passed, N failed, N skipped" (failed counts test files that failed without a failed
// test too, e.g. at import) and exits 1 when anything says the run is not green.
import { readFileSync, statSync } from 'node:fs';

const [file, startedMs, floorArg] = process.argv.slice(2);
const problems = [];
let r = null;
try {
  if (statSync(file).mtimeMs < Number(startedMs)) problems.push(`${file} is older than this run`);
  r = JSON.parse(readFileSync(file, 'utf8'));
} catch (err) {
  problems.push(`no readable report at ${file}: ${err.message}`);
}
if (!r) {
  console.error(problems.join('\n'));
  console.log('0 passed, 1 failed, 0 skipped');
  process.exit(1);
}
const failedFilesWithoutFailedTest = (r.testResults ?? []).filter(
  (f) => f.status === 'failed' && !(f.assertionResults ?? []).some((a) => a.status === 'failed'),
);
const failed = r.numFailedTests + failedFilesWithoutFailedTest.length;
const floor = Number(floorArg);
if (r.success !== true) problems.push('the report says success: false');
if (r.numFailedTestSuites > 0) problems.push(`${r.numFailedTestSuites} test suite(s) failed`);
for (const f of failedFilesWithoutFailedTest) problems.push(`${f.name} failed without a failed test: ${f.message ?? ''}`.trim());
if (r.numTotalTests < floor) problems.push(`only ${r.numTotalTests} tests ran; the floor is ${floor} (tests lost?)`);
if (problems.length) console.error(`suite verdict: NOT green\n  ${problems.join('\n  ')}`);
console.log(`${r.numPassedTests} passed, ${failed} failed, ${r.numPendingTests + r.numTodoTests} skipped`);
process.exit(problems.length ? 1 : 0);
