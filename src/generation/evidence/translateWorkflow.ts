import { Document, isMap, isScalar } from 'yaml';
import { CI_KEYWORDS } from '../validatePipeline.js';
import { defaultVersion } from '../versions.js';
import { isTestingJob, SHIPPING_JOB, TEST_COMMAND, type Workflow, type WorkflowJob } from './githubActions.js';
import { runnerToolInstalls } from './runnerTools.js';
import { SERVICE_KINDS, serviceKindOfImage } from './services.js';
import { conditionHolds } from './workflowConditions.js';

/** What the translation knows of the repository besides the workflow. */
export interface TranslationFacts {
  language: string;
  versions: Record<string, string>;
}

export interface Translation {
  /** GitLab CI YAML (without the learn stage), or null when no workflow could be translated */
  config: string | null;
  /** the workflow translated, e.g. `.github/workflows/ci.yml` */
  workflow: string | null;
  jobs: string[];
  /** why each testing workflow was or was not translated, for the evidence list */
  notes: string[];
}

type Job = Record<string, unknown>;

/**
 * How a setup action becomes a GitLab image: the runtime it installs and the `with:` key holding
 * the version. Only these, checkout and cache are translated; anything else needs the GitHub
 * runner and makes the workflow untranslatable.
 */
const SETUP_ACTIONS: Record<string, { tool: string; keys: string[]; fileKey?: string }> = {
  'actions/setup-node': { tool: 'node', keys: ['node-version'], fileKey: 'node-version-file' },
  'actions/setup-python': { tool: 'python', keys: ['python-version'], fileKey: 'python-version-file' },
  'actions/setup-go': { tool: 'go', keys: ['go-version'], fileKey: 'go-version-file' },
  'actions/setup-java': { tool: 'java', keys: ['java-version'], fileKey: 'java-version-file' },
  'actions/setup-dotnet': { tool: 'dotnet', keys: ['dotnet-version'] },
  'ruby/setup-ruby': { tool: 'ruby', keys: ['ruby-version'] },
  'shivammathur/setup-php': { tool: 'php', keys: ['php-version'] },
  'dtolnay/rust-toolchain': { tool: 'rust', keys: ['toolchain'] },
  'actions-rust-lang/setup-rust-toolchain': { tool: 'rust', keys: ['toolchain'] },
  'astral-sh/setup-uv': { tool: 'uv', keys: ['version'] },
  'pnpm/action-setup': { tool: 'pnpm', keys: ['version'] },
};
const IGNORED_ACTIONS = new Set(['actions/checkout', 'actions/cache']);

const LANGUAGE_TOOL: Record<string, string> = {
  node: 'node',
  python: 'python',
  go: 'go',
  java: 'java',
  kotlin: 'java',
  dotnet: 'dotnet',
  ruby: 'ruby',
  php: 'php',
  rust: 'rust',
};

/** GitLab keywords that cannot be job names. */
const RESERVED = new Set([...CI_KEYWORDS, 'pages']);

function actionName(uses: string): string {
  return uses.split('@')[0].toLowerCase();
}

function actionRef(uses: string): string {
  return uses.split('@')[1] ?? '';
}

