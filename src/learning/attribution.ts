/**
 * Failure attribution: what a finished pipeline says about its *configuration*, as opposed to the code it
 * ran or the runner it ran on. A pure function of the evidence GitLab gives (pipeline status, jobs with
 * their failure reasons and retries, the test report summary, coverage); the classes and their effect on
 * the Beta posterior are the table below, documented in docs/learning-attribution.md.
 */

export type AttributionClass = 'works' | 'broken' | 'no_evidence' | 'weak' | 'partial' | 'flaky';

export const ATTRIBUTION_CLASSES: readonly AttributionClass[] = [
  'works',
  'broken',
  'no_evidence',
  'weak',
  'partial',
  'flaky',
];

/**
 * Effect of one pipeline on the configuration's posterior Beta(α, β): α += Δα, β += Δβ.
 * `weight` = Δα + Δβ is how many runs' worth of evidence it is; `credit` = Δα / weight the share of it
 * that says "the configuration works" (reward v2 multiplies by it).
 *
 * - works: the configuration installed and ran the suite — a full success, even when tests failed (code
 *   is red, not the configuration).
 * - broken: it failed before any test ran — a full failure.
 * - no_evidence: the runner, GitLab or a user stopped it — nothing is learned.
 * - weak: green without any test run (or only because failing test jobs may fail). Half a run, split
 *   evenly: it shows the configuration starts and ends, not that it tests; its mean drifts to ½, so it
 *   never outranks a configuration whose tests run and pass.
 * - partial: a test job went red without a test report (the suite may or may not have started) — half a
 *   failure.
 * - flaky: green, but a job passed only on retry — ¾ success, ¼ failure.
 */
export const ATTRIBUTION_TABLE: Record<AttributionClass, { dAlpha: number; dBeta: number }> = {
  works: { dAlpha: 1, dBeta: 0 },
  broken: { dAlpha: 0, dBeta: 1 },
  no_evidence: { dAlpha: 0, dBeta: 0 },
  weak: { dAlpha: 0.25, dBeta: 0.25 },
  partial: { dAlpha: 0, dBeta: 0.5 },
  flaky: { dAlpha: 0.75, dBeta: 0.25 },
};

export function weightOf(cls: AttributionClass): number {
  const t = ATTRIBUTION_TABLE[cls];
  return t.dAlpha + t.dBeta;
}

/** Share of the evidence that credits the configuration; null when there is no evidence. */
export function creditOf(cls: AttributionClass): number | null {
  const w = weightOf(cls);
  return w > 0 ? ATTRIBUTION_TABLE[cls].dAlpha / w : null;
}

/**
 * What one class did to the configuration's posterior, in plain words (the MR replies and `/pipeline status`),
 * from the table above so the words cannot drift from the numbers.
 */
export function attributionEffect(cls: AttributionClass): string {
  const t = ATTRIBUTION_TABLE[cls];
  switch (cls) {
    case 'works':
      return 'counted for the configuration';
    case 'broken':
      return 'counted against the configuration';
    case 'no_evidence':
      return 'not counted either way';
    case 'weak':
      return `counted as ${runsWorth(weightOf(cls))}, half for and half against the configuration`;
    case 'partial':
      return `counted as ${runsWorth(t.dBeta)} against the configuration`;
    case 'flaky':
      return `counted as ${runsWorth(t.dAlpha)} for and ${runsWorth(t.dBeta)} against the configuration`;
  }
}

function runsWorth(x: number): string {
  const words: Record<string, string> = {
    '0.25': 'a quarter of a run',
    '0.5': 'half a run',
    '0.75': 'three quarters of a run',
  };
  return words[String(x)] ?? `${x} of a run`;
}

/** One job as `GET /projects/:id/pipelines/:pipeline_id/jobs?include_retried=true` lists it. */
export interface JobEvidence {
  id: number;
  name: string;
  stage: string;
  /** success, failed, canceled, skipped, manual, created, … */
  status: string;
  failureReason: string | null;
  allowFailure: boolean;
  /** true for an attempt that was superseded by a retry (GitLab lists it with `retried: true`) */
  retried: boolean;
  /** whether the job's trace shows output of its own script; null when the trace was not read */
  runnerOutput?: boolean | null;
}

