import { isDeepStrictEqual } from 'node:util';
import { Document, isCollection, isMap, isPair, isScalar, isSeq, type Node, visit, type YAMLMap } from 'yaml';
import { UserFacingError } from '../errors.js';
import { parseCiYaml } from './parseCiYaml.js';
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
const JOB_COMMENT = '# pipeline-learner: records this pipeline so future proposals learn from it';

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

export function hasLearn(map: YAMLMap, jobName: string, options: LearnStageOptions): boolean {
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

/** The learn job as plain data; the same object is rendered into the file and used to check the result. */
function inlineJob(stage: string, options: LearnStageOptions): Record<string, unknown> {
  const job: Record<string, unknown> = {
    stage,
    image: { name: TOOL_IMAGES.curl, entrypoint: [''] },
    // the pipeline's default before_script/image/cache belong to its own jobs, not this one
    inherit: { default: ['tags'] },
  };
  if (options.serviceUrl) job.variables = { PIPELINE_LEARNER_URL: options.serviceUrl };
  job.allow_failure = options.allowFailure ?? true;
  job.script = learnScript('$PIPELINE_LEARNER_URL');
  return job;
}

function includeEntry(stage: string, options: LearnStageOptions & { component: string }): Record<string, unknown> {
  const inputs: Record<string, unknown> = { stage };
  if (options.serviceUrl) inputs.service_url = options.serviceUrl;
  if (options.jobPrefix) inputs.job_prefix = options.jobPrefix;
  if (options.allowFailure === false) inputs.allow_failure = false;
  return { component: options.component, inputs };
}

// ---------------------------------------------------------------------------------------------
// The edit is a list of insertions into the original text: every byte of the file stays where it
// was, so a reviewer's diff shows only the learn additions (re-serialising the document changed
// indentation, folded scalars and blank lines of real 900-line files).

interface Insertion {
  at: number;
  text: string;
}

/** How the file writes itself, so added lines look like their neighbours. */
interface Style {
  eol: string;
  /** columns from a key to the keys of the mapping under it */
  indent: number;
  /** columns from a key to the `-` of the block sequence under it (0, 2 and 4 are all common) */
  seqIndent: number;
}

class Source {
  constructor(readonly text: string) {}

  lineStart(offset: number): number {
    return this.text.lastIndexOf('\n', offset - 1) + 1;
  }

  column(offset: number): number {
    return offset - this.lineStart(offset);
  }

  /** Leading spaces of the line holding `offset`. */
  lineIndent(offset: number): number {
    const start = this.lineStart(offset);
    let i = start;
    while (this.text[i] === ' ') i++;
    return i - start;
  }

  /**
   * The start of the line after the one where a node's value ends (`end` = range[1]); text.length
   * when that line is the last one and has no newline.
   */
  afterLine(end: number): number {
    if (end > 0 && this.text[end - 1] === '\n') return end;
    const nl = this.text.indexOf('\n', end);
    return nl === -1 ? this.text.length : nl + 1;
  }

  /** New whole lines to insert at a line start (`at` from afterLine or a line's start). */
  linesAt(at: number, lines: string[], eol: string): Insertion {
    const body = lines.join(eol);
    if (at === this.text.length && at > 0 && !this.text.endsWith('\n')) return { at, text: eol + body };
    return { at, text: body + eol };
  }
}

function mostCommon(counts: Map<number, number>, fallback: number): number {
  let best = fallback;
  let votes = 0;
  for (const [value, n] of counts) if (n > votes || (n === votes && value < best)) [best, votes] = [value, n];
  return best;
}

function detectStyle(src: Source, map: YAMLMap | null): Style {
  const firstNl = src.text.indexOf('\n');
  const eol = firstNl > 0 && src.text[firstNl - 1] === '\r' ? '\r\n' : '\n';
  const indents = new Map<number, number>();
  const seqIndents = new Map<number, number>();
  const count = (m: Map<number, number>, k: number) => m.set(k, (m.get(k) ?? 0) + 1);
  if (map) {
    visit(map, {
      Pair(_, pair) {
        if (!isScalar(pair.key) || !pair.key.range || !isCollection(pair.value) || pair.value.flow) return;
        const first = pair.value.items[0];
        const firstStart = isPair(first)
          ? (first.key as Node | null)?.range?.[0]
          : (first as Node | undefined)?.range?.[0];
        if (firstStart === undefined) return;
        const keyCol = src.column(pair.key.range[0]);
        // a sequence item's column is its `-`, the first thing on its line
        const step = (isMap(pair.value) ? src.column(firstStart) : src.lineIndent(firstStart)) - keyCol;
        if (isMap(pair.value) && step > 0) count(indents, step);
        if (isSeq(pair.value) && step >= 0) count(seqIndents, step);
      },
    });
  }
  const indent = mostCommon(indents, 2);
  return { eol, indent, seqIndent: mostCommon(seqIndents, indent) };
}

/** One scalar (or key) as yaml writes it, quoted only where it must be. */
function scalarText(value: unknown): string {
  return new Document(value).toString({ lineWidth: 0 }).replace(/\n$/, '');
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Block YAML for the small learn additions, in the file's own steps: yaml's stringifier cannot put
 * a sequence's `-` four columns under its key, which 4-space files commonly do.
 */
function blockLines(value: unknown, style: Style, column: number): string[] {
  const pad = ' '.repeat(column);
  const lines: string[] = [];
  if (Array.isArray(value)) {
    for (const item of value) {
      if (isObject(item) && Object.keys(item).length > 0) {
        const inner = blockLines(item, style, column + 2);
        lines.push(`${pad}- ${inner[0].slice(column + 2)}`, ...inner.slice(1));
      } else lines.push(`${pad}- ${valueText(item)}`);
    }
    return lines;
  }
  for (const [key, v] of Object.entries(value as Record<string, unknown>)) {
    if (Array.isArray(v) && v.length > 0)
      lines.push(`${pad}${scalarText(key)}:`, ...blockLines(v, style, column + style.seqIndent));
    else if (isObject(v) && Object.keys(v).length > 0)
      lines.push(`${pad}${scalarText(key)}:`, ...blockLines(v, style, column + style.indent));
    else lines.push(`${pad}${scalarText(key)}: ${valueText(v)}`);
  }
  return lines;
}

function valueText(value: unknown): string {
  if (Array.isArray(value)) return '[]';
  if (isObject(value)) return '{}';
  return scalarText(value);
}

/** The same data on one line, for flow collections (`[build, test]`, `{a: 1}`). */
function flowText(value: unknown): string {
  const doc = new Document(value);
  visit(doc, {
    Collection(_, node) {
      node.flow = true;
    },
  });
  return doc.toString({ lineWidth: 0, flowCollectionPadding: false }).replace(/\n$/, '');
}

/** Adds `item` to a sequence node; returns false when the node is not a sequence. */
function appendToSeq(src: Source, seq: Node, item: unknown, style: Style, out: Insertion[]): boolean {
  if (!isSeq(seq) || !seq.range) return false;
  if (seq.flow) {
    const last = seq.items[seq.items.length - 1] as Node | undefined;
    const text = flowText([item]).slice(1, -1);
    if (last?.range) out.push({ at: last.range[1], text: `, ${text}` });
    else out.push({ at: src.text.indexOf('[', seq.range[0]) + 1, text });
    return true;
  }
  const last = seq.items[seq.items.length - 1] as Node;
  const column = src.lineIndent((seq.items[0] as Node).range?.[0] ?? seq.range[0]);
  const lines = blockLines([item], style, column);
  out.push(src.linesAt(src.afterLine(last.range?.[1] ?? seq.range[1]), lines, style.eol));
  return true;
}

/**
 * Inserts `indent` spaces at the start of every non-empty line in [from, to): shifting a whole
 * node keeps block scalars, folded lines and comments meaning what they meant.
 */
function shiftLines(src: Source, from: number, to: number, indent: number, out: Insertion[]): void {
  const pad = ' '.repeat(indent);
  for (let nl = src.text.indexOf('\n', from); nl !== -1 && nl + 1 < to; nl = src.text.indexOf('\n', nl + 1)) {
    const c = src.text[nl + 1];
    if (c !== '\n' && c !== '\r') out.push({ at: nl + 1, text: pad });
  }
}

/** The offset before which a new first key goes: above the first key's own comment lines, below a file header. */
function topOfMap(src: Source, map: YAMLMap): number {
  const first = map.items[0];
  const keyStart = isScalar(first?.key) ? first.key.range?.[0] : undefined;
  if (keyStart === undefined) return map.range?.[0] ?? 0;
  const line = src.lineStart(keyStart);
  if (src.text.slice(line, keyStart).trim() !== '') return keyStart;
  let top = line;
  while (top > 0) {
    const prev = src.lineStart(top - 1);
    const content = src.text.slice(prev, top).trim();
    if (!content.startsWith('#')) {
      // a comment block under a blank line belongs to the first key: keep them together
      return content === '' ? top : line;
    }
    top = prev;
  }
  return line;
}

function addInclude(
  src: Source,
  map: YAMLMap | null,
  entry: Record<string, unknown>,
  style: Style,
  out: Insertion[],
): void {
  const column = map?.range ? src.lineIndent(map.range[0]) : 0;
  const pair = map?.items.find((p) => isScalar(p.key) && p.key.value === 'include');
  const value = pair?.value as Node | null | undefined;
  if (!map || !pair) {
    if (map?.flow) {
      const text = flowText({ include: [entry] }).slice(1, -1);
      out.push({ at: src.text.indexOf('{', map.range?.[0] ?? 0) + 1, text: map.items.length ? `${text}, ` : text });
      return;
    }
    const lines = blockLines({ include: [entry] }, style, column);
    if (!map || map.items.length === 0) {
      out.push(src.linesAt(src.text.length, lines, style.eol));
      return;
    }
    // a byte-order mark stays the file's first character
    const at = Math.max(topOfMap(src, map), src.text.startsWith('\uFEFF') ? 1 : 0);
    // include conventionally opens the file; a blank line separates it from what came first
    if (src.text.slice(src.lineStart(at), at).trim() !== '')
      out.push({ at, text: `${lines.join(style.eol)}${style.eol}${style.eol}${' '.repeat(column)}` });
    else out.push({ at, text: `${lines.join(style.eol)}${style.eol}${style.eol}` });
    return;
  }
  if (value && appendToSeq(src, value, entry, style, out)) return;
  const keyEnd = (pair.key as Node).range?.[1] ?? 0;
  const colon = src.text.indexOf(':', keyEnd);
  if (map.flow) {
    // inside a flow mapping the value can only be wrapped in a flow sequence
    const flowEntry = flowText([entry]).slice(1, -1);
    if (value?.range) {
      out.push({ at: value.range[0], text: '[' });
      out.push({ at: value.range[1], text: `, ${flowEntry}]` });
    } else out.push({ at: colon + 1, text: ` [${flowEntry}]` });
    return;
  }
  const seqColumn = column + style.seqIndent;
  const entryLines = blockLines([entry], style, seqColumn);
  if (!value?.range || (isScalar(value) && value.value === null && value.range[0] === value.range[1])) {
    // `include:` with nothing after it
    out.push({ at: colon + 1, text: `${style.eol}${entryLines.join(style.eol)}` });
    return;
  }
  const [start, end] = value.range;
  if (src.text.slice(colon + 1, start).includes('\n')) {
    // a block mapping (or scalar) on the lines below: it becomes the first item, shifted under `- `
    out.push({ at: start, text: '- ' });
    shiftLines(src, start, end, 2, out);
    out.push(src.linesAt(src.afterLine(end), blockLines([entry], style, src.column(start)), style.eol));
    return;
  }
  // `include: 'ci/common.yml'` (or a flow mapping): the value moves onto an item line of its own
  out.push({ at: colon + 1, text: `${style.eol}${' '.repeat(seqColumn)}-` });
  shiftLines(src, start, end, seqColumn + 2, out);
  out.push(src.linesAt(src.afterLine(end), entryLines, style.eol));
}

/** Where the pipeline document's text ends: before an explicit `...` marker, else the end of the file. */
function documentEnd(src: Source, doc: Document.Parsed | undefined): number {
  if (!doc) return src.text.length;
  const [, contentEnd, end] = doc.range;
  const marker = /(^|\n)\.\.\.(\s|$)/.exec(src.text.slice(contentEnd, end));
  return marker ? contentEnd + marker.index + marker[1].length : src.text.length;
}

function addJob(
  src: Source,
  doc: Document.Parsed | undefined,
  map: YAMLMap | null,
  jobName: string,
  job: Record<string, unknown>,
  style: Style,
  out: Insertion[],
  blankLine: boolean,
): void {
  if (map?.flow && map.range) {
    const last = map.items[map.items.length - 1];
    const end = (last?.value as Node | null)?.range?.[1] ?? (last?.key as Node | undefined)?.range?.[1];
    const text = flowText({ [jobName]: job }).slice(1, -1);
    if (end !== undefined) out.push({ at: end, text: `, ${text}` });
    else out.push({ at: src.text.indexOf('{', map.range[0]) + 1, text });
    return;
  }
  const column = map?.range ? src.lineIndent(map.range[0]) : 0;
  const lines = [' '.repeat(column) + JOB_COMMENT, ...blockLines({ [jobName]: job }, style, column)];
  const at = documentEnd(src, doc);
  const before = src.text.slice(0, at);
  // a blank line between the file's last lines and this job, unless there is one already
  const separated =
    !blankLine || before.trim() === '' || /\n[ \t]*\r?\n$/.test(before) || /(^|\n)---[^\n]*\n$/.test(before);
  out.push(src.linesAt(at, separated ? lines : ['', ...lines], style.eol));
}

function applyInsertions(text: string, insertions: Insertion[]): string {
  // stable: insertions at the same offset keep the order they were made in
  const sorted = insertions.map((ins, i) => ({ ...ins, i })).sort((a, b) => a.at - b.at || a.i - b.i);
  let out = '';
  let pos = 0;
  for (const { at, text: piece } of sorted) {
    out += text.slice(pos, at) + piece;
    pos = at;
  }
  return out + text.slice(pos);
}

const toJs = (doc: Document.Parsed | undefined): unknown => doc?.toJS({ maxAliasCount: -1 }) ?? null;
const asList = (v: unknown): unknown[] => (Array.isArray(v) ? v : v === undefined || v === null ? [] : [v]);

/**
 * Adds the learn stage to a CI file by inserting text: every byte of the original stays, in order,
 * and only the `learn` stage entry and the learn job (or the component `include:` entry) are added,
 * written in the file's own indentation, sequence style and line endings. Returns the input
 * unchanged when the learn job or component is already there (so a second pass is a no-op).
 */
export function ensureLearnStage(yaml: string, options: LearnStageOptions): string {
  return ensureLearnStageParsed(yaml, options).text;
}

/**
 * `ensureLearnStage`, also returning the parsed documents of the result (the check already parsed
 * them), so a caller that validates and inspects the result does not parse it again.
 */
export function ensureLearnStageParsed(
  yaml: string,
  options: LearnStageOptions,
): { text: string; docs: Document.Parsed[] } {
  const docs = parseCiYaml(yaml);
  const doc = docs[docs.length - 1] as Document.Parsed | undefined;
  const contents = doc?.contents ?? null;
  const empty = contents === null || (isScalar(contents) && contents.value === null && !contents.source);
  if (!empty && !isMap(contents)) {
    throw new UserFacingError('the top level of a .gitlab-ci.yml must be a mapping of keywords and jobs', {
      exitCode: 2,
      status: 422,
    });
  }
  const map = isMap(contents) ? contents : null;
  const jobName = `${options.jobPrefix ?? ''}${LEARN_JOB}`;
  if (map && hasLearn(map, jobName, options)) return { text: yaml, docs };

  const src = new Source(yaml);
  const style = detectStyle(src, map);
  const base: Insertion[] = [];
  const expected = { ...((toJs(doc) ?? {}) as Record<string, unknown>) };

  let stage = '.post';
  const stages = map?.get('stages', true) as Node | undefined;
  if (isSeq(stages)) {
    stage = options.stage ?? 'learn';
    const names = stages.items.map((i) => (isScalar(i) ? String(i.value) : ''));
    if (!names.includes(stage)) {
      appendToSeq(src, stages, stage, style, base);
      expected.stages = [...(expected.stages as unknown[]), stage];
    }
  }
  const attempts: Insertion[][] = [];
  if (options.component) {
    const entry = includeEntry(stage, { ...options, component: options.component });
    addInclude(src, map, entry, style, base);
    expected.include = [...asList(expected.include), entry];
    attempts.push(base);
  } else {
    const job = inlineJob(stage, options);
    expected[jobName] = job;
    // without the blank line when the file ends in a keep-chomped block scalar (`|+`), which would take it in
    for (const blankLine of [true, false]) {
      const insertions = [...base];
      addJob(src, doc, map, jobName, job, style, insertions, blankLine);
      attempts.push(insertions);
    }
  }
  // the splice is checked, not trusted: a file shape it mishandles must fail loudly, never change a pipeline
  for (const insertions of attempts) {
    const out = applyInsertions(yaml, insertions);
    const parsed = sameDocument(out, docs.length, expected);
    if (parsed) return { text: out, docs: parsed };
  }
  throw new UserFacingError(
    'could not add the learn stage without changing the rest of this file (an unusual layout); add it by hand, see docs/learn-stage.md',
    { exitCode: 1, status: 422, code: 'learn_stage_edit' },
  );
}

/** The parsed documents of `text` when its pipeline document is `expected`, else null. */
function sameDocument(text: string, documents: number, expected: unknown): Document.Parsed[] | null {
  try {
    const after = parseCiYaml(text);
    const same = after.length === Math.max(documents, 1) && isDeepStrictEqual(toJs(after[after.length - 1]), expected);
    return same ? after : null;
  } catch {
    return null;
  }
}
