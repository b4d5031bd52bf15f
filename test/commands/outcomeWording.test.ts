/**
 * The pure parts of the proposal outcome reply: the learner's reading of a recorded run (shared with
 * `/pipeline status`) for every attribution class, and the deterministic error lines of a masked job log.
 * The reply itself is covered end to end in test/e2e/outcomeReply.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { failureLines } from '../../src/chat/explain.js';
import type { RecordedRunView } from '../../src/commands/CommandDeps.js';
import { learnerReading } from '../../src/commands/runners/status.js';
import { ATTRIBUTION_CLASSES, ATTRIBUTION_TABLE } from '../../src/learning/attribution.js';

const run = (over: Partial<RecordedRunView>): RecordedRunView => ({
  success: false,
  attribution: null,
  summary: null,
  testsTotal: null,
  testsFailed: null,
  ...over,
});

describe('the learner reading of a recorded run', () => {
  it('says for each class what it counted, matching the attribution table', () => {
    const said = Object.fromEntries(
      ATTRIBUTION_CLASSES.map((c) => [c, learnerReading(run({ attribution: c, summary: `summary of ${c}` }))]),
    );
    expect(said).toEqual({
      works: 'summary of works; counted for the configuration',
      broken: 'summary of broken; counted against the configuration',
      no_evidence: 'summary of no_evidence; not counted either way',
      weak: 'summary of weak; counted as half a run, half for and half against the configuration',
      partial: 'summary of partial; counted as half a run against the configuration',
      flaky:
        'summary of flaky; counted as three quarters of a run for and a quarter of a run against the configuration',
    });
    // the words follow the numbers: if the table changes, this test says the wording must too
    expect(ATTRIBUTION_TABLE.weak).toEqual({ dAlpha: 0.25, dBeta: 0.25 });
    expect(ATTRIBUTION_TABLE.partial).toEqual({ dAlpha: 0, dBeta: 0.5 });
    expect(ATTRIBUTION_TABLE.flaky).toEqual({ dAlpha: 0.75, dBeta: 0.25 });
  });

  it('says when a run was stored without attribution (green/red only)', () => {
    expect(learnerReading(run({ success: false }))).toBe(
      'red (no test evidence read); counted against the configuration (red only)',
    );
    expect(learnerReading(run({ success: true }))).toBe(
      'green (no test evidence read); counted for the configuration (green only)',
    );
  });
});

describe('failureLines: the likely error lines of a masked job log, without a model', () => {
  it('drops the runner boilerplate and ends just after the last error line', () => {
    const tail = [
      'Running with gitlab-runner 17.0.0',
      'Using docker image node:20 ...',
      'Fetching changes with git depth set to 20...',
      '$ pip install -r requirements.txt',
      'Collecting flask==9.9',
      'ERROR: Could not find a version that satisfies the requirement flask==9.9',
      'ERROR: No matching distribution found for flask==9.9',
      'hint: pin a released version',
      'Uploading artifacts for failed job',
      'Cleaning up project directory and file based variables',
      'ERROR: Job failed: exit code 1',
    ].join('\n');
    expect(failureLines(tail)).toBe(
      [
        '$ pip install -r requirements.txt',
        'Collecting flask==9.9',
        'ERROR: Could not find a version that satisfies the requirement flask==9.9',
        'ERROR: No matching distribution found for flask==9.9',
        'hint: pin a released version',
      ].join('\n'),
    );
  });

  it('keeps the last lines when nothing reads like an error, and bounds lines, line length and size', () => {
    const quiet = Array.from({ length: 30 }, (_, i) => `step ${i}`).join('\n');
    expect(failureLines(quiet).split('\n')).toEqual(Array.from({ length: 12 }, (_, i) => `step ${18 + i}`));

    const long = `error: ${'x'.repeat(1000)}`;
    const cut = failureLines(long);
    expect(cut.length).toBeLessThan(260);
    expect(cut.endsWith(' …')).toBe(true);

    const wide = Array.from({ length: 12 }, (_, i) => `error ${i} ${'y'.repeat(230)}`).join('\n');
    const bounded = failureLines(wide, { maxChars: 1000 });
    expect(bounded.length).toBeLessThanOrEqual(1000);
    expect(bounded.split('\n').at(-1)).toContain('error 11');

    expect(
      failureLines('\n\nCleaning up project directory and file based variables\nERROR: Job failed: exit code 1\n'),
    ).toBe('');
  });
});
