import { describe, expect, it } from 'vitest';
import {
  ATTRIBUTION_TABLE,
  type AttributionClass,
  attributePipeline,
  coverageFromGitLab,
  creditOf,
  type JobEvidence,
  type PipelineEvidence,
  testReportFromGitLab,
  weightOf,
} from '../../src/learning/attribution.js';

/** `GET /projects/:id/pipelines/:pipeline_id/test_report_summary`, shaped as in GitLab's Pipelines API docs. */
function summaryBody(
  suites: { name: string; jobId: number; success: number; failed: number; skipped?: number; error?: number }[],
) {
  const test_suites = suites.map((s) => {
    const skipped = s.skipped ?? 0;
    const error = s.error ?? 0;
    return {
      name: s.name,
      total_time: 12.5,
      total_count: s.success + s.failed + skipped + error,
      success_count: s.success,
      failed_count: s.failed,
      skipped_count: skipped,
      error_count: error,
      build_ids: [s.jobId],
      suite_error: null,
    };
  });
  const sum = (k: 'total_count' | 'success_count' | 'failed_count' | 'skipped_count' | 'error_count') =>
    test_suites.reduce((a, s) => a + s[k], 0);
  return {
    total: {
      time: 12.5 * suites.length,
      count: sum('total_count'),
      success: sum('success_count'),
      failed: sum('failed_count'),
      skipped: sum('skipped_count'),
      error: sum('error_count'),
      suite_error: null,
    },
    test_suites,
  };
}

/** The empty summary GitLab returns for a pipeline without reports. */
const EMPTY_SUMMARY = {
  total: { time: 0, count: 0, success: 0, failed: 0, skipped: 0, error: 0, suite_error: null },
  test_suites: [],
};

let nextId = 1000;
function job(name: string, stage: string, status: string, extra: Partial<JobEvidence> = {}): JobEvidence {
  return {
    id: extra.id ?? nextId++,
    name,
    stage,
    status,
    failureReason: status === 'failed' ? 'script_failure' : null,
    allowFailure: false,
    retried: false,
    ...extra,
  };
}

const STAGES = ['build', 'test', 'deploy'];

interface Case {
  name: string;
  evidence: PipelineEvidence;
  expected: AttributionClass;
  summary?: RegExp;
}

const build = job('build', 'build', 'success', { id: 1 });
const unit = job('unit', 'test', 'success', { id: 2 });
const redUnit = job('unit', 'test', 'failed', { id: 2 });

