import { Document, isMap, isScalar, isSeq, type Node, Pair, Scalar, YAMLMap, YAMLSeq } from 'yaml';
import { UserFacingError } from '../errors.js';
import { parseCiYaml, TO_STRING } from './parseCiYaml.js';
import { TOOL_IMAGES } from './versions.js';

export interface LearnStageOptions {
  /** LEARN_COMPONENT: a component address with an exact version; null → inline `learn_record` job */
  component: string | null;
  /** PUBLIC_URL: where CI jobs reach the service; null → the job reads $PIPELINE_LEARNER_URL at run time */
  serviceUrl: string | null;
  /** stage name used when the file lists its stages (default `learn`) */
  stage?: string;
  /** prefix for the job name (default none: `learn_record`) */
  jobPrefix?: string;
  /** the learn job may fail without failing the pipeline (default true) */
  allowFailure?: boolean;
}

export const LEARN_JOB = 'learn_record';
export const RECORD_PATH = '/api/v1/pipeline/learn/record';

/**
 * The shell lines that record the pipeline. `$1` placeholders are avoided so the same lines work
 * in the inline job (URL from a variable) and in templates/learn.yml (URL from an input).
 */
export function learnScript(urlExpr: string): string[] {
  return [
    `LEARN_URL="${urlExpr}"`,
    'if [ -z "$LEARN_URL" ]; then echo "pipeline-learner: no service URL (set PIPELINE_LEARNER_URL); nothing recorded"; exit 0; fi',
    `curl --fail-with-body --silent --show-error --retry 4 --retry-all-errors --retry-delay 3 --max-time 30 --request POST --header "JOB-TOKEN: $CI_JOB_TOKEN" --header "Content-Type: application/json" --data "{\\"project_id\\": $CI_PROJECT_ID, \\"pipeline_id\\": $CI_PIPELINE_ID}" "\${LEARN_URL%/}${RECORD_PATH}"`,
  ];
}

function componentName(address: string): string {
  return address.split('@')[0];
}

function hasLearn(map: YAMLMap, jobName: string, options: LearnStageOptions): boolean {
  if (map.has(jobName) || map.has(LEARN_JOB)) return true;
  const include = map.get('include', true) as Node | undefined;
  const entries = isSeq(include) ? include.items : include ? [include] : [];
  for (const e of entries) {
    const comp = isMap(e) ? e.get('component') : null;
    if (typeof comp !== 'string') continue;
    if (/\/learn@/.test(comp)) return true;
    if (options.component && componentName(comp) === componentName(options.component)) return true;
  }
  return false;
}

function addStage(doc: Document, map: YAMLMap, stage: string): string {
  const stages = map.get('stages', true) as Node | undefined;
  if (!isSeq(stages)) return '.post';
  const names = stages.items.map((i) => (isScalar(i) ? String(i.value) : ''));
  if (!names.includes(stage)) stages.items.push(doc.createNode(stage) as Scalar);
  return stage;
}

function addInclude(doc: Document, map: YAMLMap, entry: Record<string, unknown>): void {
  const node = doc.createNode(entry) as YAMLMap;
  const include = map.get('include', true) as Node | undefined;
  if (include === undefined) {
    const seq = new YAMLSeq();
    seq.items.push(node);
    // include conventionally opens the file; keep a blank line before what used to come first
    const first = map.items[0]?.key;
    if (isScalar(first) && !first.commentBefore) first.spaceBefore = true;
    map.items.unshift(new Pair(new Scalar('include'), seq));
  } else if (isSeq(include)) {
    include.items.push(node);
  } else {
    const seq = new YAMLSeq();
    seq.items.push(include, node);
    map.set('include', seq);
  }
}

function inlineJob(doc: Document, stage: string, options: LearnStageOptions): Node {
  const job: Record<string, unknown> = {
    stage,
    image: { name: TOOL_IMAGES.curl, entrypoint: [''] },
    // the pipeline's default before_script/image/cache belong to its own jobs, not this one
    inherit: { default: ['tags'] },
  };
  if (options.serviceUrl) job.variables = { PIPELINE_LEARNER_URL: options.serviceUrl };
  job.allow_failure = options.allowFailure ?? true;
  job.script = learnScript('$PIPELINE_LEARNER_URL');
  return doc.createNode(job) as YAMLMap;
}

/**
 * Adds the learn stage to a CI file, editing the YAML document so comments, anchors, aliases,
 * `!reference` tags and key order survive. Returns the input unchanged when the learn job or
 * component is already there (so a second pass is a no-op).
 */
export function ensureLearnStage(yaml: string, options: LearnStageOptions): string {
  const docs: Document[] = parseCiYaml(yaml);
  if (docs.length === 0) docs.push(new Document());
  const doc = docs[docs.length - 1];
  if (doc.contents === null || (isScalar(doc.contents) && doc.contents.value === null)) doc.contents = new YAMLMap();
  if (!isMap(doc.contents)) {
    throw new UserFacingError('the top level of a .gitlab-ci.yml must be a mapping of keywords and jobs', {
      exitCode: 2,
      status: 422,
    });
  }
  const map = doc.contents;
  const jobName = `${options.jobPrefix ?? ''}${LEARN_JOB}`;
  if (hasLearn(map, jobName, options)) return yaml;

  const stage = addStage(doc, map, options.stage ?? 'learn');
  if (options.component) {
    const inputs: Record<string, unknown> = { stage };
    if (options.serviceUrl) inputs.service_url = options.serviceUrl;
    if (options.jobPrefix) inputs.job_prefix = options.jobPrefix;
    if (options.allowFailure === false) inputs.allow_failure = false;
    addInclude(doc, map, { component: options.component, inputs });
  } else {
    const key = new Scalar(jobName);
    key.commentBefore = ' pipeline-learner: records this pipeline so future proposals learn from it';
    key.spaceBefore = map.items.length > 0;
    map.items.push(new Pair(key, inlineJob(doc, stage, options)));
  }
  const out = docs.map((d) => d.toString(TO_STRING)).join('');
  return out;
}
