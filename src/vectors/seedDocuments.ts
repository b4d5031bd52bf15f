import { EMBEDDING_VERSION, embedConfiguration } from './embed.js';
import type { Metadata, VectorRecord } from './VectorIndex.js';

/**
 * The records of the seed's three Chroma collections, built the way the seed wrote them so that a
 * Chroma the seed filled reads the same (document text, ids, metadata names), plus what the seed
 * lacked: tenant, project, configuration hash, run count, and failures kept as evidence.
 */

const CONFIG_FENCE = /### \.gitlab-ci\.yml\n```ya?ml\n/;
const DOCKERFILE_HEADER = '### Dockerfile\n```dockerfile\n';

/** Lowercase slug used in ids: what the vocabulary already is, made safe if a caller passes anything else. */
function slug(value: string): string {
  return (
    value
      .trim()
      .toLowerCase()
      .replace(/[^a-z0-9.+-]+/g, '-')
      .replace(/^-+|-+$/g, '') || 'unknown'
  );
}

/** The 12-hex form of a configuration hash (DESIGN.md: sha256 of the file's bytes, shown as 12 hex characters). */
export function shortHash(hash: string): string {
  const h = hash.trim().toLowerCase();
  if (!/^[0-9a-f]{12,64}$/.test(h)) throw new Error(`not a configuration hash: ${JSON.stringify(hash)}`);
  return h.slice(0, 12);
}

function fenced(text: string): string {
  return text.endsWith('\n') ? text : `${text}\n`;
}

// ---------------------------------------------------------------------------------------------
// successful_pipelines

export interface SuccessDocumentInput {
  language: string;
  framework: string;
  pipelineId: number | string;
  /** seconds */
  duration: number;
  /** names of the jobs that passed, as the seed listed them under "Stages Passed" */
  passed: readonly string[];
  /** the .gitlab-ci.yml text as stored (credentials already masked) */
  config: string;
  dockerfile?: string | null;
}

/** The seed's document text, byte for byte in its layout. */
export function formatSuccessDocument(input: SuccessDocumentInput): string {
  let doc =
    '## Successful Pipeline Configuration\n' +
    `Language: ${input.language}\n` +
    `Framework: ${input.framework}\n` +
    `Pipeline ID: ${input.pipelineId}\n` +
    `Duration: ${Math.round(input.duration)} seconds\n` +
    `Stages Passed: ${input.passed.join(', ')}\n\n` +
    `### .gitlab-ci.yml\n\`\`\`yaml\n${fenced(input.config)}\`\`\``;
  if (input.dockerfile) doc += `\n\n${DOCKERFILE_HEADER}${fenced(input.dockerfile)}\`\`\``;
  return doc;
}

/**
 * The .gitlab-ci.yml inside any of our documents (success, feedback, template) or a seed-written one;
 * null when there is none. A fence inside the configuration (a heredoc with markdown) does not end it.
 */
export function extractConfigFromDocument(doc: string): string | null {
  const text = doc.replace(/\r\n/g, '\n');
  const m = CONFIG_FENCE.exec(text);
  if (!m) return null;
  const body = text.slice(m.index + m[0].length);
  const beforeDocker = body.lastIndexOf(`\n\`\`\`\n\n${DOCKERFILE_HEADER}`);
  const end = beforeDocker >= 0 ? beforeDocker : body.lastIndexOf('```');
  if (end < 0) return null;
  const config = body.slice(0, end).replace(/\n$/, '');
  return config.length > 0 ? `${config}\n` : null;
}

export function extractDockerfileFromDocument(doc: string): string | null {
  const text = doc.replace(/\r\n/g, '\n');
  const start = text.lastIndexOf(DOCKERFILE_HEADER);
  if (start < 0) return null;
  const body = text.slice(start + DOCKERFILE_HEADER.length);
  const end = body.lastIndexOf('```');
  const dockerfile = (end < 0 ? body : body.slice(0, end)).replace(/\n$/, '');
  return dockerfile.length > 0 ? `${dockerfile}\n` : null;
}

/**
 * `success_<language>_<framework>_<hash12>`, the seed's id rule. One record per configuration: the same
 * bytes succeeding in two projects (or tenants) share it, the latest run's tenant/project on top.
 */
export function successDocumentId(language: string, framework: string, configHash: string): string {
  return `success_${slug(language)}_${slug(framework)}_${shortHash(configHash)}`;
}

export interface SuccessMetadata extends Metadata {
  language: string;
  framework: string;
  /** the first pipeline that proved this configuration (string, as in the seed) */
  pipeline_id: string;
  /** seconds, of the latest successful run */
  duration: number;
  stages_count: number;
  /** ISO 8601 time of the latest successful run */
  timestamp: string;
  tenant: string;
  project: string;
  config_hash: string;
  run_count: number;
  latest_pipeline_id: string;
  first_timestamp: string;
  embedding_version: number;
}