/** `3.x` → `3`, `1.22.x` → `1.22`, `lts/*` → `lts`, `>=3.9` → `3.9`; null when nothing usable. */
export function imageTag(raw: string): string | null {
  const v = raw.trim().replace(/^v/, '');
  if (/^lts\//i.test(v) || v === 'lts') return 'lts';
  const m = v.match(/\d+(?:\.\d+){0,2}/);
  if (!m) return null;
  return m[0].replace(/\.x$/i, '');
}

function compareVersions(a: string, b: string): number {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

/**
 * One value per matrix dimension: a Linux runner for `os`, the newest release for version-like
 * dimensions (the one most likely to match current images), the first value otherwise.
 */
export function pickMatrix(job: WorkflowJob): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, values] of Object.entries(job.matrix)) {
    const vals = values.filter((x) => x !== null && typeof x !== 'object').map(String);
    if (vals.length === 0) continue;
    if (/^(os|runs-on|platform|runner)$/i.test(k)) {
      out[k] = vals.find((x) => /ubuntu|linux/i.test(x)) ?? vals[0];
      continue;
    }
    const versions = vals.filter((x) => /^\d+(\.\d+)*(\.x)?$/.test(x));
    // pre-releases and variants (3.15-dev, 3.14t, pypy-3.11) are not what a default image runs
    out[k] =
      versions.length > 0
        ? versions.sort((a, b) => compareVersions(b.replace(/\.x$/, ''), a.replace(/\.x$/, '')))[0]
        : vals[0];
  }
  if (Object.keys(out).length === 0 && job.include.length > 0) {
    const linux = job.include.filter((e) => !/windows|macos/i.test(String(e.os ?? '')));
    // the combination on the current release (`stable`) over a pinned minimum or a nightly
    const first = linux.find((e) => Object.values(e).some((x) => String(x) === 'stable')) ?? linux[0] ?? job.include[0];
    for (const [k, x] of Object.entries(first)) if (x !== null && typeof x !== 'object') out[k] = String(x);
    return out;
  }
  // GitHub adds an include entry's extra keys to the combinations it matches
  for (const e of job.include) {
    const scalars = Object.entries(e).filter(([, x]) => x !== null && typeof x !== 'object');
    if (scalars.every(([k, x]) => out[k] === undefined || out[k] === String(x)))
      for (const [k, x] of scalars) out[k] ??= String(x);
  }
  return out;
}

const GITHUB_CONTEXT: Record<string, string> = {
  'github.workspace': '$CI_PROJECT_DIR',
  'github.sha': '$CI_COMMIT_SHA',
  'github.ref_name': '$CI_COMMIT_REF_NAME',
  'github.ref': '$CI_COMMIT_REF_NAME',
  'github.run_id': '$CI_PIPELINE_ID',
  'github.run_number': '$CI_PIPELINE_IID',
  'github.repository': '$CI_PROJECT_PATH',
  'github.event_name': '$CI_PIPELINE_SOURCE',
  'runner.os': 'Linux',
  'runner.temp': '/tmp',
};

class Untranslatable extends Error {}

/** Replaces `${{ … }}` expressions GitLab can express; anything else makes the job untranslatable. */
/** One operand of an expression; undefined when it has no value (a matrix key this combination lacks). */
function operand(expr: string, matrix: Record<string, string>, env: Record<string, string> = {}): string | undefined {
  const m = expr.match(/^matrix\.([\w-]+)$/);
  if (m) return matrix[m[1]];
  const lit = expr.match(/^'((?:[^']|'')*)'$/);
  if (lit) return lit[1].replace(/''/g, "'");
  if (/^-?\d+(\.\d+)?$/.test(expr)) return expr;
  const known = expr.match(/^env\.(\w+)$/);
  // a literal workflow/job env value, so `with: python-version: ${{ env.PY }}` gives an image tag
  if (known && env[known[1]] !== undefined && !env[known[1]].includes('${{')) return env[known[1]];
  const e = expr.match(/^(?:env|secrets|vars)\.(\w+)$/);
  if (e) return `$${e[1]}`;
  if (GITHUB_CONTEXT[expr] !== undefined) return GITHUB_CONTEXT[expr];
  const f = expr.match(/^format\(\s*('(?:[^']|'')*')\s*((?:,\s*[^,()]+)*)\)$/);
  if (f) {
    const template = operand(f[1], matrix, env) ?? '';
    const args = f[2]
      .split(',')
      .slice(1)
      .map((x) => operand(x.trim(), matrix, env) ?? '');
    return template.replace(/\{(\d+)\}/g, (_a, i: string) => args[Number(i)] ?? '');
  }
  throw new Untranslatable(`expression \${{ ${expr} }}`);
}

/** Replaces `${{ … }}` expressions GitLab can express (`a || b` takes the first with a value); anything else makes the job untranslatable. */
function substitute(text: string, matrix: Record<string, string>, env: Record<string, string> = {}): string {
  return text.replace(/\$\{\{([\s\S]*?)\}\}/g, (_all, raw: string) => {
    const parts = raw.split('||').map((p) => p.trim());
    for (const p of parts) {
      const v = operand(p, matrix, env);
      if (v !== undefined && v !== '') return v;
    }
    if (parts.length === 1 && /^matrix\./.test(parts[0])) throw new Untranslatable(`${parts[0]} has no value`);
    return '';
  });
}

