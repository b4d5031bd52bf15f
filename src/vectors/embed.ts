import { createHash } from 'node:crypto';
import { parse } from 'yaml';
import { boundedMemo } from '../boundedMemo.js';

/**
 * Embeddings computed by the service itself: signed feature hashing over what a repository and a CI
 * configuration are made of. Deterministic, instant, and nothing to download; similar stacks and
 * pipelines land close in cosine distance, which is all the retrieval needs.
 *
 * Features are grouped (language, framework, build tool, stages, jobs, images, commands, …); each group
 * is L2-normalised and weighted before the sum, so a pipeline with forty jobs does not drown out its
 * language, and a repository (which has no jobs) and a configuration share the same coordinates for
 * what they have in common. Changing a weight, the dimension or a feature name changes every vector:
 * bump EMBEDDING_VERSION and re-embed (records carry it in their metadata as `embedding_version`).
 */
export const EMBEDDING_DIMENSION = 256;
export const EMBEDDING_VERSION = 1;

type Group =
  | 'language'
  | 'framework'
  | 'build'
  | 'stage'
  | 'job'
  | 'image'
  | 'command'
  | 'keyword'
  | 'key'
  | 'docker'
  | 'extra';

const WEIGHTS: Record<Group, number> = {
  language: 3,
  framework: 2,
  build: 1.2,
  stage: 1,
  job: 1,
  image: 1.2,
  command: 1.2,
  keyword: 0.6,
  key: 0.5,
  docker: 0.8,
  extra: 1,
};

/** GitLab CI keys that are not jobs when they appear at the top level. */
const GLOBAL_KEYS = new Set([
  'default',
  'include',
  'stages',
  'variables',
  'workflow',
  'image',
  'services',
  'cache',
  'before_script',
  'after_script',
  'types',
  'pages:deploy',
  'spec',
]);

/** Job keywords worth a feature: they say how a pipeline is built, not what it runs. */
const JOB_KEYWORDS = [
  'rules',
  'only',
  'except',
  'needs',
  'dependencies',
  'artifacts',
  'cache',
  'services',
  'parallel',
  'retry',
  'timeout',
  'trigger',
  'extends',
  'environment',
  'coverage',
  'interruptible',
  'resource_group',
  'release',
  'secrets',
  'id_tokens',
  'allow_failure',
];

export interface EmbeddingExtras {
  buildTool?: string | null;
  /** the repository's Dockerfile: base images and instructions become features */
  dockerfile?: string | null;
  /** free-form features, e.g. `dep:gin`, `file:go.mod`, `typescript` */
  features?: string[];
}

export interface ConfigurationEmbeddingInput {
  language: string;
  framework?: string | null;
  /** the .gitlab-ci.yml text; invalid YAML still yields line-based features */
  config: string;
  extra?: EmbeddingExtras;
}

/** The facts of a repository analysis the embedding uses; a full analysis object fits as is. */
export interface RepositoryLike {
  language: string;
  framework?: string | null;
  buildTool?: string | null;
  packageManager?: string | null;
  languageVersion?: string | null;
  /** dependency names (package.json, go.mod, requirements, …) */
  dependencies?: readonly string[];
  /** notable paths (go.mod, Dockerfile, pom.xml, …) */
  files?: readonly string[];
  dockerfile?: string | null;
  hasDockerfile?: boolean;
  features?: readonly string[];
}

type Bag = Map<Group, Map<string, number>>;

function add(bag: Bag, group: Group, feature: string, weight = 1): void {
  const f = feature.trim().toLowerCase();
  if (!f) return;
  let g = bag.get(group);
  if (!g) {
    g = new Map();
    bag.set(group, g);
  }
  g.set(f, (g.get(f) ?? 0) + weight);
}

/** Configuration embeddings computed in this process, by a hash of their inputs. */
const configurationEmbedding = boundedMemo<readonly number[]>(256);

/**
 * A configuration's embedding. Every pipeline of a configuration rebuilds its vector record, and parsing
 * its YAML again each time was most of that work; a pure function of its inputs, so it is kept by them.
 */
export function embedConfiguration(input: ConfigurationEmbeddingInput): number[] {
  const { language, framework, config, extra } = input;
  const key = createHash('sha256')
    .update(
      JSON.stringify([
        language,
        framework ?? null,
        extra?.buildTool ?? null,
        extra?.dockerfile ?? null,
        extra?.features ?? null,
      ]),
    )
    .update('\n')
    .update(config)
    .digest('base64');
  const vector = configurationEmbedding(key, () => {
    const bag: Bag = new Map();
    addStack(bag, language, framework, extra?.buildTool);
    addConfig(bag, config);
    addExtras(bag, extra);
    return Object.freeze(vectorize(bag));
  });
  return [...vector];
}