/** One suite of GitLab's test report summary (`test_suites[]`), in our spelling. */
export interface TestSuiteSummary {
  name: string;
  total: number;
  success: number;
  failed: number;
  skipped: number;
  error: number;
  /** the jobs whose reports make the suite */
  buildIds: number[];
  suiteError: string | null;
}

export interface TestReportSummary {
  total: number;
  success: number;
  failed: number;
  skipped: number;
  error: number;
  suites: TestSuiteSummary[];
}

export interface PipelineEvidence {
  status: string;
  /** the configuration's stages in order (from the YAML or the jobs' order); used for "before the tests" */
  stages?: readonly string[];
  jobs: readonly JobEvidence[];
  /** null when the pipeline has no test report (or it was not fetched) */
  testReport: TestReportSummary | null;
  /** pipeline coverage in percent, as GitLab reports it (a string there) */
  coverage: number | null;
  /** names of the jobs the configuration declares `artifacts:reports:junit` for */
  testJobs?: readonly string[];
}

export interface Attribution {
  class: AttributionClass;
  dAlpha: number;
  dBeta: number;
  weight: number;
  /** one line for people: "red: 3 of 412 tests failed — the configuration worked" */
  summary: string;
  testsTotal: number | null;
  testsFailed: number | null;
  coverage: number | null;
  /** the job that decided a red verdict, if one did */
  decidingJob: string | null;
}

/** The runner, GitLab or the instance failed: says nothing about the configuration. */
const NO_EVIDENCE_REASONS = new Set([
  'api_failure',
  'stuck_or_timeout_failure',
  'runner_system_failure',
  'runner_unsupported',
  'stale_schedule',
  'archived_failure',
  'scheduler_failure',
  'data_integrity_failure',
  'ci_quota_exceeded',
  'no_matching_runner',
  'user_blocked',
  'project_deleted',
  'builds_disabled',
  'ip_restriction_failure',
  'trace_size_exceeded',
]);

/** Failures of what the configuration asks for, whatever the stage. */
const CONFIG_REASONS = new Set([
  'missing_dependency_failure',
  'unmet_prerequisites',
  'image_pull_failure',
  'secrets_provider_not_found',
  'pipeline_loop_detected',
  'invalid_bridge_trigger',
  'downstream_bridge_project_not_found',
  'upstream_bridge_project_not_found',
  'environment_creation_failure',
  'config_error',
]);

/** Parses GitLab's `test_report_summary` response (shape as in the Pipelines API docs). */
export function testReportFromGitLab(body: unknown): TestReportSummary | null {
  if (!body || typeof body !== 'object') return null;
  const o = body as { total?: Record<string, unknown>; test_suites?: Record<string, unknown>[] };
  const n = (x: unknown) => (typeof x === 'number' && Number.isFinite(x) ? x : Number(x) || 0);
  const t = o.total ?? {};
  const suites = (o.test_suites ?? []).map((s) => ({
    name: String(s.name ?? ''),
    total: n(s.total_count),
    success: n(s.success_count),
    failed: n(s.failed_count),
    skipped: n(s.skipped_count),
    error: n(s.error_count),
    buildIds: Array.isArray(s.build_ids) ? s.build_ids.map(Number) : [],
    suiteError: s.suite_error == null ? null : String(s.suite_error),
  }));
  return {
    total: n(t.count),
    success: n(t.success),
    failed: n(t.failed),
    skipped: n(t.skipped),
    error: n(t.error),
    suites,
  };
}

/** GitLab sends `coverage` as a string ("78.50") or null. */
export function coverageFromGitLab(value: unknown): number | null {
  if (value == null || value === '') return null;
  const x = Number(value);
  return Number.isFinite(x) ? x : null;
}

