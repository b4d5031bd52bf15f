import type { RepoReader } from '../repo/RepoReader.js';
import { isIgnoredPath } from '../repo/RepoReader.js';
import { analyzeDocs, detectDocsSite } from './docsSites.js';
import { type Automation, collectAutomation, emptyAutomation } from './evidence/collectAutomation.js';
import { chooseDockerfile, type DockerfileChoice, isDockerfile } from './evidence/dockerfileChoice.js';
import { parseToolVersions } from './evidence/projectFiles.js';
import {
  isCargoWorkspace,
  isNodeWorkspace,
  nodeMembersWithTests,
  typecheckScript,
  uvWorkspaceMembers,
  workspaceTestCommand,
} from './evidence/workspaces.js';
import { analyzeDocker, analyzeHelm, analyzeTerraform, detectInfraStack } from './infraStacks.js';
import { analyzeNative, detectNativeBuild } from './nativeStacks.js';
import type { Framework, Language } from './slugs.js';
import { noteVersion, resolveTool, TOOLS, type VersionSpec } from './versions.js';

/** One reason behind a detected fact, so a user can see why: "framework=express from package.json". */
export interface Evidence {
  fact: string;
  file: string;
  detail: string;
}

export interface Subproject {
  path: string;
  language: Language;
  manifest: string;
}

/**
 * What the analysis found. Slugs follow DESIGN.md; `language` is `unknown` when no manifest was
 * recognised (the generic default pipeline is then proposed) and `framework` is `generic` when none.
 */
export interface Analysis {
  language: Language;
  framework: Framework;
  typescript: boolean;
  /** go, npm, yarn, pnpm, bun, pip, poetry, uv, pipenv, maven, gradle, cargo, bundler, composer, dotnet, cmake, make */
  buildTool: string | null;
  packageManager: string | null;
  /** the file the dependency cache is keyed on (lockfile, else manifest); null when there is none */
  lockfile: string | null;
  /** tool → version as detected, e.g. { go: "1.22", node: "20" } */
  versions: Record<string, string>;
  testCommand: string | null;
  /** the runner behind testCommand when known (jest, vitest, node, pytest, rspec, phpunit…): picks the JUnit reporter */
  testRunner: string | null;
  /** the project declares a coverage plugin its runner uses (pytest-cov) */
  coverage: boolean;
  /** Poetry: the project is an installable package; otherwise `poetry install --no-root` */
  installsRoot: boolean;
  lintCommand: string | null;
  buildCommand: string | null;
  /** the project declares third-party dependencies (an install step is needed) */
  hasDependencies: boolean;
  /** a deployable service (web framework or existing Dockerfile): the pipeline builds an image */
  service: boolean;
  /** path of an existing Dockerfile, or null */
  dockerfile: string | null;
  /** manifests below the root, for monorepos */
  subprojects: Subproject[];
  /** a uv workspace: installs need `--all-packages` to reach every member's dependencies */
  uvWorkspace?: boolean;
  /** Go modules below the root module that have tests (`go test ./...` at the root skips them) */
  goModules?: string[];
  evidence: Evidence[];
  /** gradlew / mvnw present */
  wrapper: boolean;
  /** Terraform/OpenTofu module or Helm chart directories the stack's jobs run in ('.' for the root) */
  stackDirs?: StackDir[];
  /** directory this analysis describes, relative to the repository root ('' for the root) */
  root: string;
  /**
   * Monorepo without a root manifest: one analysis per sub-project (at most four), each composed
   * into the pipeline under its own directory. The top-level facts are those of the first part.
   */
  parts: Analysis[];
  /** the repository's own CI, task runners, compose services and settings (evidence/collectAutomation.ts) */
  automation: Automation;
}

export interface StackDir {
  dir: string;
  /** a chart's HTTP(S) dependency repositories, added before `helm dependency build` */
  repositories?: string[];
  dependencies?: boolean;
}

/** What analyzers read through: the repository, or one sub-directory of it. */
export interface Files {
  has(path: string): boolean;
  read(path: string): Promise<string | null>;
}

/** Files the analysis may read; the GitLab reader turns each into one API call. */
export const MAX_READS = 12;

export const MANIFEST_LANGUAGE: Array<[RegExp, Language]> = [
  [/^go\.mod$/, 'go'],
  [/^Cargo\.toml$/, 'rust'],
  [/^pom\.xml$/, 'java'],
  [/^build\.gradle(\.kts)?$/, 'java'],
  [/\.(csproj|fsproj|sln)$/, 'dotnet'],
  [/^Gemfile$/, 'ruby'],
  [/^composer\.json$/, 'php'],
  [/^(pyproject\.toml|requirements\.txt|setup\.py|Pipfile|manage\.py)$/, 'python'],
  [/^package\.json$/, 'node'],
  [/^CMakeLists\.txt$/, 'cpp'],
];

class Budget implements Files {
  used = 0;
  private readonly cache = new Map<string, string | null>();
  constructor(
    private readonly reader: RepoReader,
    private readonly present: Set<string>,
  ) {}
  has(path: string): boolean {
    return this.present.has(path);
  }
  async read(path: string): Promise<string | null> {
    if (!this.present.has(path)) return null;
    if (this.cache.has(path)) return this.cache.get(path)!;
    if (this.used >= MAX_READS) return null;
    this.used++;
    const text = await this.reader.read(path);
    this.cache.set(path, text);
    return text;
  }
  scoped(prefix: string): Files {
    return { has: (p) => this.has(prefix + p), read: (p) => this.read(prefix + p) };
  }
}