export function embedRepository(repo: RepositoryLike): number[] {
  const bag: Bag = new Map();
  addStack(bag, repo.language, repo.framework, repo.buildTool ?? repo.packageManager);
  if (repo.packageManager && repo.packageManager !== repo.buildTool) {
    add(bag, 'build', repo.packageManager);
    add(bag, 'command', repo.packageManager);
  }
  if (repo.languageVersion) add(bag, 'extra', `version:${repo.language}:${repo.languageVersion}`);
  for (const d of repo.dependencies ?? []) add(bag, 'extra', `dep:${d}`);
  for (const f of repo.files ?? []) add(bag, 'extra', `file:${f.split('/').pop()}`);
  if (repo.hasDockerfile || repo.dockerfile) add(bag, 'keyword', 'dockerfile');
  addExtras(bag, { dockerfile: repo.dockerfile, features: [...(repo.features ?? [])] });
  return vectorize(bag);
}

/** Language and framework go in their own groups and also as a pair, so gin-on-go differs from gin elsewhere. */
function addStack(bag: Bag, language: string, framework?: string | null, buildTool?: string | null): void {
  add(bag, 'language', `lang:${language}`);
  const fw = framework || 'generic';
  add(bag, 'framework', `fw:${fw}`);
  add(bag, 'framework', `fw:${language}/${fw}`);
  if (buildTool) {
    add(bag, 'build', `build:${buildTool}`);
    // the tool shows up as a command in configurations: give the repository the same coordinate
    add(bag, 'command', buildTool);
  }
}

function addExtras(bag: Bag, extra: EmbeddingExtras | undefined): void {
  if (!extra) return;
  if (extra.buildTool) add(bag, 'build', `build:${extra.buildTool}`);
  if (extra.dockerfile) addDockerfile(bag, extra.dockerfile);
  for (const f of extra.features ?? []) add(bag, 'extra', f);
}

function addConfig(bag: Bag, text: string): void {
  let doc: unknown;
  try {
    // logLevel 'error': GitLab's !reference tags are unknown to yaml and would print warnings
    doc = parse(text, { merge: true, uniqueKeys: false, maxAliasCount: 1000, logLevel: 'error' });
  } catch {
    doc = undefined;
  }
  if (!isMap(doc)) {
    addLines(bag, text);
    return;
  }
  for (const [key, value] of Object.entries(doc)) {
    add(bag, 'key', `key:${key}`);
    if (key === 'stages' && Array.isArray(value)) {
      for (const s of value) if (typeof s === 'string') add(bag, 'stage', `stage:${s}`);
    } else if (key === 'image' || key === 'services') {
      addImages(bag, value);
    } else if (key === 'default' && isMap(value)) {
      addJobBody(bag, value);
    } else if (key === 'before_script' || key === 'after_script') {
      addScript(bag, value);
    } else if (key === 'include') {
      addIncludes(bag, value);
    } else if (!GLOBAL_KEYS.has(key) && isMap(value)) {
      // hidden jobs (.template) are building blocks: their bodies count, their names do not
      if (!key.startsWith('.')) {
        add(bag, 'job', `job:${key}`);
        for (const token of key.split(/[^a-z0-9]+/i)) if (token.length > 1) add(bag, 'job', `jobword:${token}`, 0.5);
      }
      addJobBody(bag, value);
    }
  }
}

function addJobBody(bag: Bag, job: Record<string, unknown>): void {
  if (typeof job.stage === 'string') add(bag, 'stage', `stage:${job.stage}`);
  addImages(bag, job.image);
  addImages(bag, job.services);
  addScript(bag, job.before_script);
  addScript(bag, job.script);
  addScript(bag, job.after_script);
  for (const k of JOB_KEYWORDS) if (k in job) add(bag, 'keyword', `kw:${k}`);
  if (typeof job.when === 'string') add(bag, 'keyword', `when:${job.when}`);
  if (isMap(job.artifacts) && isMap(job.artifacts.reports)) {
    for (const r of Object.keys(job.artifacts.reports)) add(bag, 'keyword', `report:${r}`);
  }
}

function addIncludes(bag: Bag, value: unknown): void {
  for (const item of Array.isArray(value) ? value : [value]) {
    if (typeof item === 'string') add(bag, 'keyword', `include:${item.replace(/@.*$/, '')}`);
    else if (isMap(item)) {
      for (const kind of ['template', 'component', 'project', 'remote', 'local']) {
        const v = item[kind];
        if (typeof v === 'string') add(bag, 'keyword', `include:${kind}:${v.replace(/@[^/]*$/, '')}`);
      }
    }
  }
}

function addImages(bag: Bag, value: unknown): void {
  for (const item of Array.isArray(value) ? value : [value]) {
    const ref = typeof item === 'string' ? item : isMap(item) && typeof item.name === 'string' ? item.name : null;
    if (ref) addImage(bag, 'image', ref);
  }
}

