import { type Document, isMap, isScalar, isSeq, type YAMLMap } from 'yaml';
import { SECRET_NAME } from '../maskCredentials.js';
import { allowedCommands, type CommandRule } from './allowedCommands.js';
import { TOOL_IMAGES } from './composeDefaultPipeline.js';
import { hasLearn, LEARN_JOB, type LearnStageOptions, learnScript } from './ensureLearnStage.js';
import { parseCiYaml, YamlSyntaxError } from './parseCiYaml.js';
import { CI_KEYWORDS } from './validatePipeline.js';

/**
 * Policy checks for a configuration a language model wrote (docs/llm.md, "Policy checks"). An
 * allowlist, not a blocklist: a blocklist of `curl | sh` is bypassed by `wget -O- | bash`, by
 * download-then-run, by base64; here every script line must be accounted for —
 *   1. verbatim from the base configuration the model adapted (it ran green here), or
 *   2. verbatim one of the repository's evidence commands (its scripts, Makefile targets, CI), or
 *   3. the learn stage's own lines, or
 *   4. simple commands from the stack's allowlist (src/generation/allowedCommands.ts) with plain
 *      arguments, joined only by `&&`, `||` or `;` — no pipes, redirections, substitutions,
 *      backgrounding, `eval`, or variable expansions that look secret.
 * Images come from Docker Hub official images, the registries (and images) the base already uses, the
 * project's own registry (`$CI_REGISTRY_IMAGE`), the service's own tool images, and
 * PIPELINE_LEARNER_ALLOWED_REGISTRIES. `include:` may be `local:`, or an entry the base already has
 * (component, project, template), or the learn component; never `remote:`. No new variable may
 * reference or hold a secret. No new `services:` or deploy job unless the repository needs them. The
 * learn stage must be there. Pure: no I/O.
 */
export interface PolicyInput {
  /** the configuration to check (the model's, after the learn stage was ensured) */
  config: string;
  /** the configuration the model was asked to adapt ('' when none) */
  base: string;
  /** commands found in the repository: package scripts as run (`npm run lint`), Makefile targets (`make test`), CI lines */
  evidenceCommands: readonly string[];
  /** language slug: picks the allowlist of commands */
  language: string;
  /** PIPELINE_LEARNER_ALLOWED_REGISTRIES: hosts (`registry.acme.io`) or host/namespace prefixes (`docker.io/bitnami`) */
  allowedRegistries: readonly string[];
  /** the repository needs service containers (a database in its tests): new `services:` are allowed */
  needsServices?: boolean;
  /** the repository deploys (environments, a release job): new deploy jobs are allowed */
  needsDeploy?: boolean;
  learnStage: LearnStageOptions;
}

export type PolicyRule =
  | 'yaml'
  | 'script'
  | 'secret'
  | 'image'
  | 'include'
  | 'variables'
  | 'services'
  | 'deploy'
  | 'learn_stage'
  | 'keyword';

export interface PolicyViolation {
  rule: PolicyRule;
  /** the job (or `default`, `variables`, `include`), null for the whole file */
  where: string | null;
  message: string;
}

export interface PolicyResult {
  ok: boolean;
  violations: PolicyViolation[];
}

const GLOBAL_KEYS = CI_KEYWORDS;
const SCRIPT_KEYS = ['before_script', 'script', 'after_script'];
const DEPLOY = /(^|[^a-z])(deploy|release|publish|production|prod|rollout)([^a-z]|$)/i;
const SECRET_REF = /\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?/g;
/** CI variables that hold credentials although their names do not say so */
const SECRET_CI_VARS = new Set([
  'CI_JOB_JWT',
  'CI_JOB_JWT_V1',
  'CI_JOB_JWT_V2',
  'CI_REGISTRY_PASSWORD',
  'CI_DEPLOY_PASSWORD',
]);
const LITERAL_SECRET =
  /\bgl(pat|dt|rt|cbt|ptt|ft|imt|agent|oas|soat|ffct|sa)-[A-Za-z0-9_.-]{8,}|\bAKIA[0-9A-Z]{16}\b|\bgh[pousr]_[A-Za-z0-9]{30,}/;