function result(
  cls: AttributionClass,
  summary: string,
  ev: PipelineEvidence,
  decidingJob: string | null = null,
): Attribution {
  const t = ATTRIBUTION_TABLE[cls];
  return {
    class: cls,
    dAlpha: t.dAlpha,
    dBeta: t.dBeta,
    weight: t.dAlpha + t.dBeta,
    summary,
    testsTotal: ev.testReport ? ev.testReport.total : null,
    testsFailed: ev.testReport ? ev.testReport.failed + ev.testReport.error : null,
    coverage: ev.coverage,
    decidingJob,
  };
}

const plural = (n: number, one: string) => `${n} ${one}${n === 1 ? '' : 's'}`;

/**
 * Classifies one finished pipeline. Red verdicts are decided per failed job (the last attempt of each,
 * `allow_failure` ones excluded) and the strongest wins: broken > partial > works > no evidence — one job
 * that failed before the tests condemns the configuration even if another job's tests also failed.
 *
 * "Before any test ran" (pinned in issue 11): the job is in a stage before the first stage holding a
 * test job, or it has no test report and its trace shows no runner output. A test job is one the
 * configuration declares a junit report for, one a test suite names in `build_ids`, or one in a stage
 * called `test`. A pipeline without any test job: every stage is before the tests.
 */
export function attributePipeline(ev: PipelineEvidence): Attribution {
  const status = ev.status;
  if (status === 'canceled' || status === 'skipped') return result('no_evidence', `${status}: no evidence`, ev);
  const latest = ev.jobs.filter((j) => !j.retried);
  const reportedIds = new Set((ev.testReport?.suites ?? []).flatMap((s) => s.buildIds));
  const declared = new Set(ev.testJobs ?? []);
  const isTestJob = (j: JobEvidence) => reportedIds.has(j.id) || declared.has(j.name) || j.stage === 'test';
  const stages = ev.stages?.length ? [...ev.stages] : [...new Set(ev.jobs.map((j) => j.stage))];
  const testStages = new Set(ev.jobs.filter(isTestJob).map((j) => j.stage));
  for (const name of declared) for (const j of ev.jobs) if (j.name === name) testStages.add(j.stage);
  const firstTestStage = stages.findIndex((s) => testStages.has(s));
  const before = (j: JobEvidence) => {
    const i = stages.indexOf(j.stage);
    return firstTestStage < 0 || (i >= 0 && i < firstTestStage);
  };
  const report = ev.testReport;
  const ran = report !== null && report.total > 0;
  const testsLine = ran ? `${plural(report.total, 'test')}` : 'no test ran';

  if (status === 'success') {
    const passedOnRetry = latest.filter(
      (j) => j.status === 'success' && ev.jobs.some((r) => r.retried && r.name === j.name && r.status === 'failed'),
    );
    if (passedOnRetry.length) {
      return result('flaky', `green after a retry of ${passedOnRetry[0].name} — flaky`, ev, passedOnRetry[0].name);
    }
    const allowedRedTests = latest.filter((j) => j.status === 'failed' && j.allowFailure && isTestJob(j));
    if (allowedRedTests.length) {
      return result(
        'weak',
        `green only because ${allowedRedTests[0].name} may fail — weak evidence`,
        ev,
        allowedRedTests[0].name,
      );
    }
    if (!ran) return result('weak', 'green, but no test ran — weak evidence', ev);
    return result('works', `green: ${testsLine} passed — the configuration worked`, ev);
  }

  if (status !== 'failed') return result('no_evidence', `${status}: no evidence`, ev);
  const failed = latest.filter((j) => j.status === 'failed' && !j.allowFailure);
  // A failed pipeline without jobs never started: YAML or lint error.
  if (latest.length === 0) return result('broken', 'red: the pipeline never started (configuration error)', ev);
  if (failed.length === 0) return result('no_evidence', 'red without a failed job — no evidence', ev);

  const rank: Record<AttributionClass, number> = { broken: 4, partial: 3, works: 2, flaky: 1, weak: 1, no_evidence: 0 };
  let verdict: { cls: AttributionClass; job: JobEvidence; why: string } | null = null;
  for (const j of failed) {
    const reason = j.failureReason ?? 'unknown_failure';
    const suites = report?.suites.filter((s) => s.buildIds.includes(j.id)) ?? [];
    const jobTests = suites.reduce((s, x) => s + x.total, 0);
    const jobRed = suites.reduce((s, x) => s + x.failed + x.error, 0);
    let v: { cls: AttributionClass; why: string };
    if (NO_EVIDENCE_REASONS.has(reason)) v = { cls: 'no_evidence', why: `${j.name}: ${reason} — no evidence` };
    else if (CONFIG_REASONS.has(reason))
      v = { cls: 'broken', why: `${j.name}: ${reason} — the configuration is broken` };
    else if (suites.length && jobTests > 0 && jobRed > 0) {
      v = { cls: 'works', why: `${jobRed} of ${jobTests} tests failed — the configuration worked` };
    } else if (suites.length && jobTests > 0) {
      v = { cls: 'partial', why: `${j.name} failed after its ${plural(jobTests, 'test')} passed — partial evidence` };
    } else if (before(j)) {
      v = { cls: 'broken', why: `${j.name} (${j.stage}) failed before any test ran — the configuration is broken` };
    } else if (j.runnerOutput === false) {
      v = { cls: 'broken', why: `${j.name} failed without running its script — the configuration is broken` };
    } else if (isTestJob(j)) {
      v = { cls: 'partial', why: `${j.name} failed without a test report — partial evidence` };
    } else {
      v = { cls: 'partial', why: `${j.name} (${j.stage}) failed after the tests — partial evidence` };
    }
    if (!verdict || rank[v.cls] > rank[verdict.cls]) verdict = { ...v, job: j };
  }
  const v = verdict!;
  // Tests failing in a report the failed job is not part of still show the suite ran.
  if (v.cls === 'works' && report) {
    const red = report.failed + report.error;
    return result(
      'works',
      `red: ${red} of ${plural(report.total, 'test')} failed — the configuration worked`,
      ev,
      v.job.name,
    );
  }
  return result(v.cls, `red: ${v.why}`, ev, v.job.name);
}