/** An analysis with nothing detected yet. */
export function emptyAnalysis(): Analysis {
  return {
    language: 'unknown',
    framework: 'generic',
    typescript: false,
    buildTool: null,
    packageManager: null,
    lockfile: null,
    versions: {},
    testCommand: null,
    testRunner: null,
    coverage: false,
    installsRoot: true,
    lintCommand: null,
    buildCommand: null,
    hasDependencies: false,
    service: false,
    dockerfile: null,
    subprojects: [],
    evidence: [],
    wrapper: false,
    root: '',
    parts: [],
    automation: emptyAutomation(),
  };
}

/** "^1.22.3", ">=20.0.0", "~3.11" → "1.22.3", "20", "3.11" (the lowest version the range allows, trimmed) */
export function versionFromRange(range: string, parts = 2): string | null {
  const m = range.match(/(\d+)(?:\.(\d+))?(?:\.(\d+))?/);
  if (!m) return null;
  const nums = [m[1], m[2], m[3]].filter((x) => x !== undefined);
  return nums.slice(0, Math.max(1, Math.min(parts, nums.length))).join('.');
}

function evidence(a: Analysis, fact: string, file: string, detail: string): void {
  a.evidence.push({ fact, file, detail });
}

/** Analyses whose `service` rests only on their Dockerfile (so refusing the Dockerfile withdraws it). */
const serviceByDockerfileOnly = new WeakSet<Analysis>();

/**
 * Detects stack, tools, versions and commands from the repository's manifests, then reads its own
 * automation (CI, compose, settings) with what is left of the budget. Reads at most twelve files.
 */
export async function analyzeRepository(reader: RepoReader): Promise<Analysis> {
  const files = (await reader.list()).filter((p) => !isIgnoredPath(p));
  const budget = new Budget(reader, new Set(files));
  const a = await analyzeDir(budget, files);
  a.subprojects = findSubprojects(files);
  if (a.language !== 'unknown' || a.subprojects.length === 0) return withAutomation(a, budget, files);

  evidence(
    a,
    'monorepo',
    a.subprojects[0].manifest,
    `no manifest at the root; ${a.subprojects.length} sub-project(s): ${a.subprojects.map((s) => `${s.path} (${s.language})`).join(', ')}`,
  );
  const order = MANIFEST_LANGUAGE.map(([, l]) => l);
  const candidates = [...a.subprojects]
    .sort(
      (x, y) =>
        x.path.split('/').length - y.path.split('/').length ||
        order.indexOf(x.language) - order.indexOf(y.language) ||
        (x.path < y.path ? -1 : 1),
    )
    .slice(0, 4);
  for (const sp of candidates) {
    const prefix = `${sp.path}/`;
    const sub = files.filter((f) => f.startsWith(prefix)).map((f) => f.slice(prefix.length));
    const part = await analyzeDir(budget.scoped(prefix), sub);
    if (part.language === 'unknown') continue;
    part.root = sp.path;
    part.evidence = part.evidence.map((e) => ({ ...e, file: `${prefix}${e.file}` }));
    if (part.dockerfile) part.dockerfile = `${prefix}${part.dockerfile}`;
    a.parts.push(part);
  }
  const primary = a.parts[0];
  if (!primary) return withAutomation(a, budget, files);
  return withAutomation(
    {
      ...primary,
      root: '',
      dockerfile: null,
      subprojects: a.subprojects,
      parts: a.parts,
      evidence: [...a.evidence, ...a.parts.flatMap((p) => p.evidence)],
    },
    budget,
    files,
  );
}

async function withAutomation(a: Analysis, budget: Budget, files: string[]): Promise<Analysis> {
  const r = await collectAutomation(files, (p) => budget.read(p), a);
  a.automation = r.automation;
  a.evidence.push(...r.evidence);
  if (a.parts.length === 0) applyDockerfileChoice(a, r.dockerfile);
  return a;
}

function applyDockerfileChoice(a: Analysis, choice: DockerfileChoice): void {
  for (const reason of choice.reasons)
    if (reason.includes(' not built: ')) evidence(a, 'dockerfile-skipped', reason.split(' ')[0], reason);
  a.evidence = a.evidence.filter((e) => e.fact !== 'dockerfile');
  if (choice.path) {
    a.dockerfile = choice.path;
    a.service = true;
    evidence(a, 'dockerfile', choice.path, choice.reasons[choice.reasons.length - 1]);
  } else {
    if (serviceByDockerfileOnly.has(a)) a.service = false;
    a.dockerfile = null;
  }
}

async function analyzeDir(budget: Files, files: string[]): Promise<Analysis> {
  const a = emptyAnalysis();
  const rootFiles = files.filter((p) => !p.includes('/'));

  let language: Language | null = null;
  let manifest = '';
  ({ language, manifest } = detectDocsSite(rootFiles, files) ?? { language, manifest });
  for (const [re, lang] of language ? [] : MANIFEST_LANGUAGE) {
    const hit = rootFiles.find((f) => re.test(f));
    if (hit) {
      language = lang;
      manifest = hit;
      break;
    }
  }
  // .NET solutions keep their projects one or two levels down
  if (!language) {
    const proj = files.find((f) => /\.(csproj|fsproj)$/.test(f) && f.split('/').length <= 3);
    if (proj) {
      language = 'dotnet';
      manifest = proj;
    }
  }
  if (!language)
    ({ language, manifest } = detectNativeBuild(rootFiles, files) ??
      detectInfraStack(rootFiles, files) ?? { language, manifest });

  // development, docs, test and build-machine images are never the application's
  const dockerfile = chooseDockerfile({
    files: files.filter(isDockerfile),
    ciRefs: [],
    composeRefs: [],
    hasLanguage: language !== null,
  }).path;
  if (dockerfile) {
    a.dockerfile = dockerfile;
    a.service = true;
    serviceByDockerfileOnly.add(a);
    evidence(a, 'dockerfile', dockerfile, 'existing Dockerfile: the pipeline builds its image');
  }

  if (language) {
    a.language = language;
    evidence(a, `language=${language}`, manifest, `manifest ${manifest}`);
    const before = a.service;
    a.service = false;
    await ANALYZERS[language](a, budget, files, manifest);
    if (a.service) serviceByDockerfileOnly.delete(a);
    a.service ||= before;
  } else if (rootFiles.includes('Makefile')) {
    a.buildTool = 'make';
    a.testCommand = 'make test';
    evidence(a, 'test=make test', 'Makefile', 'no language manifest; Makefile present');
  }
  return a;
}