function jobName(id: string): string {
  const n = id.replace(/[^A-Za-z0-9_.-]+/g, '-');
  return RESERVED.has(n) ? `${n}-job` : n;
}

function runsOnLinux(job: WorkflowJob, matrix: Record<string, string>): boolean {
  const on = job.runsOn.replace(/\$\{\{\s*matrix\.([\w-]+)\s*\}\}/g, (_a, k: string) => matrix[k] ?? '');
  return !/windows|macos/i.test(on) || /ubuntu|linux/i.test(on);
}

/** Rewrites `localhost:<port>` to the service alias listening on that port (services are not on localhost in GitLab). */
function rewriteHosts(text: string, ports: Map<string, string>, hostAlias: string | null): string {
  let out = text.replace(/\b(localhost|127\.0\.0\.1):(\d+)/g, (all, _h, port: string) =>
    ports.has(port) ? `${ports.get(port)}:${port}` : all,
  );
  if (hostAlias && /^(localhost|127\.0\.0\.1)$/.test(out.trim())) out = hostAlias;
  return out;
}

/** `DATABASE_URL` (first PostgreSQL/MySQL service, with its own user, password and database) and `REDIS_URL`. */
export function urlsForServices(services: Job[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const s of services) {
    const kind = serviceKindOfImage(String(s.name));
    if (!kind) continue;
    const env = (s.variables as Record<string, string> | undefined) ?? {};
    const alias = String(s.alias);
    const spec = SERVICE_KINDS[kind];
    if ((kind === 'postgres' || kind === 'mysql') && !out.DATABASE_URL) {
      const p = kind === 'postgres' ? 'POSTGRES' : 'MYSQL';
      const user = env[`${p}_USER`] ?? (kind === 'mysql' ? 'root' : spec.user);
      const password = env[`${p}_PASSWORD`] ?? env.MYSQL_ROOT_PASSWORD ?? spec.password;
      const db = env[`${p}_DB`] ?? env.MYSQL_DATABASE ?? user;
      out.DATABASE_URL = `${spec.scheme}://${user}${password ? `:${password}` : ''}@${alias}:${spec.port}/${db}`;
    }
    if (kind === 'redis' && !out.REDIS_URL) out.REDIS_URL = `redis://${alias}:${spec.port}/0`;
  }
  return out;
}

function imageFor(tool: string, version: string, commands: string): string {
  switch (tool) {
    case 'go':
      return `golang:${version}`;
    case 'java':
      if (/(^|\s)mvn\s/m.test(commands)) return `maven:3-eclipse-temurin-${version}`;
      if (/(^|\s)gradle\s/m.test(commands)) return `gradle:jdk${version}`;
      return `eclipse-temurin:${version}-jdk`;
    case 'dotnet':
      return `mcr.microsoft.com/dotnet/sdk:${version}`;
    case 'php':
      return `php:${version}-cli`;
    default:
      return `${tool}:${version}`;
  }
}