export function looksSecret(name: string): boolean {
  return (
    SECRET_NAME.test(name) || SECRET_CI_VARS.has(name) || /(TOKEN|PASSWORD|SECRET|PRIVATE_KEY|API_KEY)/i.test(name)
  );
}

function secretRefs(text: string): string[] {
  return [...text.matchAll(SECRET_REF)].map((m) => m[1]!).filter(looksSecret);
}

const norm = (line: string) => line.replace(/\s+/g, ' ').trim();

interface Parsed {
  map: YAMLMap;
  js: Record<string, unknown>;
}

function parse(text: string): Parsed | null {
  if (!text.trim()) return null;
  const docs: Document.Parsed[] = parseCiYaml(text);
  const doc = docs[docs.length - 1];
  if (!doc || !isMap(doc.contents)) return null;
  return { map: doc.contents, js: doc.toJS({ maxAliasCount: -1 }) as Record<string, unknown> };
}

/** Script entries of a node; `!reference` items are skipped (what they point at is checked where it is defined). */
function scriptEntries(node: unknown): string[] {
  if (isScalar(node)) return node.value === null ? [] : [String(node.value)];
  if (isSeq(node)) {
    if (node.tag === '!reference') return [];
    return node.items.flatMap((i) => scriptEntries(i));
  }
  return [];
}

interface Section {
  where: string;
  node: YAMLMap;
}

/** Jobs (hidden ones included) and `default`: the places scripts, images and services live. */
function sections(map: YAMLMap): Section[] {
  const out: Section[] = [];
  for (const pair of map.items) {
    const key = isScalar(pair.key) ? String(pair.key.value) : null;
    if (key === null || !isMap(pair.value)) continue;
    if (key === 'default' || !GLOBAL_KEYS.has(key)) out.push({ where: key, node: pair.value });
  }
  return out;
}

function allScripts(map: YAMLMap): Array<{ where: string; entry: string }> {
  const out: Array<{ where: string; entry: string }> = [];
  for (const k of ['before_script', 'after_script'])
    for (const entry of scriptEntries(map.get(k, true))) out.push({ where: k, entry });
  for (const s of sections(map)) {
    for (const k of SCRIPT_KEYS)
      for (const entry of scriptEntries(s.node.get(k, true))) out.push({ where: s.where, entry });
    const hooks = s.node.get('hooks', true);
    if (isMap(hooks))
      for (const entry of scriptEntries(hooks.get('pre_get_sources_script', true))) out.push({ where: s.where, entry });
  }
  return out;
}

function imageRefs(value: unknown): Array<{ name: string; entrypoint: unknown }> {
  const items = Array.isArray(value) ? value : value === undefined || value === null ? [] : [value];
  return items.flatMap((i) => {
    if (typeof i === 'string') return [{ name: i, entrypoint: undefined }];
    if (i && typeof i === 'object' && typeof (i as { name?: unknown }).name === 'string') {
      const o = i as { name: string; entrypoint?: unknown };
      return [{ name: o.name, entrypoint: o.entrypoint }];
    }
    return [];
  });
}

function imagesOf(
  js: Record<string, unknown>,
): Array<{ where: string; kind: 'image' | 'service'; name: string; entrypoint: unknown }> {
  const out: Array<{ where: string; kind: 'image' | 'service'; name: string; entrypoint: unknown }> = [];
  const push = (where: string, body: Record<string, unknown>) => {
    for (const r of imageRefs(body.image)) out.push({ where, kind: 'image', ...r });
    for (const r of imageRefs(body.services)) out.push({ where, kind: 'service', ...r });
  };
  push('(top level)', js);
  for (const [k, v] of Object.entries(js))
    if ((k === 'default' || !GLOBAL_KEYS.has(k)) && v && typeof v === 'object' && !Array.isArray(v))
      push(k, v as Record<string, unknown>);
  return out;
}