function findSubprojects(files: string[]): Subproject[] {
  const seen = new Set<string>();
  const out: Subproject[] = [];
  for (const f of files) {
    const parts = f.split('/');
    if (parts.length < 2 || parts.length > 4) continue;
    const name = parts[parts.length - 1];
    const dir = parts.slice(0, -1).join('/');
    if (seen.has(dir)) continue;
    if (/(^|\/)(test|tests|fixtures|examples?|docs?|testdata)(\/|$)/.test(dir)) continue;
    for (const [re, lang] of MANIFEST_LANGUAGE) {
      if (re.test(name) && name !== 'manage.py') {
        seen.add(dir);
        out.push({ path: dir, language: lang, manifest: f });
        break;
      }
    }
  }
  return out.slice(0, 50);
}

export type Analyzer = (a: Analysis, b: Files, files: string[], manifest: string) => Promise<void>;

function firstMatch(text: string, re: RegExp): string | null {
  const m = text.match(re);
  return m ? m[1] : null;
}

async function toolVersions(b: Files): Promise<Record<string, string>> {
  const text = await b.read('.tool-versions');
  return text ? parseToolVersions('.tool-versions', text) : {};
}

const analyzeGo: Analyzer = async (a, b, files) => {
  a.buildTool = 'go';
  a.packageManager = 'go';
  const mod = (await b.read('go.mod')) ?? '';
  const v = firstMatch(mod, /^go\s+(\d+\.\d+(?:\.\d+)?)\s*$/m);
  const toolchain = firstMatch(mod, /^toolchain\s+go(\d+\.\d+(?:\.\d+)?)\s*$/m);
  // the go directive is a minimum; a toolchain directive names the exact toolchain
  noteVersion(
    a,
    'go',
    toolchain
      ? { kind: 'exact', value: toolchain, file: 'go.mod', detail: `toolchain go${toolchain}` }
      : v
        ? { kind: 'range', value: `>=${v}`, file: 'go.mod', detail: `go directive ${v} (a minimum)` }
        : null,
  );
  a.lockfile = b.has('go.sum') ? 'go.sum' : null;
  a.hasDependencies = /^require\b/m.test(mod);
  const frameworks: Array<[string, Framework]> = [
    ['github.com/gin-gonic/gin', 'gin'],
    ['github.com/labstack/echo', 'echo'],
    ['github.com/gofiber/fiber', 'fiber'],
    ['github.com/go-chi/chi', 'chi'],
    ['github.com/gorilla/mux', 'gorilla'],
  ];
  for (const [mod_, fw] of frameworks) {
    if (mod.includes(mod_)) {
      a.framework = fw;
      a.service = true;
      evidence(a, `framework=${fw}`, 'go.mod', `requires ${mod_}`);
      break;
    }
  }
  if (files.some((f) => f.endsWith('_test.go'))) {
    a.testCommand = 'go test ./...';
    a.testRunner = 'go';
    evidence(a, 'test=go test ./...', 'go.mod', 'Go module with _test.go files');
  }
  a.lintCommand = 'go vet ./...';
  a.buildCommand = 'go build ./...';
  a.goModules = nestedGoModules(files);
  if (a.goModules.length > 0)
    evidence(a, 'go-modules', 'go.mod', `nested modules with tests: ${a.goModules.join(', ')} (a test job each)`);
};

