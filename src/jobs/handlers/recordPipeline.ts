import { parseDocument } from 'yaml';
import { boundedMemo } from '../../boundedMemo.js';
import type { Db } from '../../db/database.js';
import { type ConfigurationInput, getConfiguration, successfulConfigurations, upsertRun } from '../../db/runs.js';
import type { RunJob } from '../../db/tables/core.js';
import { sha256 } from '../../generation/generatePipeline.js';
import { countGitLabCalls } from '../../gitlab/callBudget.js';
import { type GitLab, GitLabError, type ProjectRef } from '../../gitlab/GitLab.js';
import {
  type Attribution,
  attributePipeline,
  type ConfigurationFacts,
  configurationFacts,
  type JobEvidence,
  testReportFromGitLab,
} from '../../learning/attribution.js';
import { tenantOf } from '../../learning/Chooser.js';
import type { Logger } from '../../log.js';
import { maskCredentials } from '../../maskCredentials.js';
import { GitLabRepoReader } from '../../repo/GitLabRepoReader.js';
import type { RepoReader } from '../../repo/RepoReader.js';
import type { FactsSource, RepositoryFactsStore } from '../../repo/RepositoryFacts.js';
import { buildFeedbackRecord, buildSuccessRecord, successDocumentId } from '../../vectors/seedDocuments.js';
import { COLLECTIONS, type VectorIndex } from '../../vectors/VectorIndex.js';
import type { PipelineSnapshot } from '../../webhooks/events.js';

export interface RunObservation {
  tenant: string;
  language: string;
  framework: string;
  projectPath: string;
  pipelineId: number;
  configHash: string | null;
  status: string;
  durationS: number | null;
  stagesCount: number;
  failedJobs: RunJob[];
  at: Date;
  /** failure attribution (null when the configuration or GitLab's evidence was unavailable) */
  attribution?: Attribution | null;
}

/** What the record step tells the learner; the learner is idempotent per pipeline id. */
export interface RunObserver {
  observeRun(run: RunObservation): Promise<void>;
}

export interface StackDetection {
  language: string;
  framework: string;
}

/**
 * Language/framework of a project at a revision (the generation module's analysis), read through the
 * same reader that fetches the pipeline's configuration, so no file is fetched twice.
 */
export type DetectStack = (repo: RepoReader) => Promise<StackDetection>;

export interface RecordDeps {
  db: Db;
  gitlab: GitLab;
  vectors: VectorIndex;
  detect: DetectStack;
  learner: RunObserver;
  log: Logger;
  /** the repository facts cache (issue 10 item 3); without it every record step reads from GitLab */
  facts?: RepositoryFactsStore | null;
  /** the call budget, for the logs and metrics of each pipeline job */
  budget?: BudgetObserver;
}

export interface BudgetObserver {
  /** one pipeline job: its facts cost and every GitLab call it made (test reports and notes included) */
  observe(o: { facts: FactsCost; calls: number }): void;
  /** the shared bucket as this process last saw it (null: no limiter, or no call yet) */
  remaining(): number | null;
}

/** How the configuration and detection inputs were obtained, and what they cost in GitLab calls. */
export interface FactsCost {
  source: FactsSource;
  /** GitLab calls for the configuration, Dockerfile and detection (the budget's ≤ 1.1 per pipeline) */
  calls: number;
}

export interface RecordOutcome {
  status: string;
  /** a success was recorded for the configuration */
  stored: boolean;
  configHash: string | null;
  language: string;
  framework: string;
  previousStatus: string | null;
  facts: FactsCost;
  /** a proposal names this pipeline's commit (its outcome note is then due) */
  proposalCommit: boolean;
}

/**
 * The seed's "Stages Passed": the names of the jobs that succeeded (its stages_count counts them),
 * kept the same here so PostgreSQL, the API and the vector records rank alike.
 */
function stagesPassed(jobs: RunJob[]): string[] {
  return jobs.filter((j) => j.status === 'success').map((j) => j.name);
}

function failedJobsOf(jobs: RunJob[]): RunJob[] {
  return jobs.filter((j) => j.status === 'failed' && !j.allow_failure);
}