/** `node:<tag>` → docker.io/library/node; `quay.io/x/y:1` → quay.io/x/y; `$CI_REGISTRY_IMAGE/x` kept. */
export function imageRepository(ref: string): { registry: string; path: string } {
  const noDigest = ref.replace(/@sha256:[0-9a-f]+$/i, '');
  const slash = noDigest.indexOf('/');
  const first = slash === -1 ? '' : noDigest.slice(0, slash);
  const hasRegistry = first.includes('.') || first.includes(':') || first === 'localhost' || first.startsWith('$');
  const registry = hasRegistry ? first : 'docker.io';
  let path = hasRegistry ? noDigest.slice(slash + 1) : noDigest;
  const colon = path.lastIndexOf(':');
  if (colon > path.lastIndexOf('/')) path = path.slice(0, colon);
  if (registry === 'docker.io' && !path.includes('/')) path = `library/${path}`;
  return {
    registry: registry === 'index.docker.io' || registry === 'registry-1.docker.io' ? 'docker.io' : registry,
    path,
  };
}

function imageAllowed(
  name: string,
  baseImages: Set<string>,
  baseRegistries: Set<string>,
  allowed: readonly string[],
): boolean {
  const { registry, path } = imageRepository(name);
  const full = `${registry}/${path}`;
  if (baseImages.has(full)) return true;
  if (
    /^\$\{?CI_(REGISTRY_IMAGE|REGISTRY|DEPENDENCY_PROXY_GROUP_IMAGE_PREFIX|DEPENDENCY_PROXY_DIRECT_GROUP_IMAGE_PREFIX)\}?$/.test(
      registry,
    )
  )
    return !path.includes('$');
  if (name.includes('$')) return false;
  if (registry === 'docker.io' && path.startsWith('library/') && path.split('/').length === 2) return true;
  if (registry !== 'docker.io' && baseRegistries.has(registry)) return true;
  return allowed.some((a) => {
    const prefix = a.replace(/\/+$/, '').toLowerCase();
    const withDefault =
      prefix.includes('.') || prefix.includes(':') || prefix === 'localhost' ? prefix : `docker.io/${prefix}`;
    return full.toLowerCase() === withDefault || full.toLowerCase().startsWith(`${withDefault}/`);
  });
}

const PLAIN_WORD = /^[A-Za-z0-9_.,:=@%+/~^-]+$/;
const QUOTED_PLAIN = /^"[A-Za-z0-9_.,:=@%+/~^ -]*"$|^'[A-Za-z0-9_.,:=@%+/~^ -]*'$/;
const VAR_WORD = /^"?\$\{?[A-Za-z_][A-Za-z0-9_]*\}?[A-Za-z0-9_./:-]*"?$/;

function isPlainArg(w: string): boolean {
  return PLAIN_WORD.test(w) || QUOTED_PLAIN.test(w) || VAR_WORD.test(w);
}