/**
 * The attribution a v1 run implies (green = works, red = broken), for runs stored before attribution
 * existed and for callers without GitLab evidence.
 */
export function legacyAttribution(success: boolean): Attribution {
  return result(
    success ? 'works' : 'broken',
    success ? 'green (no test evidence read)' : 'red (no test evidence read)',
    { status: success ? 'success' : 'failed', jobs: [], testReport: null, coverage: null },
  );
}

const NOT_JOBS = new Set([
  'stages',
  'variables',
  'include',
  'default',
  'workflow',
  'image',
  'services',
  'cache',
  'before_script',
  'after_script',
  'spec',
]);

/** GitLab's stages when a configuration lists none. */
export const DEFAULT_STAGES = ['.pre', 'build', 'test', 'deploy', '.post'];

export interface ConfigurationFacts {
  stages: string[];
  testJobs: string[];
  includes: boolean;
}

/**
 * What a configuration (parsed YAML, `doc.toJS()`) tells attribution: its stages in order, the jobs that
 * declare `artifacts:reports:junit`, and whether it may declare more than we can see (`include:`).
 */
export function configurationFacts(config: unknown): ConfigurationFacts {
  if (!config || typeof config !== 'object' || Array.isArray(config)) {
    return { stages: DEFAULT_STAGES, testJobs: [], includes: false };
  }
  const o = config as Record<string, unknown>;
  const listed = Array.isArray(o.stages) ? o.stages.map(String) : null;
  const stages = listed ? ['.pre', ...listed.filter((s) => s !== '.pre' && s !== '.post'), '.post'] : DEFAULT_STAGES;
  const testJobs: string[] = [];
  for (const [name, job] of Object.entries(o)) {
    if (NOT_JOBS.has(name) || name.startsWith('.') || !job || typeof job !== 'object') continue;
    const reports = ((job as Record<string, unknown>).artifacts as Record<string, unknown> | undefined)?.reports as
      | Record<string, unknown>
      | undefined;
    if (reports && reports.junit != null) testJobs.push(name);
  }
  return { stages, testJobs, includes: o.include != null };
}