/**
 * Three coordinates per image: with its tag, without it, and its last path segment — so
 * `registry:5001/demo/golang:1.21-alpine` is near `golang:1.22` but nearest to itself.
 */
function addImage(bag: Bag, group: Group, ref: string): void {
  const full = ref.replace(/@sha256:[0-9a-f]+$/i, '');
  const slash = full.lastIndexOf('/');
  const colon = full.lastIndexOf(':');
  const untagged = colon > slash ? full.slice(0, colon) : full;
  add(bag, group, `img:${full}`, 0.5);
  add(bag, group, `imgname:${untagged}`, 0.75);
  add(bag, group, `imgbase:${untagged.slice(untagged.lastIndexOf('/') + 1)}`);
}

function addScript(bag: Bag, value: unknown): void {
  const lines = Array.isArray(value) ? value.flat(3) : [value];
  for (const line of lines) if (typeof line === 'string') addCommandLine(bag, line);
}

/** First word of each command (`go`, `npm`) and its first argument (`go test`), past env assignments and sudo. */
function addCommandLine(bag: Bag, line: string): void {
  for (const part of line.split(/&&|\|\||[;|\n]/)) {
    const words = part
      .trim()
      .split(/\s+/)
      .filter((w) => w && !/^[A-Za-z_][A-Za-z0-9_]*=/.test(w));
    while (words.length > 0 && ['sudo', 'exec', 'time', 'env', 'npx', 'bundle'].includes(words[0])) {
      if (words[0] === 'npx' || words[0] === 'bundle') add(bag, 'command', words[0]);
      words.shift();
    }
    const cmd = words[0]?.split('/').pop();
    if (!cmd || !/^[a-z][a-z0-9._+-]*$/i.test(cmd)) continue;
    add(bag, 'command', cmd);
    const arg = words[1];
    if (arg && /^[a-z][a-z0-9:_-]*$/i.test(arg)) add(bag, 'command', `${cmd} ${arg}`, 0.7);
  }
}

/** For a configuration that is not valid YAML: the same features, read off the lines. */
function addLines(bag: Bag, text: string): void {
  for (const raw of text.split('\n')) {
    const line = raw.replace(/#.*$/, '');
    const top = /^([A-Za-z0-9_.:/-]+):\s*$/.exec(line);
    if (top) {
      add(bag, 'key', `key:${top[1]}`);
      if (!GLOBAL_KEYS.has(top[1]) && !top[1].startsWith('.')) add(bag, 'job', `job:${top[1]}`);
      continue;
    }
    const stage = /^\s+stage:\s*["']?([^"'\s]+)/.exec(line);
    if (stage) add(bag, 'stage', `stage:${stage[1]}`);
    const image = /^\s*(?:image|name):\s*["']?([^"'\s]+)/.exec(line);
    if (image) addImage(bag, 'image', image[1]);
    const cmd = /^\s*-\s+(.+)$/.exec(line);
    if (cmd) addCommandLine(bag, cmd[1].replace(/^["']|["']$/g, ''));
  }
}

function addDockerfile(bag: Bag, text: string): void {
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    const from = /^FROM\s+(?:--platform=\S+\s+)?(\S+)/i.exec(line);
    if (from) {
      addImage(bag, 'docker', from[1]);
      continue;
    }
    const instr = /^([A-Z]+)\s/.exec(line);
    if (instr) add(bag, 'docker', `df:${instr[1]}`, 0.3);
    const run = /^RUN\s+(.+)$/i.exec(line);
    if (run) addCommandLine(bag, run[1]);
  }
}

function vectorize(bag: Bag): number[] {
  const out = new Float64Array(EMBEDDING_DIMENSION);
  const groupVec = new Float64Array(EMBEDDING_DIMENSION);
  for (const [group, features] of bag) {
    groupVec.fill(0);
    for (const [feature, count] of features) {
      const h = fnv1a(`${group}\u0000${feature}`);
      const sign = (h >>> 31) & 1 ? -1 : 1;
      // sublinear counts: a feature seen twenty times is not twenty times as telling
      groupVec[h % EMBEDDING_DIMENSION] += sign * Math.sqrt(count);
    }
    let norm = 0;
    for (const v of groupVec) norm += v * v;
    if (norm === 0) continue;
    const scale = WEIGHTS[group] / Math.sqrt(norm);
    for (let i = 0; i < EMBEDDING_DIMENSION; i++) out[i] += groupVec[i] * scale;
  }
  let norm = 0;
  for (const v of out) norm += v * v;
  const inv = norm === 0 ? 0 : 1 / Math.sqrt(norm);
  return Array.from(out, (v) => v * inv);
}

/** FNV-1a over UTF-16 code units: stable across processes and versions of Node, unlike anything seeded. */
function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  // final avalanche so that low bits (the bucket) and the top bit (the sign) are independent
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

function isMap(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}