/** Splits `a && b || c; d` into simple commands, or null when the line uses anything else of the shell. */
function simpleCommands(line: string): string[][] | null {
  const flat = line.replace(/&&|\|\|/g, ' ; ').replace(/\$\{[A-Za-z_][A-Za-z0-9_]*\}/g, '$V');
  // pipes, redirections, substitutions, subshells, groups, backgrounding, escapes: not for new lines
  if (/[|<>`\\(){}&]/.test(flat)) return null;
  return flat
    .split(';')
    .map((p) => p.trim().match(/"[^"]*"|'[^']*'|\S+/g) ?? [])
    .filter((w) => w.length > 0);
}

function matchesRule(rule: CommandRule, words: string[]): boolean {
  if (words[0] !== rule.program) return false;
  let rest = words.slice(1);
  if (rule.sub) {
    if (!rest[0] || !rule.sub.includes(rest[0])) return false;
    rest = rest.slice(1);
  }
  if (rule.denyFlags?.some((f) => rest.some((w) => w === f || w.startsWith(`${f}=`)))) return false;
  if (!rest.every(isPlainArg)) return false;
  const args = rule.args ?? 'free';
  if (args === 'free') return true;
  const positional: string[] = [];
  for (let i = 0; i < rest.length; i++) {
    const w = rest[i]!;
    if (w.startsWith('-')) {
      if (typeof args === 'object' && 'all' in args && args.valueFlags?.includes(w)) i++;
      continue;
    }
    positional.push(w);
  }
  if (args === 'none') return positional.length === 0;
  if ('first' in args) return positional.length > 0 && args.first.includes(positional[0]!);
  return positional.every((p) => args.all.includes(p.replace(/[<>=~!].*$/, '')));
}

/** Why a physical line is not allowed, or null when it is. */
function lineProblem(line: string, rules: CommandRule[], known: Set<string>): string | null {
  const l = norm(line);
  if (l === '' || l.startsWith('#') || known.has(l)) return null;
  const commands = simpleCommands(l);
  if (!commands)
    return 'uses pipes, redirections or command substitution and is not in the base configuration or the repository';
  for (const words of commands) {
    // leading `NAME=value` assignments, as in `CGO_ENABLED=0 go build`
    let i = 0;
    while (i < words.length && /^[A-Za-z_][A-Za-z0-9_]*=/.test(words[i]!)) {
      const value = words[i]!.slice(words[i]!.indexOf('=') + 1);
      if (value !== '' && !isPlainArg(value)) return `sets a variable to \`${value}\`, which is not a plain value`;
      i++;
    }
    const cmd = words.slice(i);
    if (cmd.length === 0) continue;
    if (known.has(norm(cmd.join(' ')))) continue;
    if (!rules.some((r) => matchesRule(r, cmd)))
      return `runs \`${cmd[0]}\`${cmd[1] ? ` ${cmd[1]}` : ''}, which is not in the base configuration, the repository, or the allowlist for this stack`;
  }
  return null;
}

function includeEntries(value: unknown): unknown[] {
  return Array.isArray(value) ? value : value === undefined || value === null ? [] : [value];
}

function includeKey(entry: unknown): { kind: string; value: string } | null {
  if (typeof entry === 'string')
    return /^[a-z][a-z0-9+.-]*:\/\//i.test(entry) ? { kind: 'remote', value: entry } : { kind: 'local', value: entry };
  if (entry && typeof entry === 'object') {
    const o = entry as Record<string, unknown>;
    for (const kind of ['remote', 'component', 'project', 'template', 'local'])
      if (o[kind] !== undefined)
        return {
          kind,
          value:
            kind === 'project'
              ? `${String(o.project)}:${JSON.stringify(o.file ?? '')}:${String(o.ref ?? '')}`
              : String(o[kind]),
        };
  }
  return null;
}

function variablesOf(js: Record<string, unknown>): Array<{ where: string; name: string; value: string }> {
  const out: Array<{ where: string; name: string; value: string }> = [];
  const read = (where: string, v: unknown) => {
    if (!v || typeof v !== 'object' || Array.isArray(v)) return;
    for (const [name, raw] of Object.entries(v)) {
      const value =
        raw && typeof raw === 'object' ? String((raw as { value?: unknown }).value ?? '') : String(raw ?? '');
      out.push({ where, name, value });
    }
  };
  read('variables', js.variables);
  for (const [k, v] of Object.entries(js))
    if ((k === 'default' || !GLOBAL_KEYS.has(k)) && v && typeof v === 'object' && !Array.isArray(v))
      read(k, (v as Record<string, unknown>).variables);
  return out;
}