export interface SuccessEvidence extends SuccessDocumentInput {
  tenant: string;
  /** path_with_namespace */
  project: string;
  /** full sha256 hex or its 12-character form */
  configHash: string;
  finishedAt: Date | string;
  /** when the caller counts runs itself (from the runs table); else derived from the existing record */
  runCount?: number;
  buildTool?: string | null;
}

function iso(t: Date | string): string {
  const d = t instanceof Date ? t : new Date(t);
  if (Number.isNaN(d.getTime())) throw new Error(`not a timestamp: ${String(t)}`);
  return d.toISOString();
}

/**
 * The successful_pipelines record after this success, given the one stored (or null). Idempotent: the
 * same pipeline delivered twice does not count twice, and an older run arriving late (the reconciler)
 * adds to run_count without becoming the latest.
 */
export function buildSuccessRecord(evidence: SuccessEvidence, existing: VectorRecord | null): VectorRecord {
  const id = successDocumentId(evidence.language, evidence.framework, evidence.configHash);
  const pipelineId = String(evidence.pipelineId);
  const at = iso(evidence.finishedAt);
  const old = existing?.metadata as Partial<SuccessMetadata> | undefined;

  let runCount = evidence.runCount;
  if (runCount === undefined) {
    const oldCount = typeof old?.run_count === 'number' ? old.run_count : old ? 1 : 0;
    const seen = old && (old.latest_pipeline_id === pipelineId || old.pipeline_id === pipelineId);
    runCount = seen ? Math.max(oldCount, 1) : oldCount + 1;
  }
  const oldLatest = typeof old?.timestamp === 'string' ? old.timestamp : null;
  const isLatest = !old || oldLatest === null || at >= oldLatest || old.latest_pipeline_id === pipelineId;
  const oldFirst = typeof old?.first_timestamp === 'string' ? old.first_timestamp : oldLatest;
  const isFirst = !old || oldFirst === null || at < oldFirst;

  const latest = isLatest
    ? {
        duration: Math.round(evidence.duration),
        stages_count: evidence.passed.length,
        timestamp: at,
        latest_pipeline_id: pipelineId,
        tenant: evidence.tenant,
        project: evidence.project,
        passed: evidence.passed,
      }
    : {
        duration: Number(old.duration ?? Math.round(evidence.duration)),
        stages_count: Number(old.stages_count ?? evidence.passed.length),
        timestamp: String(old.timestamp),
        latest_pipeline_id: String(old.latest_pipeline_id ?? pipelineId),
        tenant: String(old.tenant ?? evidence.tenant),
        project: String(old.project ?? evidence.project),
        passed: passedFromDocument(existing?.document) ?? evidence.passed,
      };
  const firstPipelineId = isFirst ? pipelineId : String(old?.pipeline_id ?? pipelineId);

  const metadata: SuccessMetadata = {
    language: evidence.language,
    framework: evidence.framework,
    pipeline_id: firstPipelineId,
    duration: latest.duration,
    stages_count: latest.stages_count,
    timestamp: latest.timestamp,
    tenant: latest.tenant,
    project: latest.project,
    config_hash: shortHash(evidence.configHash),
    run_count: runCount,
    latest_pipeline_id: latest.latest_pipeline_id,
    first_timestamp: isFirst ? at : (oldFirst ?? at),
    embedding_version: EMBEDDING_VERSION,
  };
  return {
    id,
    document: formatSuccessDocument({
      ...evidence,
      pipelineId: firstPipelineId,
      duration: latest.duration,
      passed: latest.passed,
    }),
    metadata,
    embedding: embedConfiguration({
      language: evidence.language,
      framework: evidence.framework,
      config: evidence.config,
      extra: { buildTool: evidence.buildTool, dockerfile: evidence.dockerfile },
    }),
  };
}

function passedFromDocument(doc: string | undefined): string[] | null {
  const m = doc ? /^Stages Passed: (.*)$/m.exec(doc) : null;
  if (!m) return null;
  return m[1].trim() ? m[1].split(', ') : [];
}

// ---------------------------------------------------------------------------------------------
// pipeline_feedback: failures kept as negative evidence (the seed only logged them)

export interface FailedJob {
  name: string;
  stage: string;
  /** GitLab's failure_reason (script_failure, runner_system_failure, …); null when GitLab gives none */
  failureReason: string | null;
  allowFailure?: boolean;
}

export interface FailureEvidence {
  tenant: string;
  project: string;
  language: string;
  framework: string;
  pipelineId: number | string;
  status: 'failed' | 'canceled';
  duration: number;
  configHash: string;
  config: string;
  dockerfile?: string | null;
  failedJobs: readonly FailedJob[];
  finishedAt: Date | string;
  buildTool?: string | null;
}