const cases: Case[] = [
  {
    name: 'green with 412 tests run',
    evidence: {
      status: 'success',
      stages: STAGES,
      jobs: [build, unit],
      testReport: testReportFromGitLab(summaryBody([{ name: 'unit', jobId: 2, success: 400, failed: 0, skipped: 12 }])),
      coverage: 81.2,
    },
    expected: 'works',
    summary: /green: 412 tests passed — the configuration worked/,
  },
  {
    name: 'red where 3 of 412 tests failed',
    evidence: {
      status: 'failed',
      stages: STAGES,
      jobs: [build, redUnit],
      testReport: testReportFromGitLab(summaryBody([{ name: 'unit', jobId: 2, success: 409, failed: 3 }])),
      coverage: null,
    },
    expected: 'works',
    summary: /^red: 3 of 412 tests failed — the configuration worked$/,
  },
  {
    name: 'red with test errors (not failures) in the report',
    evidence: {
      status: 'failed',
      stages: STAGES,
      jobs: [build, redUnit],
      testReport: testReportFromGitLab(summaryBody([{ name: 'unit', jobId: 2, success: 10, failed: 0, error: 2 }])),
      coverage: null,
    },
    expected: 'works',
  },
  {
    name: 'dependency install fails in the build stage (before the test stage)',
    evidence: {
      status: 'failed',
      stages: STAGES,
      jobs: [job('build', 'build', 'failed', { id: 1 }), job('unit', 'test', 'skipped', { id: 2 })],
      testReport: testReportFromGitLab(EMPTY_SUMMARY),
      coverage: null,
    },
    expected: 'broken',
    summary: /before any test ran/,
  },
  {
    name: 'image pull failure in the test job itself',
    evidence: {
      status: 'failed',
      stages: STAGES,
      jobs: [build, job('unit', 'test', 'failed', { id: 2, failureReason: 'image_pull_failure' })],
      testReport: null,
      coverage: null,
    },
    expected: 'broken',
  },
  {
    name: 'missing artifacts of an earlier job (missing_dependency_failure)',
    evidence: {
      status: 'failed',
      stages: STAGES,
      jobs: [build, job('unit', 'test', 'failed', { id: 2, failureReason: 'missing_dependency_failure' })],
      testReport: null,
      coverage: null,
    },
    expected: 'broken',
  },
  {
    name: 'YAML error: a failed pipeline without jobs',
    evidence: { status: 'failed', jobs: [], testReport: null, coverage: null },
    expected: 'broken',
  },
  {
    name: 'test job red without a report and without runner output (tool missing)',
    evidence: {
      status: 'failed',
      stages: STAGES,
      jobs: [build, job('unit', 'test', 'failed', { id: 2, runnerOutput: false })],
      testReport: null,
      coverage: null,
    },
    expected: 'broken',
  },
  {
    name: 'pipeline without any test job fails in its only stage',
    evidence: {
      status: 'failed',
      stages: ['build'],
      jobs: [job('compile', 'build', 'failed')],
      testReport: null,
      coverage: null,
    },
    expected: 'broken',
  },
  {
    name: 'test job red without a report, trace shows output: partial',
    evidence: {
      status: 'failed',
      stages: STAGES,
      jobs: [build, job('unit', 'test', 'failed', { id: 2, runnerOutput: true })],
      testReport: testReportFromGitLab(EMPTY_SUMMARY),
      coverage: null,
    },
    expected: 'partial',
    summary: /without a test report — partial evidence/,
  },
  {
    name: 'test job declared with junit reports in a stage named "verify", red without report',
    evidence: {
      status: 'failed',
      stages: ['build', 'verify'],
      jobs: [job('build', 'build', 'success'), job('pytest', 'verify', 'failed')],
      testReport: null,
      coverage: null,
      testJobs: ['pytest'],
    },
    expected: 'partial',
  },
  {
    name: 'deploy job fails after the tests passed',
    evidence: {
      status: 'failed',
      stages: STAGES,
      jobs: [build, unit, job('pages', 'deploy', 'failed', { runnerOutput: true })],
      testReport: testReportFromGitLab(summaryBody([{ name: 'unit', jobId: 2, success: 20, failed: 0 }])),
      coverage: null,
    },
    expected: 'partial',
  },
  {
    name: 'runner lost its connection',
    evidence: {
      status: 'failed',
      stages: STAGES,
      jobs: [build, job('unit', 'test', 'failed', { id: 2, failureReason: 'runner_system_failure' })],
      testReport: null,
      coverage: null,
    },
    expected: 'no_evidence',
  },
  {
    name: 'no runner picked the job up (stuck_or_timeout_failure) in the build stage',
    evidence: {
      status: 'failed',
      stages: STAGES,
      jobs: [job('build', 'build', 'failed', { failureReason: 'stuck_or_timeout_failure' })],
      testReport: null,
      coverage: null,
    },
    expected: 'no_evidence',
  },
  {
    name: 'api_failure',
    evidence: {
      status: 'failed',
      jobs: [job('build', 'build', 'failed', { failureReason: 'api_failure' })],
      testReport: null,
      coverage: null,
    },
    expected: 'no_evidence',
  },
  {
    name: 'canceled pipeline',
    evidence: { status: 'canceled', jobs: [build, job('unit', 'test', 'canceled')], testReport: null, coverage: null },
    expected: 'no_evidence',
  },
  {
    name: 'green with no test report at all',
    evidence: { status: 'success', stages: ['build'], jobs: [build], testReport: null, coverage: null },
    expected: 'weak',
    summary: /no test ran/,
  },
  {
    name: 'green with an empty test report (0 tests)',
    evidence: {
      status: 'success',
      stages: STAGES,
      jobs: [build, unit],
      testReport: testReportFromGitLab(EMPTY_SUMMARY),
      coverage: null,
    },
    expected: 'weak',
  },
  {
    name: 'green only because the red test job may fail',
    evidence: {
      status: 'success',
      stages: STAGES,
      jobs: [build, job('unit', 'test', 'failed', { id: 2, allowFailure: true })],
      testReport: testReportFromGitLab(summaryBody([{ name: 'unit', jobId: 2, success: 5, failed: 5 }])),
      coverage: null,
    },
    expected: 'weak',
    summary: /may fail/,
  },
  {
    name: 'green, a lint job that may fail is red, tests ran',
    evidence: {
      status: 'success',
      stages: ['lint', 'build', 'test'],
      jobs: [job('lint', 'lint', 'failed', { allowFailure: true }), build, unit],
      testReport: testReportFromGitLab(summaryBody([{ name: 'unit', jobId: 2, success: 30, failed: 0 }])),
      coverage: 55,
    },
    expected: 'works',
  },
  {
    name: 'green, but the test job passed only on retry',
    evidence: {
      status: 'success',
      stages: STAGES,
      jobs: [build, job('unit', 'test', 'failed', { id: 3, retried: true }), unit],
      testReport: testReportFromGitLab(summaryBody([{ name: 'unit', jobId: 2, success: 30, failed: 0 }])),
      coverage: null,
    },
    expected: 'flaky',
  },
  {
    name: 'red: a broken setup job outweighs failing tests elsewhere',
    evidence: {
      status: 'failed',
      stages: ['setup', 'test'],
      jobs: [job('deps', 'setup', 'failed', { id: 7 }), job('unit', 'test', 'failed', { id: 8 })],
      testReport: testReportFromGitLab(summaryBody([{ name: 'unit', jobId: 8, success: 1, failed: 1 }])),
      coverage: null,
    },
    expected: 'broken',
  },
  {
    name: 'red: only an allow_failure job failed besides a runner failure',
    evidence: {
      status: 'failed',
      stages: STAGES,
      jobs: [
        job('lint', 'build', 'failed', { allowFailure: true }),
        job('unit', 'test', 'failed', { id: 2, failureReason: 'runner_system_failure' }),
      ],
      testReport: null,
      coverage: null,
    },
    expected: 'no_evidence',
  },
  {
    name: 'a retried attempt that failed on the runner does not count once the retry is red with tests',
    evidence: {
      status: 'failed',
      stages: STAGES,
      jobs: [
        build,
        job('unit', 'test', 'failed', { id: 3, retried: true, failureReason: 'runner_system_failure' }),
        redUnit,
      ],
      testReport: testReportFromGitLab(summaryBody([{ name: 'unit', jobId: 2, success: 8, failed: 2 }])),
      coverage: null,
    },
    expected: 'works',
    summary: /2 of 10 tests failed/,
  },
];