/** Directories below the root holding a go.mod and _test.go files of their own (vendor/testdata aside), eight at most. */
export function nestedGoModules(files: string[]): string[] {
  const mods = files
    .filter((f) => f.endsWith('/go.mod') && !/(^|\/)(vendor|testdata|node_modules)\//.test(f))
    .map((f) => f.slice(0, -'/go.mod'.length));
  const owner = (f: string) => mods.filter((m) => f.startsWith(`${m}/`)).sort((x, y) => y.length - x.length)[0] ?? null;
  return mods
    .filter((m) => files.some((f) => f.endsWith('_test.go') && owner(f) === m))
    .sort()
    .slice(0, 8);
}

const NODE_FRAMEWORKS: Array<[string, Framework, boolean]> = [
  ['@nestjs/core', 'nestjs', true],
  ['next', 'nextjs', true],
  ['nuxt', 'nuxt', true],
  ['@angular/core', 'angular', false],
  ['express', 'express', true],
  ['fastify', 'fastify', true],
  ['koa', 'koa', true],
  ['vue', 'vue', false],
  ['react', 'react', false],
  ['svelte', 'svelte', false],
];

/**
 * The runner a test script is, when the script is that runner alone (so extra arguments after
 * `--` reach it): jest, vitest or node's own runner. Anything else gets no reporter flags.
 */
function nodeTestRunner(script: string): string | null {
  if (/[;&|]/.test(script)) return null;
  if (/^(npx\s+)?jest\b/.test(script)) return 'jest';
  if (/^(npx\s+)?vitest(\s+run)?\b/.test(script) && !/--watch/.test(script)) return 'vitest';
  // only flags: reporter flags appended after a file argument would reach the test files instead
  if (/^node(\s+--[\w-]+(=\S+)?)*\s+--test(\s+--[\w-]+(=\S+)?)*\s*$/.test(script)) return 'node';
  return null;
}

/** npm's placeholder test script, which always fails */
const NPM_NO_TEST = /no test specified/;

const analyzeNode: Analyzer = async (a, b, files) => {
  const text = await b.read('package.json');
  let pkg: {
    scripts?: Record<string, string>;
    dependencies?: Record<string, string>;
    devDependencies?: Record<string, string>;
    engines?: { node?: string };
    packageManager?: string;
    workspaces?: unknown;
  } = {};
  try {
    pkg = JSON.parse(text ?? '{}');
  } catch {
    evidence(a, 'package.json unreadable', 'package.json', 'not valid JSON; using defaults');
  }
  const deps = { ...(pkg.dependencies ?? {}), ...(pkg.devDependencies ?? {}) };
  a.hasDependencies = Object.keys(deps).length > 0;
  for (const [dep, fw, service] of NODE_FRAMEWORKS) {
    // a server framework counts only at run time: express among a library's devDependencies is its
    // test server (ky, supertest users), not an application to containerise
    const from = service ? (pkg.dependencies ?? {}) : deps;
    if (from[dep] !== undefined) {
      a.framework = fw;
      a.service = a.service || service;
      const viaVite = (fw === 'react' || fw === 'vue') && deps.vite !== undefined ? ' with vite' : '';
      evidence(a, `framework=${fw}`, 'package.json', `dependency ${dep}@${from[dep]}${viaVite}`);
      break;
    }
  }
  if (deps.typescript !== undefined || b.has('tsconfig.json')) {
    a.typescript = true;
    evidence(
      a,
      'typescript',
      deps.typescript !== undefined ? 'package.json' : 'tsconfig.json',
      deps.typescript !== undefined ? `dependency typescript@${deps.typescript}` : 'tsconfig.json present',
    );
  }
  const locks: Array<[string, string]> = [
    ['pnpm-lock.yaml', 'pnpm'],
    ['yarn.lock', 'yarn'],
    ['bun.lockb', 'bun'],
    ['bun.lock', 'bun'],
    ['package-lock.json', 'npm'],
    ['npm-shrinkwrap.json', 'npm'],
  ];
  const lock = locks.find(([f]) => b.has(f));
  const declared = pkg.packageManager?.split('@')[0];
  a.packageManager = lock?.[1] ?? declared ?? 'npm';
  a.buildTool = a.packageManager;
  a.lockfile = lock?.[0] ?? null;
  if (lock) evidence(a, `packageManager=${lock[1]}`, lock[0], 'lockfile present');
  else if (declared) evidence(a, `packageManager=${declared}`, 'package.json', `packageManager ${pkg.packageManager}`);
  const pmv = pkg.packageManager?.startsWith(`${a.packageManager}@`)
    ? pkg.packageManager.split('@')[1]?.split('+')[0]
    : undefined;
  if (a.packageManager === 'pnpm') {
    const t = resolveTool('pnpm', pmv ?? null, 'npm');
    a.versions.pnpm = t.version;
    evidence(a, `pnpm=${t.version}`, pmv ? 'package.json' : '(default)', pmv ? `packageManager ${t.why}` : t.why);
  } else if (pmv) a.versions[a.packageManager] = pmv;

  let node: VersionSpec | null = null;
  for (const f of ['.nvmrc', '.node-version']) {
    if (b.has(f)) {
      const raw = (await b.read(f))?.trim().split(/\s/)[0] ?? '';
      if (raw) {
        node = { kind: 'exact', value: raw, file: f, detail: `${f} ${raw}` };
        break;
      }
    }
  }
  if (!node && b.has('.tool-versions')) {
    const tv = await toolVersions(b);
    if (tv.nodejs) node = { kind: 'exact', value: tv.nodejs, file: '.tool-versions', detail: `nodejs ${tv.nodejs}` };
  }
  if (!node && pkg.engines?.node)
    node = { kind: 'range', value: pkg.engines.node, file: 'package.json', detail: `engines ${pkg.engines.node}` };
  noteVersion(a, 'node', node);

  const run = a.packageManager === 'npm' ? 'npm run' : a.packageManager === 'bun' ? 'bun run' : a.packageManager;
  const scripts = pkg.scripts ?? {};
  if (scripts.test && !NPM_NO_TEST.test(scripts.test)) {
    a.testCommand = a.packageManager === 'npm' ? 'npm test' : `${run} test`;
    a.testRunner = nodeTestRunner(scripts.test);
    evidence(a, `test=${a.testCommand}`, 'package.json', `scripts.test: ${scripts.test}`);
  } else if (isNodeWorkspace(pkg, files)) {
    // no root test script: the members' own, run workspace-wide (two reads at most)
    for (const m of nodeMembersWithTests(files).slice(0, 2)) {
      let member: { scripts?: Record<string, string> } = {};
      try {
        member = JSON.parse((await b.read(`${m}/package.json`)) ?? '{}');
      } catch {
        continue;
      }
      const t = member.scripts?.test;
      if (!t || NPM_NO_TEST.test(t)) continue;
      const turbo = b.has('turbo.json') && Object.values(scripts).some((x) => /\bturbo\b/.test(x));
      a.testCommand = workspaceTestCommand(a.packageManager, turbo);
      a.testRunner = nodeTestRunner(t);
      evidence(a, `test=${a.testCommand}`, `${m}/package.json`, `workspace member scripts.test: ${t}`);
      break;
    }
  }
  if (scripts.lint) {
    a.lintCommand = `${run} lint`;
    evidence(a, `lint=${a.lintCommand}`, 'package.json', `scripts.lint: ${scripts.lint}`);
  } else if (deps.eslint !== undefined) {
    a.lintCommand = 'npx eslint .';
  }
  // workspaces (turbo, pnpm, nx) check types in a root script that lint alone does not run
  const typecheck = typecheckScript(scripts);
  if (typecheck) {
    const cmd = `${run} ${typecheck}`;
    a.lintCommand = a.lintCommand ? `${a.lintCommand} && ${cmd}` : cmd;
    evidence(a, `typecheck=${cmd}`, 'package.json', `scripts.${typecheck}: ${scripts[typecheck]}`);
  }
  if (scripts.build) {
    a.buildCommand = `${run} build`;
    evidence(a, `build=${a.buildCommand}`, 'package.json', `scripts.build: ${scripts.build}`);
  }
};

const PY_FRAMEWORKS: Array<[RegExp, Framework]> = [
  [/\bdjango\b/i, 'django'],
  [/\bfastapi\b/i, 'fastapi'],
  [/\bflask\b/i, 'flask'],
];

const analyzePython: Analyzer = async (a, b, files) => {
  const sources: Array<[string, string]> = [];
  for (const f of ['pyproject.toml', 'requirements.txt', 'Pipfile', 'setup.py']) {
    if (b.has(f)) {
      const t = await b.read(f);
      if (t !== null) sources.push([f, t]);
    }
  }
  const pyproject = sources.find(([f]) => f === 'pyproject.toml')?.[1] ?? '';
  // a uv workspace's dependencies (pytest, the web framework) live in its members' manifests
  const members = uvWorkspaceMembers(pyproject, files);
  const memberSources: Array<[string, string]> = [];
  for (const m of members.slice(0, 2)) {
    const t = await b.read(`${m}/pyproject.toml`);
    if (t !== null) memberSources.push([`${m}/pyproject.toml`, t]);
  }
  if (members.length) {
    a.uvWorkspace = true;
    evidence(a, 'uv-workspace', 'pyproject.toml', `members ${members.join(', ')}; uv sync --all-packages`);
  }
  sources.push(...memberSources);
  if (b.has('uv.lock') || /\[tool\.uv\]/.test(pyproject)) {
    a.packageManager = 'uv';
    a.lockfile = b.has('uv.lock') ? 'uv.lock' : 'pyproject.toml';
  } else if (b.has('poetry.lock') || /\[tool\.poetry\]/.test(pyproject)) {
    a.packageManager = 'poetry';
    a.lockfile = b.has('poetry.lock') ? 'poetry.lock' : 'pyproject.toml';
  } else if (b.has('Pipfile')) {
    a.packageManager = 'pipenv';
    a.lockfile = b.has('Pipfile.lock') ? 'Pipfile.lock' : 'Pipfile';
  } else {
    a.packageManager = 'pip';
    a.lockfile = b.has('requirements.txt') ? 'requirements.txt' : null;
  }
  a.buildTool = a.packageManager;
  evidence(a, `packageManager=${a.packageManager}`, a.lockfile ?? sources[0]?.[0] ?? 'setup.py', 'dependency files');

  // Only dependency declarations count, not comments or the project's own name
  const depText = sources
    .map(([f, t]) => {
      if (!f.endsWith('pyproject.toml')) return t.replace(/#.*$/gm, '');
      return pyDeps(t);
    })
    .join('\n');
  a.hasDependencies = /[A-Za-z]/.test(
    depText.replace(/dependencies\s*=\s*\[\s*\]/g, '').replace(/\[tool\.poetry[^\]]*\]|python\s*=.*$/gm, ''),
  );
  const depsOf = (f: string, t: string) => (f.endsWith('pyproject.toml') ? pyDeps(t) : t.replace(/#.*$/gm, ''));
  for (const [re, fw] of PY_FRAMEWORKS) {
    const src = sources.find(([f, t]) => re.test(depsOf(f, t)));
    if (src) {
      a.framework = fw;
      a.service = true;
      evidence(a, `framework=${fw}`, src[0], `dependency ${fw}`);
      break;
    }
  }
  if (a.framework === 'generic' && b.has('manage.py')) {
    a.framework = 'django';
    a.service = true;
    evidence(a, 'framework=django', 'manage.py', 'Django management script');
  }

  let py: VersionSpec | null = null;
  if (b.has('.python-version')) {
    const raw = (await b.read('.python-version'))?.trim().split(/\s/)[0] ?? '';
    if (raw) py = { kind: 'exact', value: raw, file: '.python-version', detail: `.python-version ${raw}` };
  }
  if (!py) {
    const req = firstMatch(pyproject, /requires-python\s*=\s*["']([^"']+)["']/);
    const poetryPy = firstMatch(pyproject, /^python\s*=\s*["']([^"']+)["']/m);
    if (req)
      py = { kind: 'range', value: req, file: 'pyproject.toml', detail: `requires-python ${req}`, dialect: 'pep440' };
    // Poetry's python constraint uses npm-like carets and tildes
    else if (poetryPy) py = { kind: 'range', value: poetryPy, file: 'pyproject.toml', detail: `python ${poetryPy}` };
  }
  noteVersion(a, 'python', py);
  const toolConstraint =
    a.packageManager === 'uv'
      ? firstMatch(pyproject, /\[tool\.uv\][^[]*?required-version\s*=\s*["']([^"']+)["']/)
      : a.packageManager === 'poetry'
        ? firstMatch(pyproject, /requires-poetry\s*=\s*["']([^"']+)["']/)
        : null;
  if (a.packageManager === 'uv' || a.packageManager === 'poetry') {
    const t = resolveTool(a.packageManager, toolConstraint);
    a.versions[a.packageManager] = t.version;
    evidence(a, `${a.packageManager}=${t.version}`, toolConstraint ? 'pyproject.toml' : '(default)', t.why);
  }
  if (a.packageManager === 'poetry') {
    // Poetry 2 installs the project itself unless told not to, which fails when it is no package
    const name = (firstMatch(pyproject, /^name\s*=\s*["']([^"']+)["']/m) ?? '').toLowerCase().replace(/[-.]/g, '_');
    const packageMode = !/package-mode\s*=\s*false/.test(pyproject);
    const hasModule =
      name !== '' && files.some((f) => f.startsWith(`${name}/`) || f.startsWith(`src/${name}/`) || f === `${name}.py`);
    a.installsRoot = packageMode && (/^packages\s*=/m.test(pyproject) || hasModule);
    if (!a.installsRoot)
      evidence(
        a,
        'poetry --no-root',
        'pyproject.toml',
        'the project is not an installable package (no package of its name)',
      );
  }

  const usesPytest =
    /\bpytest\b/i.test(depText) ||
    b.has('pytest.ini') ||
    files.some((f) => /(^|\/)conftest\.py$/.test(f) && f.split('/').length <= 4) ||
    /\[tool\.pytest/.test(pyproject);
  // the member that declares pytest runs the tests from its own directory (its pytest settings, its imports)
  const testMember = memberSources.find(([, t]) => /\bpytest\b/.test(pyDeps(t)) || /\[tool\.pytest/.test(t))?.[0];
  const prefix =
    a.packageManager === 'poetry'
      ? 'poetry run '
      : a.packageManager === 'uv'
        ? testMember
          ? `uv run --directory ${testMember.slice(0, -'/pyproject.toml'.length)} `
          : 'uv run '
        : '';
  // unittest exits 5 when it finds nothing, and an empty pytest run proves nothing either
  const testFiles = files.some(
    (f) => /(^|\/)(test_[^/]*|[^/]*_test|tests?)\.py$/.test(f) || /(^|\/)tests?\/[^/]+\.py$/.test(f),
  );
  if (usesPytest && testFiles) {
    a.testCommand = `${prefix}pytest`;
    a.testRunner = 'pytest';
    a.coverage = /\bpytest-cov\b/i.test(depText);
    evidence(a, 'test=pytest', 'pyproject.toml', 'pytest configured or declared, and test files present');
  } else if (a.framework === 'django' && b.has('manage.py') && testFiles) {
    a.testCommand = `${prefix}python manage.py test`;
    evidence(a, 'test=manage.py test', 'manage.py', 'Django test runner');
  } else if (testFiles) {
    a.testCommand = `${prefix}python -m unittest discover -v`;
    evidence(a, 'test=unittest', a.lockfile ?? 'pyproject.toml', 'no pytest: the standard library runner');
  }
  // a linter the project only configures is installed by the job at the pinned version
  if (/\bruff\b/.test(depText)) a.lintCommand = `${prefix}ruff check .`;
  else if (/\[tool\.ruff/.test(pyproject) || b.has('ruff.toml') || b.has('.ruff.toml'))
    a.lintCommand =
      a.packageManager === 'uv'
        ? `uvx ruff@${TOOLS.ruff.version} check .`
        : `pip install ruff==${TOOLS.ruff.version} && ruff check .`;
  else if (/\bflake8\b/.test(depText)) a.lintCommand = `${prefix}flake8`;
};

/** The dependency declarations of a pyproject.toml (PEP 621, dependency groups, Poetry), without the rest. */
function pyDeps(t: string): string {
  const deps = t.match(/dependencies\s*=\s*\[[\s\S]*?\]/g) ?? [];
  const groups = t.match(/^\[dependency-groups\][\s\S]*?(?=\n\[(?!\s*")|$(?![\s\S]))/gm) ?? [];
  const poetry = t.match(/\[tool\.poetry\.(?:dev-|group\.[^\]]+\.)?dependencies\][\s\S]*?(?=\n\[|$(?![\s\S]))/g) ?? [];
  const optional = t.match(/\[project\.optional-dependencies\][\s\S]*?(?=\n\[(?!\s*")|$(?![\s\S]))/g) ?? [];
  return [...deps, ...groups, ...poetry, ...optional].join('\n');
}

const analyzeJvm: Analyzer = async (a, b, files, manifest) => {
  const maven = manifest === 'pom.xml';
  const text = (await b.read(manifest)) ?? '';
  a.buildTool = maven ? 'maven' : 'gradle';
  a.packageManager = a.buildTool;
  a.wrapper = maven ? b.has('mvnw') : b.has('gradlew');
  a.lockfile = manifest;
  a.hasDependencies = true;
  const kotlin =
    /kotlin\(\s*"jvm"\s*\)|org\.jetbrains\.kotlin|kotlin-maven-plugin|kotlin-stdlib/.test(text) ||
    (manifest.endsWith('.kts') && files.some((f) => f.endsWith('.kt') && !f.endsWith('.gradle.kts')));
  if (kotlin) {
    a.language = 'kotlin';
    a.evidence = a.evidence.filter((e) => !e.fact.startsWith('language='));
    evidence(a, 'language=kotlin', manifest, 'Kotlin plugin or sources');
  }
  if (/spring-boot/.test(text)) {
    a.framework = 'spring-boot';
    a.service = true;
    evidence(a, 'framework=spring-boot', manifest, 'org.springframework.boot');
  } else if (/io\.ktor/.test(text)) {
    a.framework = 'ktor';
    a.service = true;
    evidence(a, 'framework=ktor', manifest, 'io.ktor dependency');
  } else if (/io\.quarkus/.test(text)) {
    a.framework = 'quarkus';
    a.service = true;
    evidence(a, 'framework=quarkus', manifest, 'io.quarkus dependency');
  }
  const java =
    firstMatch(text, /<java\.version>\s*([\d.]+)\s*</) ??
    firstMatch(text, /<maven\.compiler\.release>\s*([\d.]+)\s*</) ??
    firstMatch(text, /<release>\s*([\d.]+)\s*</) ??
    firstMatch(text, /<maven\.compiler\.source>\s*([\d.]+)\s*</) ??
    firstMatch(text, /JavaLanguageVersion\.of\(\s*(\d+)\s*\)/) ??
    firstMatch(text, /jvmToolchain\(\s*(\d+)\s*\)/) ??
    firstMatch(text, /JavaVersion\.VERSION_(\d+(?:_\d+)?)/)?.replace('1_', '') ??
    firstMatch(text, /sourceCompatibility\s*=\s*['"]?(\d+(?:\.\d+)?)/);
  // the release the code is compiled for: a target, kept exactly (a newer JDK may break the build's plugins)
  const jv = java ? (java.startsWith('1.') ? java.slice(2) : java) : null;
  noteVersion(a, 'java', jv ? { kind: 'exact', value: jv, file: manifest, detail: `Java release ${java}` } : null);
  const hasTests = files.some((f) => /(^|\/)src\/test\//.test(f));
  if (maven) {
    const mvn = a.wrapper ? './mvnw' : 'mvn';
    a.testCommand = hasTests ? `${mvn} --batch-mode verify` : null;
    a.buildCommand = `${mvn} --batch-mode package -DskipTests`;
  } else {
    const gradle = a.wrapper ? './gradlew' : 'gradle';
    a.testCommand = hasTests ? `${gradle} check --no-daemon` : null;
    a.buildCommand = `${gradle} assemble --no-daemon`;
  }
};

const analyzeRust: Analyzer = async (a, b) => {
  a.buildTool = 'cargo';
  a.packageManager = 'cargo';
  const text = (await b.read('Cargo.toml')) ?? '';
  a.lockfile = b.has('Cargo.lock') ? 'Cargo.lock' : 'Cargo.toml';
  a.hasDependencies = /\[(dev-)?dependencies\]\s*\n\s*[A-Za-z]/.test(text) || /\[workspace/.test(text);
  const msrv = firstMatch(text, /rust-version\s*=\s*"([^"]+)"/);
  let rust: VersionSpec | null = msrv
    ? { kind: 'range', value: `>=${msrv}`, file: 'Cargo.toml', detail: `rust-version ${msrv} (a minimum)` }
    : null;
  for (const f of ['rust-toolchain.toml', 'rust-toolchain']) {
    if (b.has(f)) {
      const t = (await b.read(f)) ?? '';
      const c = firstMatch(t, /channel\s*=\s*"(\d[^"]*)"/) ?? firstMatch(t, /^(\d+\.\d+(?:\.\d+)?)\s*$/m);
      if (c) rust = { kind: 'exact', value: c, file: f, detail: `toolchain channel ${c}` };
      break;
    }
  }
  noteVersion(a, 'rust', rust);
  for (const [dep, fw] of [
    ['axum', 'axum'],
    ['actix-web', 'actix'],
    ['rocket', 'rocket'],
  ] as const) {
    if (new RegExp(`^\\s*${dep}\\s*=`, 'm').test(text)) {
      a.framework = fw;
      a.service = true;
      evidence(a, `framework=${fw}`, 'Cargo.toml', `dependency ${dep}`);
      break;
    }
  }
  const locked = b.has('Cargo.lock') ? ' --locked' : '';
  // in a workspace, plain `cargo test` at the root reaches only the root package (or none)
  const ws = isCargoWorkspace(text) ? ' --workspace' : '';
  if (ws) evidence(a, 'cargo-workspace', 'Cargo.toml', '[workspace]: commands cover every member');
  a.testCommand = `cargo test${ws}${locked}`;
  a.lintCommand = `cargo clippy${ws} --all-targets -- -D warnings`;
  a.buildCommand = `cargo build${ws} --release${locked}`;
};

const analyzeRuby: Analyzer = async (a, b, files) => {
  a.buildTool = 'bundler';
  a.packageManager = 'bundler';
  const gem = (await b.read('Gemfile')) ?? '';
  a.lockfile = b.has('Gemfile.lock') ? 'Gemfile.lock' : 'Gemfile';
  a.hasDependencies = /^\s*gem\s/m.test(gem);
  const has = (g: string) => new RegExp(`^\\s*gem\\s+["']${g}["']`, 'm').test(gem);
  if (has('rails')) {
    a.framework = 'rails';
    a.service = true;
    evidence(a, 'framework=rails', 'Gemfile', 'gem rails');
  } else if (has('sinatra')) {
    a.framework = 'sinatra';
    a.service = true;
    evidence(a, 'framework=sinatra', 'Gemfile', 'gem sinatra');
  }
  let ruby: VersionSpec | null = null;
  if (b.has('.ruby-version')) {
    const raw = (await b.read('.ruby-version'))?.trim().split(/\s/)[0] ?? '';
    if (raw) ruby = { kind: 'exact', value: raw, file: '.ruby-version', detail: `.ruby-version ${raw}` };
  }
  if (!ruby) {
    // `ruby "3.4.4"` is a requirement Bundler enforces exactly; `ruby ">= 3.2"` a range
    const g = firstMatch(gem, /^\s*ruby\s+["']([^"']+)["']/m);
    if (g)
      ruby = /^\d/.test(g)
        ? { kind: 'exact', value: g, file: 'Gemfile', detail: `ruby ${g}` }
        : { kind: 'range', value: g, file: 'Gemfile', detail: `ruby ${g}`, dialect: 'ruby' };
  }
  noteVersion(a, 'ruby', ruby);
  const specs = files.some((f) => /^spec\/.*_spec\.rb$/.test(f));
  const tests = files.some((f) => /^test\/.*_test\.rb$/.test(f));
  if (specs && (has('rspec-rails') || has('rspec'))) {
    a.testCommand = 'bundle exec rspec';
    a.testRunner = has('rspec_junit_formatter') ? 'rspec-junit' : 'rspec';
  } else if (tests && a.framework === 'rails') {
    a.testCommand = 'bin/rails test';
  } else if (tests) {
    a.testCommand = 'bundle exec rake test';
  }
  if (a.testCommand) evidence(a, `test=${a.testCommand}`, 'Gemfile', 'test framework in the Gemfile and test files');
  if (has('rubocop') || has('rubocop-rails') || has('rubocop-rails-omakase')) a.lintCommand = 'bundle exec rubocop';
};

const analyzePhp: Analyzer = async (a, b) => {
  a.buildTool = 'composer';
  a.packageManager = 'composer';
  let c: {
    require?: Record<string, string>;
    'require-dev'?: Record<string, string>;
    scripts?: Record<string, unknown>;
  } = {};
  // read outside the try: a GitLab failure must reach the job's retry, not look like a bad file
  const composer = (await b.read('composer.json')) ?? '{}';
  try {
    c = JSON.parse(composer);
  } catch {
    evidence(a, 'composer.json unreadable', 'composer.json', 'not valid JSON; using defaults');
  }
  a.lockfile = b.has('composer.lock') ? 'composer.lock' : 'composer.json';
  const req = { ...(c.require ?? {}), ...(c['require-dev'] ?? {}) };
  a.hasDependencies = Object.keys(req).some((k) => k.includes('/'));
  if (req['laravel/framework']) {
    a.framework = 'laravel';
    a.service = true;
    evidence(a, 'framework=laravel', 'composer.json', `require laravel/framework ${req['laravel/framework']}`);
  } else if (req['symfony/framework-bundle']) {
    a.framework = 'symfony';
    a.service = true;
    evidence(
      a,
      'framework=symfony',
      'composer.json',
      `require symfony/framework-bundle ${req['symfony/framework-bundle']}`,
    );
  }
  const php = c.require?.php;
  noteVersion(
    a,
    'php',
    php
      ? { kind: 'range', value: php, file: 'composer.json', detail: `require php ${php}`, dialect: 'composer' }
      : null,
  );
  if (a.framework === 'laravel' && b.has('artisan')) {
    a.testCommand = 'php artisan test';
    a.testRunner = 'phpunit';
  } else if (req['phpunit/phpunit'] || b.has('phpunit.xml') || b.has('phpunit.xml.dist')) {
    a.testCommand = 'vendor/bin/phpunit';
    a.testRunner = 'phpunit';
  } else if (c.scripts?.test) a.testCommand = 'composer test';
  if (a.testCommand) evidence(a, `test=${a.testCommand}`, 'composer.json', 'test runner');
  if (req['phpstan/phpstan']) a.lintCommand = 'vendor/bin/phpstan analyse';
  else if (req['squizlabs/php_codesniffer']) a.lintCommand = 'vendor/bin/phpcs';
};

const analyzeDotnet: Analyzer = async (a, b, files, manifest) => {
  a.buildTool = 'dotnet';
  a.packageManager = 'nuget';
  a.hasDependencies = true;
  const projects = files.filter((f) => /\.(csproj|fsproj)$/.test(f) && f.split('/').length <= 4);
  // the SDK image's tag is major.minor; a target framework needs its own runtime, so both are exact
  let sdk: VersionSpec | null = null;
  if (b.has('global.json')) {
    const g = (await b.read('global.json')) ?? '';
    const v = firstMatch(g, /"version"\s*:\s*"(\d+\.\d+)/);
    if (v) sdk = { kind: 'exact', value: v, file: 'global.json', detail: `sdk.version ${v}` };
  }
  for (const p of projects.slice(0, 2)) {
    const t = (await b.read(p)) ?? '';
    if (/Sdk="Microsoft\.NET\.Sdk\.Web"/.test(t) || /Microsoft\.AspNetCore/.test(t)) {
      if (a.framework !== 'aspnet-core') evidence(a, 'framework=aspnet-core', p, 'Microsoft.NET.Sdk.Web');
      a.framework = 'aspnet-core';
      a.service = true;
    }
    const tf = firstMatch(t, /<TargetFrameworks?>\s*net(\d+\.\d+)/);
    if (tf && !sdk) sdk = { kind: 'exact', value: tf, file: p, detail: `TargetFramework net${tf}` };
  }
  noteVersion(a, 'dotnet', sdk);
  a.lockfile = files.find((f) => f.endsWith('packages.lock.json')) ?? (projects[0] || manifest);
  // a test project is one named so or referencing the test SDK; without one `dotnet test` tests nothing
  const testProjects = projects.filter((p) => /test/i.test(p));
  a.testCommand = testProjects.length > 0 ? 'dotnet test' : null;
  if (a.testCommand) {
    a.testRunner = 'dotnet';
    evidence(a, 'test=dotnet test', testProjects[0], 'test project');
  }
  a.buildCommand = 'dotnet build --configuration Release';
  a.lintCommand = 'dotnet format --verify-no-changes';
};

const ANALYZERS: Record<string, Analyzer> = {
  go: analyzeGo,
  node: analyzeNode,
  python: analyzePython,
  java: analyzeJvm,
  rust: analyzeRust,
  ruby: analyzeRuby,
  php: analyzePhp,
  dotnet: analyzeDotnet,
  cpp: analyzeNative,
  c: analyzeNative,
  terraform: analyzeTerraform,
  helm: analyzeHelm,
  docker: analyzeDocker,
  docs: analyzeDocs,
};