export interface FeedbackMetadata extends Metadata {
  feedback_type: 'failure';
  language: string;
  framework: string;
  pipeline_id: string;
  status: string;
  duration: number;
  /** jobs that failed without allow_failure */
  failed_jobs_count: number;
  /** comma-separated, in the order given */
  failed_jobs: string;
  failed_stages: string;
  failure_reasons: string;
  timestamp: string;
  tenant: string;
  project: string;
  config_hash: string;
  embedding_version: number;
}

/** One record per failed pipeline: a pipeline retried into failure again overwrites its own record. */
export function feedbackDocumentId(
  language: string,
  framework: string,
  configHash: string,
  pipelineId: number | string,
) {
  return `failure_${slug(language)}_${slug(framework)}_${shortHash(configHash)}_${String(pipelineId)}`;
}

export function formatFeedbackDocument(
  e: Omit<FailureEvidence, 'tenant' | 'project' | 'configHash' | 'finishedAt'>,
): string {
  const jobs = e.failedJobs.length
    ? e.failedJobs
        .map(
          (j) =>
            `- ${j.name} (stage: ${j.stage}${j.allowFailure ? ', allowed to fail' : ''}): ${j.failureReason ?? 'unknown_failure'}`,
        )
        .join('\n')
    : '- (no job failed: the pipeline was stopped)';
  let doc =
    '## Failed Pipeline Configuration\n' +
    `Language: ${e.language}\n` +
    `Framework: ${e.framework}\n` +
    `Pipeline ID: ${e.pipelineId}\n` +
    `Status: ${e.status}\n` +
    `Duration: ${Math.round(e.duration)} seconds\n` +
    `Failed Jobs:\n${jobs}\n\n` +
    `### .gitlab-ci.yml\n\`\`\`yaml\n${fenced(e.config)}\`\`\``;
  if (e.dockerfile) doc += `\n\n${DOCKERFILE_HEADER}${fenced(e.dockerfile)}\`\`\``;
  return doc;
}

function uniqueJoined(values: readonly string[]): string {
  return [...new Set(values.filter(Boolean))].join(',');
}

export function buildFeedbackRecord(e: FailureEvidence): VectorRecord {
  const metadata: FeedbackMetadata = {
    feedback_type: 'failure',
    language: e.language,
    framework: e.framework,
    pipeline_id: String(e.pipelineId),
    status: e.status,
    duration: Math.round(e.duration),
    failed_jobs_count: e.failedJobs.filter((j) => !j.allowFailure).length,
    failed_jobs: e.failedJobs.map((j) => j.name).join(','),
    failed_stages: uniqueJoined(e.failedJobs.map((j) => j.stage)),
    failure_reasons: uniqueJoined(e.failedJobs.map((j) => j.failureReason ?? 'unknown_failure')),
    timestamp: iso(e.finishedAt),
    tenant: e.tenant,
    project: e.project,
    config_hash: shortHash(e.configHash),
    embedding_version: EMBEDDING_VERSION,
  };
  return {
    id: feedbackDocumentId(e.language, e.framework, e.configHash, e.pipelineId),
    document: formatFeedbackDocument(e),
    metadata,
    embedding: embedConfiguration({
      language: e.language,
      framework: e.framework,
      config: e.config,
      extra: { buildTool: e.buildTool, dockerfile: e.dockerfile },
    }),
  };
}

// ---------------------------------------------------------------------------------------------
// pipeline_templates

export type TemplateSource = 'builtin' | 'user';

export interface TemplateInput {
  language: string;
  framework: string;
  name: string;
  source: TemplateSource;
  config: string;
  description?: string;
}

export interface TemplateMetadata extends Metadata {
  language: string;
  framework: string;
  name: string;
  source: TemplateSource;
  embedding_version: number;
}

export function templateDocumentId(language: string, framework: string, name: string): string {
  return `template_${slug(language)}_${slug(framework)}_${slug(name)}`;
}

export function formatTemplateDocument(t: TemplateInput): string {
  return (
    '## Pipeline Template\n' +
    `Language: ${t.language}\n` +
    `Framework: ${t.framework}\n` +
    `Name: ${t.name}\n` +
    (t.description ? `Description: ${t.description.replace(/\s*\n\s*/g, ' ')}\n` : '') +
    `\n### .gitlab-ci.yml\n\`\`\`yaml\n${fenced(t.config)}\`\`\``
  );
}

export function buildTemplateRecord(t: TemplateInput): VectorRecord {
  const metadata: TemplateMetadata = {
    language: t.language,
    framework: t.framework,
    name: t.name,
    source: t.source,
    embedding_version: EMBEDDING_VERSION,
  };
  return {
    id: templateDocumentId(t.language, t.framework, t.name),
    document: formatTemplateDocument(t),
    metadata,
    embedding: embedConfiguration({ language: t.language, framework: t.framework, config: t.config }),
  };
}