/** `path`, `path@group/project` or `path@group/project:ref` (GitLab's ci_config_path forms). */
function configLocation(
  snapshot: PipelineSnapshot,
): { project: ProjectRef; path: string; ref: string; label: string } | null {
  const raw = snapshot.ciConfigPath?.trim() || '.gitlab-ci.yml';
  if (/^https?:\/\//i.test(raw)) return null;
  const at = raw.indexOf('@');
  if (at < 0) return { project: snapshot.projectId, path: raw, ref: snapshot.sha, label: raw };
  const path = raw.slice(0, at);
  const rest = raw.slice(at + 1);
  const colon = rest.indexOf(':');
  const project = colon < 0 ? rest : rest.slice(0, colon);
  const ref = colon < 0 ? 'HEAD' : rest.slice(colon + 1);
  return { project, path, ref, label: raw };
}

interface ParsedConfiguration {
  /** the first YAML error, null when the text parses */
  yamlError: string | null;
  /** what attribution needs of it (the defaults when it does not parse) */
  facts: ConfigurationFacts;
}

/** Configurations parsed in this process, by the hash of the text parsed. */
const parsedConfiguration = boundedMemo<ParsedConfiguration>(256);

/**
 * Parses a configuration once per process, not once per pipeline: most pipelines run a configuration
 * seen before, and YAML parsing was the largest part of a job's own CPU after the database driver.
 */
function parseConfiguration(text: string): ParsedConfiguration {
  return parsedConfiguration(sha256(text), () => {
    const doc = parseDocument(text);
    const yamlError = doc.errors[0]?.message ?? null;
    const facts = configurationFacts(doc.errors.length ? null : doc.toJS());
    // shared by every pipeline of this configuration: frozen, so a caller cannot change another's
    return Object.freeze({
      yamlError,
      facts: Object.freeze({
        ...facts,
        stages: Object.freeze([...facts.stages]) as string[],
        testJobs: Object.freeze([...facts.testJobs]) as string[],
      }),
    });
  });
}

/**
 * Records one pipeline: configuration by hash (first write wins), one run row per pipeline id,
 * vector evidence, then the learner. Every step is idempotent, so a job re-run after a crash
 * (or a duplicate delivery) changes nothing that was already recorded.
 */
export async function recordPipeline(deps: RecordDeps, s: PipelineSnapshot): Promise<RecordOutcome> {
  const log = deps.log.child({ pipeline_id: s.pipelineId, project: s.projectPath });
  const tenant = tenantOf(s.projectPath);
  const location = configLocation(s);
  const {
    result: [config, configSha256, dockerfile, stack, source],
    calls: factsCalls,
  } = await countGitLabCalls(() => readRepositoryFacts(deps, s, location));
  const facts: FactsCost = { source, calls: factsCalls };
  const language = stack.language.toLowerCase();
  const framework = stack.framework.toLowerCase();

  let configHash: string | null = null;
  let configFacts: ConfigurationFacts | null = null;
  let configuration: ConfigurationInput | null = null;
  if (config !== null) {
    // the hash of the file as committed, also when the cache handed out its masked text
    configHash = configSha256 ?? sha256(config);
    const parsed = parseConfiguration(config);
    configFacts = parsed.facts;
    const yamlError = parsed.yamlError;
    if (yamlError) log.warn({ config_hash: configHash.slice(0, 12) }, 'CI configuration is not valid YAML');
    configuration = {
      hash: configHash,
      content: maskCredentials(config),
      dockerfile: dockerfile === null ? null : maskCredentials(dockerfile),
      validYaml: !yamlError,
      yamlError,
      language,
      framework,
      projectPath: s.projectPath,
    };
  } else {
    log.info({ config_path: location?.label ?? s.ciConfigPath }, 'no CI configuration file at the pipeline sha');
  }

  const failedJobs = failedJobsOf(s.jobs);
  const stagesCount = stagesPassed(s.jobs).length;
  const { previousStatus, proposalCommit } = await upsertRun(
    deps.db,
    {
      pipelineId: s.pipelineId,
      iid: s.iid,
      projectId: s.projectId,
      projectPath: s.projectPath,
      tenant,
      sha: s.sha,
      ref: s.ref,
      source: s.source,
      status: s.status,
      durationS: s.durationS,
      queuedDurationS: s.queuedDurationS,
      jobs: s.jobs,
      failedJobs,
      stagesCount,
      configHash,
      configPath: location?.label ?? s.ciConfigPath ?? '.gitlab-ci.yml',
      language,
      framework,
      finishedAt: s.finishedAt ? new Date(s.finishedAt) : null,
    },
    {
      project: { projectId: s.projectId, pathWithNamespace: s.projectPath, tenant, ciConfigPath: s.ciConfigPath },
      configuration,
    },
  );

  if (configHash) await syncVectors(deps, { s, configHash, language, framework, tenant, failedJobs, previousStatus });

  const attribution = configFacts ? await attributionOf(deps, s, configFacts, log) : null;
  await deps.learner.observeRun({
    tenant,
    language,
    framework,
    projectPath: s.projectPath,
    pipelineId: s.pipelineId,
    configHash,
    status: s.status,
    durationS: s.durationS,
    stagesCount,
    failedJobs,
    at: s.finishedAt ? new Date(s.finishedAt) : new Date(),
    attribution,
  });
  log.info(
    {
      status: s.status,
      previous_status: previousStatus,
      config_hash: configHash?.slice(0, 12),
      attribution: attribution?.class,
      facts_source: facts.source,
      facts_calls: facts.calls,
    },
    'run recorded',
  );
  return {
    status: s.status,
    stored: s.status === 'success' && configHash !== null,
    configHash,
    language,
    framework,
    previousStatus,
    facts,
    proposalCommit,
  };
}

/**
 * The configuration, the Dockerfile and the detected stack of the pipeline's commit. One tree listing and
 * one read per file for all of it (detection included); a file the listing lacks (no Dockerfile) costs no
 * call. With the facts cache: a commit seen before costs nothing (its detection is kept too), a new commit
 * whose read files are unchanged costs the listing only.
 */
async function readRepositoryFacts(
  deps: RecordDeps,
  s: PipelineSnapshot,
  location: ReturnType<typeof configLocation>,
): Promise<[string | null, string | null, string | null, StackDetection, FactsSource]> {
  // the cache keeps file text masked, like stored configurations: never a credential at rest
  const repo = new GitLabRepoReader(deps.gitlab, s.projectId, s.sha, { facts: deps.facts, mask: maskCredentials });
  const inThisRepo = location?.project === s.projectId && location.ref === s.sha;
  const [config, dockerfile, stack] = await Promise.all([
    location
      ? inThisRepo
        ? repo.read(location.path)
        : deps.gitlab.fileRaw(location.project, location.path, location.ref)
      : Promise.resolve(null),
    repo.read('Dockerfile'),
    repo.knownStack().then(async (known) => known ?? deps.detect(repo)),
  ]);
  await repo.save(stack);
  const configSha256 = inThisRepo && location ? repo.sha256(location.path) : null;
  return [config, configSha256, dockerfile, stack, repo.source];
}

/**
 * Failure attribution of a finished pipeline (src/learning/attribution.ts). Issue 11's budget: at most two
 * GitLab calls on top of reading the configuration — the test report summary and the jobs with their
 * retried attempts — and only when the pipeline failed or the configuration declares junit reports (or
 * includes files that may). Otherwise the webhook's jobs suffice: a green pipeline without reports is weak
 * evidence. Job traces are not read, so "no runner output" is never claimed. A GitLab error other than a
 * transient one leaves the run without attribution (it then counts as green/red, v1).
 */
async function attributionOf(
  deps: RecordDeps,
  s: PipelineSnapshot,
  facts: ConfigurationFacts,
  log: Logger,
): Promise<Attribution | null> {
  if (s.status !== 'success' && s.status !== 'failed') return null;
  let jobs: JobEvidence[] = s.jobs.map((j, i) => ({
    id: j.id ?? -1 - i,
    name: j.name,
    stage: j.stage,
    status: j.status,
    failureReason: j.failure_reason,
    allowFailure: j.allow_failure,
    retried: false,
  }));
  let testReport = null;
  let coverage: number | null = null;
  if (s.status === 'failed' || facts.testJobs.length > 0 || facts.includes) {
    try {
      const [summary, all] = await Promise.all([
        deps.gitlab.pipelineTestReportSummary(s.projectId, s.pipelineId),
        deps.gitlab.pipelineJobs(s.projectId, s.pipelineId, { includeRetried: true }),
      ]);
      testReport = testReportFromGitLab(summary);
      jobs = all.map((j) => ({
        id: j.id,
        name: j.name,
        stage: j.stage,
        status: j.status,
        failureReason: j.failure_reason,
        allowFailure: j.allow_failure,
        retried: j.retried === true,
      }));
      // GitLab's pipeline coverage is the mean of its jobs' coverage.
      const covered = all.filter((j) => !j.retried && j.coverage != null).map((j) => j.coverage as number);
      coverage = covered.length ? covered.reduce((a, b) => a + b, 0) / covered.length : null;
    } catch (err) {
      if (err instanceof GitLabError && err.retry !== 'never') throw err;
      log.warn({ err: (err as Error).message }, 'pipeline evidence unavailable; recording the run without attribution');
      return null;
    }
  }
  return attributePipeline({
    status: s.status,
    stages: facts.stages,
    jobs,
    testReport,
    coverage,
    testJobs: facts.testJobs,
  });
}

/**
 * Brings the vector collections in line with PostgreSQL for this pipeline and configuration.
 * Counts come from the database rather than increments, so repeating this is harmless.
 */
async function syncVectors(
  deps: RecordDeps,
  x: {
    s: PipelineSnapshot;
    configHash: string;
    language: string;
    framework: string;
    tenant: string;
    failedJobs: RunJob[];
    previousStatus: string | null;
  },
): Promise<void> {
  const { s, configHash, language, framework } = x;
  const successId = successDocumentId(language, framework, configHash);
  const all = await successfulConfigurations(deps.db, { configHash, limit: 1000, withJobs: true });
  const latest = all[0];
  if (latest) {
    const runCount = all.reduce((n, c) => n + c.runCount, 0);
    const latestJobs = latest.pipelineId === s.pipelineId ? s.jobs : (latest.jobs ?? []);
    const [existing] = await deps.vectors.get(COLLECTIONS.successful, [successId]);
    const record = buildSuccessRecord(
      {
        language,
        framework,
        pipelineId: latest.pipelineId,
        duration: latest.durationS ?? 0,
        passed: stagesPassed(latestJobs),
        config: latest.content,
        dockerfile: latest.dockerfile,
        tenant: latest.tenant,
        project: latest.projectPath,
        configHash,
        finishedAt: latest.finishedAt ?? latest.recordedAt,
        runCount,
      },
      existing ?? null,
    );
    await deps.vectors.upsert(COLLECTIONS.successful, [record]);
  } else if (x.previousStatus === 'success') {
    // a retried pipeline turned from success to failure and no other success of this configuration remains
    await deps.vectors.delete(COLLECTIONS.successful, { ids: [successId] });
  }

  if (s.status === 'failed') {
    const stored = await getConfiguration(deps.db, configHash);
    await deps.vectors.upsert(COLLECTIONS.feedback, [
      buildFeedbackRecord({
        tenant: x.tenant,
        project: s.projectPath,
        language,
        framework,
        pipelineId: s.pipelineId,
        status: 'failed',
        duration: s.durationS ?? 0,
        configHash,
        config: stored?.content ?? '',
        dockerfile: stored?.dockerfile ?? null,
        failedJobs: x.failedJobs.map((j) => ({
          name: j.name,
          stage: j.stage,
          failureReason: j.failure_reason,
          allowFailure: j.allow_failure,
        })),
        finishedAt: s.finishedAt ?? new Date(),
      }),
    ]);
  } else if (x.previousStatus === 'failed') {
    // the pipeline was retried into success (or canceled): its failure is no longer evidence
    await deps.vectors.delete(COLLECTIONS.feedback, { where: { pipeline_id: String(s.pipelineId) } });
  }
}