function translateJob(
  job: WorkflowJob,
  wf: Workflow,
  facts: TranslationFacts,
  translatedIds: Set<string>,
): { name: string; job: Job } {
  const matrix = pickMatrix(job);
  const commands = job.steps.map((s) => s.run ?? '').join('\n');
  const before: string[] = [];
  const script: string[] = [];
  const variables: Record<string, string> = {};
  let runtime: { tool: string; version: string } | null = null;
  const extraRuntimes: string[] = [];

  const ports = new Map<string, string>();
  const services: Job[] = [];
  for (const s of job.services) {
    const image = substitute(s.image, matrix);
    if (!image) continue;
    const alias = s.name.replace(/[^A-Za-z0-9-]/g, '-').toLowerCase();
    const kind = serviceKindOfImage(image);
    const containerPorts = s.ports.map((p) => p.split(':').pop()!.split('/')[0]);
    for (const p of containerPorts) ports.set(p, alias);
    if (kind) ports.set(String(SERVICE_KINDS[kind].port), alias);
    const env: Record<string, string> = {};
    for (const [k, x] of Object.entries(s.env)) env[k] = substitute(x, matrix);
    services.push({ name: image, alias, ...(Object.keys(env).length ? { variables: env } : {}) });
  }
  const serviceUrls = urlsForServices(services);
  const firstAlias = job.services[0] ? job.services[0].name.toLowerCase() : null;
  const hostAliasFor = (key: string): string | null => {
    if (!/HOST/i.test(key) || services.length === 0) return null;
    for (const s of job.services) if (key.toLowerCase().includes(s.name.toLowerCase().split(/[-_]/)[0])) return s.name;
    return job.services.find((s) => serviceKindOfImage(s.image) !== 'redis')?.name ?? firstAlias;
  };
  const addEnv = (env: Record<string, string>) => {
    for (const [k, x] of Object.entries(env))
      variables[k] = rewriteHosts(substitute(x, matrix), ports, hostAliasFor(k));
  };
  addEnv(wf.env);
  addEnv(job.env);

  for (const step of liveSteps(job, matrix, { ...wf.env, ...job.env })) {
    if (step.uses) {
      const action = actionName(step.uses);
      if (IGNORED_ACTIONS.has(action)) continue;
      const setup = SETUP_ACTIONS[action]!;
      const withArgs: Record<string, string> = {};
      for (const [k, x] of Object.entries(step.with)) withArgs[k] = substitute(x, matrix, { ...wf.env, ...job.env });
      let raw = setup.keys.map((k) => withArgs[k]).find((x) => x !== undefined) ?? null;
      if (raw === null && setup.tool === 'rust') raw = actionRef(step.uses);
      if (raw === null && setup.fileKey && withArgs[setup.fileKey]) raw = facts.versions[setup.tool] ?? null;
      const version = raw ? imageTag(raw.split(/\s+/)[0]) : null;
      if (setup.tool === 'uv') {
        before.push(version ? `pip install "uv==${version}"` : 'pip install uv');
        continue;
      }
      if (setup.tool === 'pnpm') {
        before.push(version ? `npm install -g pnpm@${version}` : 'corepack enable');
        continue;
      }
      if (setup.tool === 'rust' && withArgs.components) {
        before.push(
          `rustup component add ${withArgs.components
            .split(/[\s,]+/)
            .filter(Boolean)
            .join(' ')}`,
        );
      }
      if (setup.tool === 'ruby' && /^true$/i.test(withArgs['bundler-cache'] ?? '')) before.push('bundle install');
      const v = version ?? facts.versions[setup.tool] ?? (defaultVersion(setup.tool) || undefined);
      if (!runtime || (LANGUAGE_TOOL[facts.language] === setup.tool && runtime.tool !== setup.tool)) {
        if (runtime) extraRuntimes.push(runtime.tool);
        runtime = { tool: setup.tool, version: v };
      } else if (runtime.tool !== setup.tool) extraRuntimes.push(setup.tool);
      continue;
    }
    if (step.run === null) continue;
    addEnv(step.env);
    let run = rewriteHosts(substitute(step.run, matrix), ports, null)
      .replace(/(^|[\s;&|(])sudo\s+(-E\s+)?/gm, '$1')
      .trimEnd();
    const wd = step.workingDirectory ?? job.workingDirectory;
    if (wd) run = `cd "$CI_PROJECT_DIR/${substitute(wd, matrix)}"\n${run}\ncd "$CI_PROJECT_DIR"`;
    script.push(run);
  }

  let image: string | null = job.container ? substitute(job.container, matrix) : null;
  if (!image) {
    const tool = runtime?.tool ?? LANGUAGE_TOOL[facts.language];
    if (tool) {
      const version = runtime?.version ?? facts.versions[tool] ?? (defaultVersion(tool) || undefined);
      image = imageFor(tool, version, commands);
    }
  }
  // uv is installed with pip, so the job needs a Python image when nothing else chose one
  if (!image && before.some((b) => b.includes('uv')))
    image = `python:${facts.versions.python ?? defaultVersion('python')}`;
  if (image?.startsWith('php:')) {
    before.unshift(
      'apt-get update -qq && apt-get install -y -qq git unzip > /dev/null',
      'curl -sS https://getcomposer.org/installer | php -- --install-dir=/usr/local/bin --filename=composer',
    );
  }
  // GitHub publishes service ports on localhost, where settings often default; a GitLab job reaches
  // them by alias, so the URL variables most settings read point there unless the workflow sets them
  for (const [k, url] of Object.entries(serviceUrls)) variables[k] ??= url;
  before.push(...runnerToolInstalls(script.join('\n'), variables));
  const out: Job = { stage: jobStage(job, matrix, { ...wf.env, ...job.env }), interruptible: true };
  if (image) out.image = image;
  if (services.length) out.services = services;
  if (Object.keys(variables).length) out.variables = variables;
  if (before.length) out.before_script = before;
  out.script = script;
  const needs = job.needs.filter((n) => translatedIds.has(n)).map(jobName);
  if (needs.length) out.needs = needs;
  void extraRuntimes;
  return { name: jobName(job.id), job: out };
}

/** The steps that run on a push to the default branch on Linux with this matrix combination. */
export function liveSteps(job: WorkflowJob, matrix: Record<string, string>, env: Record<string, string> = {}) {
  return job.steps.filter((s) => conditionHolds(s.if, { matrix, env }));
}

/** Commands that only check style or types: a job of nothing else belongs to a lint stage. */
const LINT_COMMAND =
  /\b(rustfmt|cargo (?:\+\S+ )?(?:fmt|clippy|deny|machete)|ruff|flake8|pylint|black|isort|mypy|pyright|pre-commit|eslint|prettier|biome|tsc --noEmit|golangci-lint|gofmt|go vet|staticcheck|rubocop|standardrb|phpcs|php-cs-fixer|phpstan|psalm|shellcheck|hadolint|markdownlint|yamllint|actionlint|zizmor|typos|codespell|dotnet format|ktlint|detekt|spotless(?:Check)?|checkstyle|clang-format|clang-tidy|(?:tox|nox)\b.*-e\s*\S*\b(?:lint|typing|style|mypy|pre-commit|typecheck|format)|(?:npm|pnpm|yarn|bun) (?:run )?(?:lint|typecheck|format(?::check)?|check-types|prettier))\b/;
/** Commands that build without testing: a job of only these belongs to a build stage. */
const BUILD_COMMAND =
  /\b(cargo build|go build|(?:npm|pnpm|yarn|bun) (?:run )?build|mvnw? .*\b(?:package|install|compile)\b|gradlew? .*\b(?:build|assemble)\b|cmake --build|make\b|ninja\b|meson compile|dotnet build|tsc\b|mkdocs build|hugo\b|sphinx-build)/;
/** Set-up lines: neither check nor build (installs, cache and environment plumbing). */
const SETUP_LINE =
  /^\s*(?:$|#|echo\b|export\b|cd\b|(?:python -m )?pip3? install|pipx install|uv (?:sync|pip install|venv)|poetry install|npm (?:ci|install)|pnpm install|yarn(?: install)?$|bun install|(?:sudo )?apt(?:-get)? |rustup |go mod download|bundle install|composer install|corepack )/;

/** `lint` for a job that only checks style/types, `build` for one that only builds, else `test`. */
export function jobStage(job: WorkflowJob, matrix: Record<string, string>, env: Record<string, string> = {}): string {
  const lines = liveSteps(job, matrix, env)
    .flatMap((s) => (s.run ?? '').split('\n'))
    .map((l) => l.trim())
    .filter((l) => !SETUP_LINE.test(l));
  if (lines.some((l) => TEST_COMMAND.test(l) && !LINT_COMMAND.test(l))) return 'test';
  if (lines.length > 0 && lines.every((l) => LINT_COMMAND.test(l))) return 'lint';
  if (lines.length > 0 && lines.every((l) => LINT_COMMAND.test(l) || BUILD_COMMAND.test(l))) return 'build';
  return 'test';
}

/** A job that drives Docker (builds or runs images): a GitLab runner has no Docker engine by default. */
export const DOCKER_JOB =
  /(^|[\s;&|(])(?:sudo\s+)?(?:docker(?:-compose)?|podman)\s+(?:compose\s+)?(?:build|run|up|push|buildx|exec|pull)\b/m;

export function drivesDocker(job: WorkflowJob, matrix: Record<string, string> = {}): boolean {
  return liveSteps(job, matrix).some(
    (s) => (s.run !== null && DOCKER_JOB.test(s.run)) || (s.uses !== null && /^docker\//i.test(s.uses)),
  );
}

/** The setup and other actions a job uses that translation does not know. */
export function unknownActions(job: WorkflowJob): string[] {
  const out: string[] = [];
  if (job.uses) out.push(job.uses);
  for (const s of liveSteps(job, pickMatrix(job))) {
    if (!s.uses) continue;
    const a = actionName(s.uses);
    if (!IGNORED_ACTIONS.has(a) && !SETUP_ACTIONS[a]) out.push(s.uses);
  }
  return out;
}

const WORKFLOW_RULES = {
  rules: [
    { if: '$CI_PIPELINE_SOURCE == "merge_request_event"' },
    { if: '$CI_COMMIT_BRANCH && $CI_OPEN_MERGE_REQUESTS', when: 'never' },
    { if: '$CI_COMMIT_BRANCH' },
    { if: '$CI_COMMIT_TAG' },
  ],
};

/**
 * The first testing workflow whose jobs use only known actions, in GitLab form: one job per
 * GitHub job that checks the project (shipping jobs and Windows/macOS-only jobs are left out),
 * with the maintainers' commands, setup versions as images, services with their variables.
 */
export function translateWorkflows(workflows: Workflow[], facts: TranslationFacts): Translation {
  const notes: string[] = [];
  for (const wf of workflows) {
    if (!wf.jobs.some(isTestingJob)) continue;
    const docker = wf.jobs.filter((j) => drivesDocker(j, pickMatrix(j))).map((j) => j.id);
    const chosen = wf.jobs.filter(
      (j) =>
        !SHIPPING_JOB.test(`${j.id} ${j.name}`) &&
        conditionHolds(j.if, { matrix: {}, env: wf.env }) &&
        !docker.includes(j.id) &&
        runsOnLinux(j, pickMatrix(j)) &&
        (j.uses !== null || j.steps.some((s) => s.run !== null)),
    );
    if (docker.length > 0)
      notes.push(`${wf.file}: left out ${docker.join(', ')} (drives Docker, which a GitLab job has no engine for)`);
    const unknown = [...new Set(chosen.flatMap(unknownActions))];
    if (unknown.length > 0) {
      notes.push(
        `${wf.file}: not translated, it uses ${unknown.join(', ')} (only checkout, setup-*, cache and services are translated)`,
      );
      continue;
    }
    const ids = new Set(chosen.map((j) => j.id));
    const jobs: Record<string, Job> = {};
    const failed: string[] = [];
    for (const j of chosen) {
      try {
        const t = translateJob(j, wf, facts, ids);
        jobs[t.name] = t.job;
      } catch (err) {
        if (!(err instanceof Untranslatable)) throw err;
        failed.push(`job ${j.id}: ${err.message}`);
      }
    }
    const testing = chosen.filter(isTestingJob).map((j) => jobName(j.id));
    if (!testing.some((n) => jobs[n])) {
      notes.push(`${wf.file}: not translated, ${failed.join('; ') || 'no testing job runs on Linux'}`);
      continue;
    }
    // a job whose needs were not translated would fail validation
    for (const [name, job] of Object.entries(jobs)) {
      const needs = (job.needs as string[] | undefined)?.filter((n) => jobs[n]);
      if (needs?.length) job.needs = needs;
      else delete job.needs;
      if (name in jobs && !Array.isArray(job.script)) delete jobs[name];
    }
    const used = new Set(Object.values(jobs).map((j) => j.stage as string));
    const stages = ['lint', 'build', 'test'].filter((st) => used.has(st));
    const doc = new Document({ workflow: WORKFLOW_RULES, stages, ...jobs });
    if (isMap(doc.contents)) {
      for (const [i, pair] of doc.contents.items.entries())
        if (i > 0 && isScalar(pair.key)) pair.key.spaceBefore = true;
    }
    doc.commentBefore = ` Translated by pipeline-learner from ${wf.file} (GitHub Actions jobs: ${Object.keys(jobs).join(', ')}).`;
    notes.push(
      `${wf.file}: translated jobs ${Object.keys(jobs).join(', ')}${failed.length ? ` (left out: ${failed.join('; ')})` : ''}`,
    );
    return {
      config: doc.toString({ lineWidth: 0 }),
      workflow: wf.file,
      jobs: Object.keys(jobs),
      notes,
    };
  }
  return { config: null, workflow: null, jobs: [], notes };
}
