import { type Document, isMap, isScalar, isSeq, type Node, type YAMLMap } from 'yaml';
import type { LintResult } from '../gitlab/GitLab.js';
import { parseCiYaml, YamlSyntaxError } from './parseCiYaml.js';

export interface ValidationResult {
  ok: boolean;
  errors: string[];
  /** things that could not be checked offline (e.g. jobs that may come from includes) */
  warnings: string[];
}

/** GitLab's CI lint (`POST /projects/:id/ci/lint`, dry run), injected where a connection exists. */
export type LintFn = (yaml: string) => Promise<LintResult>;

/** Top-level keys that are keywords, not jobs. */
export const CI_KEYWORDS: ReadonlySet<string> = new Set([
  'default',
  'include',
  'stages',
  'variables',
  'workflow',
  'spec',
  'image',
  'services',
  'cache',
  'before_script',
  'after_script',
  'types',
]);
const DEFAULT_STAGES = ['build', 'test', 'deploy'];

type Js = Record<string, unknown>;

function asArray(v: unknown): unknown[] {
  return Array.isArray(v) ? v : v === undefined || v === null ? [] : [v];
}

/**
 * Offline checks of a pipeline file: it parses (no duplicate keys), every job's stage exists,
 * `needs` and `extends` targets exist, each job has `script`, `trigger`, `run` or `extends`.
 * When the file includes others, missing targets may live there: those become warnings.
 */
export function validatePipeline(yaml: string, parsed?: Document.Parsed[]): ValidationResult {
  return validateParsed(yaml, parsed).result;
}

/**
 * `validatePipeline` on documents already parsed from `yaml` (by `parseCiYaml`), also returning the
 * pipeline document as plain data (null when it is not a mapping).
 */
export function validateParsed(yaml: string, parsed?: Document.Parsed[]): { result: ValidationResult; js: Js | null } {
  const errors: string[] = [];
  const warnings: string[] = [];
  let root: Node | null = null;
  let js: Js = {};
  try {
    const docs = parsed ?? parseCiYaml(yaml);
    const doc = docs[docs.length - 1];
    root = (doc?.contents as Node | null) ?? null;
    if (isMap(root)) js = doc.toJS({ maxAliasCount: -1 }) as Js;
  } catch (err) {
    if (err instanceof YamlSyntaxError) return { result: { ok: false, errors: [err.message], warnings }, js: null };
    throw err;
  }
  if (!isMap(root))
    return { result: { ok: false, errors: ['the file is not a mapping of keywords and jobs'], warnings }, js: null };
  const map = root as YAMLMap;
  const hasIncludes = asArray(js.include).length > 0;
  const unresolved = (msg: string) => (hasIncludes ? warnings : errors).push(msg);

  let stages = DEFAULT_STAGES;
  const stagesNode = map.get('stages', true);
  if (stagesNode !== undefined) {
    if (!isSeq(stagesNode)) errors.push('stages must be a list');
    else
      stages = stagesNode.items.flatMap((i) => (isScalar(i) ? [String(i.value)] : isSeq(i) ? i.items.map(String) : []));
  }
  const allStages = new Set(['.pre', ...stages, '.post']);

  const jobs = new Map<string, Js>();
  for (const [name, value] of Object.entries(js)) {
    if (CI_KEYWORDS.has(name)) continue;
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      if (!name.startsWith('.')) errors.push(`job ${name}: must be a mapping`);
      continue;
    }
    jobs.set(name, value as Js);
  }

  // Resolves a key through the extends chain; `known` is false when a parent is not in this file.
  const lookup = (name: string, key: string, seen = new Set<string>()): { value: unknown; known: boolean } => {
    const job = jobs.get(name);
    if (!job) return { value: undefined, known: false };
    if (seen.has(name)) return { value: undefined, known: true };
    seen.add(name);
    if (job[key] !== undefined) return { value: job[key], known: true };
    let known = true;
    for (const parent of asArray(job.extends).reverse()) {
      const r = lookup(String(parent), key, seen);
      if (r.value !== undefined) return r;
      known &&= r.known;
    }
    return { value: undefined, known };
  };

  for (const [name, job] of jobs) {
    for (const parent of asArray(job.extends)) {
      if (typeof parent !== 'string') errors.push(`job ${name}: extends must name jobs`);
      else if (!jobs.has(parent)) unresolved(`job ${name}: extends ${parent}, which is not defined in this file`);
    }
    if (name.startsWith('.')) continue;
    const bodies = ['script', 'trigger', 'run'].map((k) => lookup(name, k));
    const hasBody = bodies.some((b) => b.value !== undefined);
    const bodyKnown = bodies.every((b) => b.known);
    if (!hasBody && job.extends === undefined) unresolved(`job ${name}: needs a script, trigger or extends`);
    else if (!hasBody && bodyKnown) unresolved(`job ${name}: has no script or trigger, not even through extends`);
    const stage = lookup(name, 'stage');
    // an unknown parent (from an include) may set the stage
    const st = typeof stage.value === 'string' ? stage.value : stage.value === undefined && stage.known ? 'test' : null;
    if (st !== null && !st.includes('$') && !allStages.has(st)) {
      if (stagesNode === undefined && hasIncludes)
        warnings.push(`job ${name}: stage ${st} may be declared in an include`);
      else errors.push(`job ${name}: stage ${st} is not in stages (${[...allStages].join(', ')})`);
    }
    const needs = job.needs;
    if (needs !== undefined && !Array.isArray(needs)) errors.push(`job ${name}: needs must be a list`);
    for (const n of asArray(needs)) {
      const target = typeof n === 'string' ? n : typeof n === 'object' && n ? (n as Js).job : undefined;
      if (typeof n === 'object' && n && ((n as Js).pipeline !== undefined || (n as Js).project !== undefined)) continue;
      if (typeof target !== 'string') continue;
      if (typeof n === 'object' && (n as Js).optional === true) continue;
      if (target === name) errors.push(`job ${name}: needs itself`);
      else if (!jobs.has(target) || target.startsWith('.'))
        unresolved(`job ${name}: needs ${target}, which is not defined`);
    }
  }
  if (![...jobs.keys()].some((n) => !n.startsWith('.')) && !hasIncludes) errors.push('the pipeline has no jobs');
  return { result: { ok: errors.length === 0, errors, warnings }, js };
}