describe('attributePipeline (case by case)', () => {
  it.each(cases)('$name → $expected', ({ evidence, expected, summary }) => {
    const a = attributePipeline(evidence);
    expect(a.class).toBe(expected);
    expect(a.dAlpha).toBe(ATTRIBUTION_TABLE[expected].dAlpha);
    expect(a.dBeta).toBe(ATTRIBUTION_TABLE[expected].dBeta);
    expect(a.weight).toBe(a.dAlpha + a.dBeta);
    if (summary) expect(a.summary).toMatch(summary);
  });

  it('reports test counts and coverage with the verdict', () => {
    const a = attributePipeline(cases[0].evidence);
    expect(a).toMatchObject({ testsTotal: 412, testsFailed: 0, coverage: 81.2 });
  });
});

describe('the attribution table', () => {
  it('has the pinned effect per class', () => {
    expect(weightOf('works')).toBe(1);
    expect(weightOf('broken')).toBe(1);
    expect(weightOf('no_evidence')).toBe(0);
    expect(weightOf('partial')).toBe(0.5);
    expect(weightOf('weak')).toBe(0.5);
    expect(creditOf('weak')).toBe(0.5);
    expect(creditOf('no_evidence')).toBeNull();
    expect(creditOf('flaky')).toBe(0.75);
  });
});

describe('GitLab shapes', () => {
  it('reads the documented test_report_summary sample', () => {
    const r = testReportFromGitLab({
      total: { time: 1904, count: 3363, success: 3351, failed: 0, skipped: 12, error: 0, suite_error: null },
      test_suites: [
        {
          name: 'test',
          total_time: 1904,
          total_count: 3363,
          success_count: 3351,
          failed_count: 0,
          skipped_count: 12,
          error_count: 0,
          build_ids: [66004],
          suite_error: null,
        },
      ],
    });
    expect(r).toEqual({
      total: 3363,
      success: 3351,
      failed: 0,
      skipped: 12,
      error: 0,
      suites: [
        {
          name: 'test',
          total: 3363,
          success: 3351,
          failed: 0,
          skipped: 12,
          error: 0,
          buildIds: [66004],
          suiteError: null,
        },
      ],
    });
  });

  it('reads coverage as GitLab sends it (a string or null)', () => {
    expect(coverageFromGitLab('78.50')).toBe(78.5);
    expect(coverageFromGitLab(null)).toBeNull();
    expect(coverageFromGitLab('')).toBeNull();
  });
});