function isDeployJob(name: string, job: Record<string, unknown>): boolean {
  return (
    job.environment !== undefined || DEPLOY.test(name) || (typeof job.stage === 'string' && DEPLOY.test(job.stage))
  );
}

export function checkPipelinePolicy(input: PolicyInput): PolicyResult {
  const violations: PolicyViolation[] = [];
  const add = (rule: PolicyRule, where: string | null, message: string) => violations.push({ rule, where, message });
  let result: Parsed | null;
  let base: Parsed | null;
  try {
    result = parse(input.config);
  } catch (err) {
    if (err instanceof YamlSyntaxError)
      return {
        ok: false,
        violations: [{ rule: 'yaml', where: null, message: `the configuration is not valid YAML: ${err.message}` }],
      };
    throw err;
  }
  if (!result)
    return {
      ok: false,
      violations: [{ rule: 'yaml', where: null, message: 'the configuration is not a mapping of keywords and jobs' }],
    };
  try {
    base = parse(input.base);
  } catch {
    base = null;
  }
  const baseJs = base?.js ?? {};

  // 1. script lines
  const known = new Set<string>();
  const baseEntries = new Set<string>();
  for (const { entry } of base ? allScripts(base.map) : []) {
    baseEntries.add(norm(entry));
    for (const l of entry.split('\n')) known.add(norm(l));
  }
  for (const c of input.evidenceCommands) for (const l of c.split('\n')) if (norm(l)) known.add(norm(l));
  for (const l of learnScript('$PIPELINE_LEARNER_URL')) known.add(norm(l));
  const rules = allowedCommands(input.language);
  for (const { where, entry } of allScripts(result.map)) {
    if (baseEntries.has(norm(entry))) continue;
    for (const line of entry.split('\n')) {
      const l = norm(line);
      if (known.has(l)) continue;
      const secrets = secretRefs(l);
      if (secrets.length > 0) {
        add(
          'secret',
          where,
          `job ${where}: the line \`${l}\` uses ${secrets.map((s) => `$${s}`).join(', ')}, which looks secret, and is not in the base configuration`,
        );
        continue;
      }
      if (LITERAL_SECRET.test(l)) {
        add('secret', where, `job ${where}: a line contains what looks like a token`);
        continue;
      }
      const problem = lineProblem(l, rules, known);
      if (problem) add('script', where, `job ${where}: the line \`${l}\` ${problem}`);
    }
  }

  // 2. images and services
  const baseImages = imagesOf(baseJs);
  const baseImageSet = new Set(
    baseImages.map((i) => {
      const r = imageRepository(i.name);
      return `${r.registry}/${r.path}`;
    }),
  );
  for (const t of Object.values(TOOL_IMAGES)) {
    const r = imageRepository(t);
    baseImageSet.add(`${r.registry}/${r.path}`);
  }
  const baseRegistries = new Set(baseImages.map((i) => imageRepository(i.name).registry));
  const baseServices = new Set(baseImages.filter((i) => i.kind === 'service').map((i) => imageRepository(i.name).path));
  const baseEntrypoints = new Set(
    baseImages.map((i) => JSON.stringify([imageRepository(i.name).path, i.entrypoint ?? null])),
  );
  for (const img of imagesOf(result.js)) {
    const what = img.kind === 'service' ? 'service' : 'image';
    if (!imageAllowed(img.name, baseImageSet, baseRegistries, input.allowedRegistries))
      add(
        'image',
        img.where,
        `${img.where}: ${what} ${img.name} is not from an allowed registry (Docker Hub official images, the registries the base configuration uses, or PIPELINE_LEARNER_ALLOWED_REGISTRIES)`,
      );
    if (img.kind === 'service' && !input.needsServices && !baseServices.has(imageRepository(img.name).path))
      add('services', img.where, `${img.where}: adds the service ${img.name}, and the repository does not need one`);
    const ep = img.entrypoint;
    const harmless = ep === undefined || (Array.isArray(ep) && ep.every((x) => x === ''));
    if (!harmless && !baseEntrypoints.has(JSON.stringify([imageRepository(img.name).path, ep ?? null])))
      add(
        'keyword',
        img.where,
        `${img.where}: sets an entrypoint for ${img.name} that the base configuration does not have`,
      );
  }

  // 3. includes (also a trigger's child pipeline)
  const baseIncludes = new Set(
    [
      ...includeEntries(baseJs.include),
      ...Object.values(baseJs).flatMap((j) =>
        includeEntries((j as { trigger?: { include?: unknown } })?.trigger?.include),
      ),
    ]
      .map(includeKey)
      .filter((k) => k !== null)
      .map((k) => `${k.kind}:${k.value}`),
  );
  const learnComponent = input.learnStage.component?.split('@')[0] ?? null;
  const checkInclude = (where: string, entry: unknown) => {
    const k = includeKey(entry);
    if (!k) return add('include', where, `${where}: an include entry of an unknown form`);
    if (k.kind === 'local') return;
    if (k.kind === 'remote') return add('include', where, `${where}: remote include ${k.value} is not allowed`);
    if (baseIncludes.has(`${k.kind}:${k.value}`)) return;
    if (k.kind === 'component' && learnComponent && k.value.split('@')[0] === learnComponent) return;
    add('include', where, `${where}: include ${k.kind} ${k.value} is not in the base configuration`);
  };
  for (const e of includeEntries(result.js.include)) checkInclude('include', e);
  for (const [name, job] of Object.entries(result.js)) {
    const trig = (job as { trigger?: unknown })?.trigger;
    if (trig && typeof trig === 'object')
      for (const e of includeEntries((trig as { include?: unknown }).include)) checkInclude(name, e);
  }

  // 4. variables
  const baseVars = new Set(variablesOf(baseJs).map((v) => `${v.name}=${v.value}`));
  for (const v of variablesOf(result.js)) {
    if (baseVars.has(`${v.name}=${v.value}`)) continue;
    const refs = secretRefs(v.value);
    if (refs.length > 0)
      add(
        'variables',
        v.where,
        `${v.where}: the new variable ${v.name} references ${refs.map((r) => `$${r}`).join(', ')}, which looks secret`,
      );
    else if (LITERAL_SECRET.test(v.value) || (looksSecret(v.name) && v.value.trim() !== ''))
      add('variables', v.where, `${v.where}: the new variable ${v.name} holds what looks like a secret`);
  }

  // 5. deploy jobs and CI steps
  const baseDeploy = new Set(
    Object.entries(baseJs)
      .filter(
        ([k, v]) => !GLOBAL_KEYS.has(k) && v && typeof v === 'object' && isDeployJob(k, v as Record<string, unknown>),
      )
      .map(([k]) => k),
  );
  for (const [name, job] of Object.entries(result.js)) {
    if (GLOBAL_KEYS.has(name) || !job || typeof job !== 'object' || Array.isArray(job)) continue;
    const j = job as Record<string, unknown>;
    if (!input.needsDeploy && !name.startsWith('.') && isDeployJob(name, j) && !baseDeploy.has(name))
      add('deploy', name, `job ${name}: a new deploy job, and the repository does not deploy`);
    if (
      j.run !== undefined &&
      JSON.stringify(j.run) !== JSON.stringify((baseJs[name] as Record<string, unknown> | undefined)?.run)
    )
      add('keyword', name, `job ${name}: CI steps (run:) that the base configuration does not have`);
  }

  // 6. the learn stage
  if (!hasLearn(result.map, `${input.learnStage.jobPrefix ?? ''}${LEARN_JOB}`, input.learnStage))
    add('learn_stage', null, 'the learn stage is missing (the learn_record job or the learn component)');

  return { ok: violations.length === 0, violations };
}
