import { parse } from 'yaml';
import type { Evidence } from '../analyzeRepository.js';
import {
  chooseDockerfile,
  type DockerfileChoice,
  dockerfilesReferencedByCi,
  isDockerfile,
  missingBuildInputs,
} from './dockerfileChoice.js';
import { isTestingJob, parseWorkflow, type Workflow } from './githubActions.js';
import {
  needsFromImages,
  parseCompose,
  parseDatabaseSettings,
  parseTargets,
  parseToolVersions,
  pickTarget,
} from './projectFiles.js';
import { mergeNeeds, SERVICE_KINDS, type ServiceNeed } from './services.js';
import { translateWorkflows } from './translateWorkflow.js';

/** What the repository's own automation and settings say, beyond its manifests. */
export interface Automation {
  /** workflow files read */
  workflows: string[];
  /** every `run:` step of the workflows read (what the maintainers' CI runs) */
  ciCommands: string[];
  /** the testing workflow in GitLab form (source `translated`), without the learn stage */
  translated: { config: string; workflow: string; jobs: string[] } | null;
  /** services the tests need */
  services: ServiceNeed[];
  /** environment variables the project's settings read to reach them (name → example value) */
  serviceEnv: Record<string, string>;
  /** the framework's migration or schema step, run before the tests when a database is needed */
  migrate: string | null;
  /** commands the test job needs before it can reach the services (e.g. PHP's PDO drivers) */
  serviceSetup: string[];
  /** task runner file → its test/lint targets */
  targets: Record<string, string[]>;
  /** the build context the chosen Dockerfile needs ('.' for the root), null without a Dockerfile */
  dockerContext: string | null;
  /** `.tool-versions` / `.mise.toml` tools */
  toolVersions: Record<string, string>;
  /** an existing .gitlab-ci.yml: evidence only, never a candidate (`learn-stage` serves it) */
  gitlabCi: string | null;
}

export function emptyAutomation(): Automation {
  return {
    workflows: [],
    ciCommands: [],
    translated: null,
    services: [],
    serviceEnv: {},
    migrate: null,
    serviceSetup: [],
    dockerContext: null,
    targets: {},
    toolVersions: {},
    gitlabCi: null,
  };
}

/** The facts of the analysis this step uses (a subset of Analysis, so this module stays independent). */
export interface AnalysisFacts {
  language: string;
  framework: string;
  versions: Record<string, string>;
  packageManager: string | null;
  testCommand: string | null;
  buildTool: string | null;
  dockerfile: string | null;
  /** monorepo parts: their jobs run inside their directories */
  parts?: unknown[];
}

export interface AutomationResult {
  automation: Automation;
  evidence: Evidence[];
  dockerfile: DockerfileChoice;
}

type Read = (path: string) => Promise<string | null>;

const WORKFLOW_FILE = /^\.github\/workflows\/[^/]+\.ya?ml$/;
const NOT_TESTING_WORKFLOW =
  /release|deploy|publish|pages|docs?\b|codeql|stale|label|lock|dependabot|greet|welcome|cla\b|sponsor|triage|codespell|scorecard|security|nightly|cron|backport|changelog|docker/i;
/** A name part that says the workflow tests: `ci.yml`, `run-tests.yml`, `test-backend.yml`, `main.yml`. */
const TESTING_WORKFLOW =
  /(^|[-_.])(ci|tests?|testing|unit|integration|build|main|check|checks|pr|pull[-_]?request|push|python|node|go|rust|java|ruby|php)([-_.]|$)/i;
const LINT_WORKFLOW = /lint|style|format|typ(e|ing)|pre-commit/i;

/** Workflows most likely to test the project first; shipping and housekeeping workflows last. */
export function workflowOrder(files: string[]): string[] {
  const rank = (f: string) => {
    const name = f
      .split('/')
      .pop()!
      .replace(/\.ya?ml$/, '');
    if (NOT_TESTING_WORKFLOW.test(name)) return 4;
    if (/test/i.test(name)) return 0;
    if (TESTING_WORKFLOW.test(name)) return 1;
    if (LINT_WORKFLOW.test(name)) return 2;
    return 3;
  };
  return files.filter((f) => WORKFLOW_FILE.test(f)).sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
}

const COMPOSE_FILE = /^(docker-)?compose(\.[\w-]+)?\.ya?ml$/;

function composeFiles(files: string[]): string[] {
  const rank = (f: string) => (/^(docker-)?compose\.ya?ml$/.test(f) ? 0 : /test|ci/.test(f) ? 1 : 2);
  return files.filter((f) => !f.includes('/') && COMPOSE_FILE.test(f)).sort((a, b) => rank(a) - rank(b));
}

function depth(f: string): number {
  return f.split('/').length;
}

/** Settings files that name a database, for the detected framework, nearest the root first. */
export function settingsFiles(files: string[], framework: string): string[] {
  const byDepth = (xs: string[]) => xs.sort((a, b) => depth(a) - depth(b) || a.localeCompare(b));
  const out: string[] = [];
  const env = byDepth(files.filter((f) => /(^|\/)(\.env\.(example|sample|dist|template)|env\.example)$/.test(f)));
  if (framework === 'django') {
    const settings = byDepth(
      files.filter((f) => /(^|\/)settings\.py$|(^|\/)settings\/(base|test|tests|ci|common|__init__)\.py$/.test(f)),
    );
    out.push(...settings.slice(0, 1));
  } else if (framework === 'rails') {
    if (files.includes('config/database.yml')) out.push('config/database.yml');
  } else if (['fastapi', 'flask', 'generic'].includes(framework)) {
    const config = byDepth(
      files.filter((f) => /(^|\/)(core\/config|config|settings|database|db)\.py$/.test(f) && depth(f) <= 4),
    );
    out.push(...config.slice(0, 1));
  }
  out.push(...env.slice(0, 1));
  return out;
}

const TASK_RUNNERS = [
  'Makefile',
  'justfile',
  'Justfile',
  'Taskfile.yml',
  'Taskfile.yaml',
  'tox.ini',
  'noxfile.py',
  'Rakefile',
];

/** The default pipeline's build artifacts, which a later container job receives. */
function artifactPaths(f: AnalysisFacts): string[] {
  switch (f.language) {
    case 'rust':
      return ['target/release/'];
    case 'java':
    case 'kotlin':
      return f.buildTool === 'maven' ? ['target/'] : ['build/libs/'];
    case 'node':
      return ['dist/', '.next/', '.output/'];
    case 'c':
    case 'cpp':
      return ['build/'];
    default:
      return [];
  }
}

function runPrefix(testCommand: string | null): string {
  return testCommand?.match(/^((?:uv run(?: --directory \S+)?|poetry run|pipenv run) )/)?.[1] ?? '';
}

/** The framework's schema step, run from the repository root. */
export function migrationStep(facts: AnalysisFacts, files: string[]): string | null {
  const prefix = runPrefix(facts.testCommand);
  switch (facts.framework) {
    case 'django': {
      const manage = files.filter((f) => /(^|\/)manage\.py$/.test(f)).sort((a, b) => depth(a) - depth(b))[0];
      return manage ? `${prefix}python ${manage} migrate --noinput` : null;
    }
    case 'rails':
      // bin/ is not listed (build output is skipped), but every Rails application has bin/rails
      return 'bin/rails db:prepare';
    case 'laravel':
      return 'php artisan migrate --force';
    default: {
      const dir = prefix.match(/--directory (\S+)/)?.[1] ?? '';
      if (files.includes(dir ? `${dir}/alembic.ini` : 'alembic.ini')) return `${prefix}alembic upgrade head`;
      return null;
    }
  }
}

/** The official PHP images ship without database drivers; the test job installs the ones its services need. */
function serviceSetup(language: string, services: ServiceNeed[]): string[] {
  if (language !== 'php') return [];
  const kinds = new Set(services.map((s) => s.kind));
  const out: string[] = [];
  if (kinds.has('mysql') || kinds.has('mariadb')) out.push('docker-php-ext-install pdo_mysql > /dev/null');
  if (kinds.has('postgres'))
    out.push('apt-get install -y -qq libpq-dev > /dev/null && docker-php-ext-install pdo_pgsql > /dev/null');
  return out;
}

function summariseWorkflow(wf: Workflow): string {
  const parts = wf.jobs.map((j) => {
    const bits: string[] = [];
    const runs = j.steps.filter((s) => s.run).map((s) => s.run!.split('\n')[0].trim());
    if (runs.length) bits.push(`runs ${runs.slice(0, 3).join('; ')}${runs.length > 3 ? '; …' : ''}`);
    const setups = j.steps
      .filter((s) => s.uses && /setup|toolchain/.test(s.uses))
      .map((s) => {
        const v = Object.entries(s.with).find(([k]) => /version|toolchain/.test(k))?.[1];
        return `${s.uses!.split('@')[0]}${v ? ` ${v}` : ''}`;
      });
    if (setups.length) bits.push(setups.join(', '));
    if (j.services.length) bits.push(`services ${j.services.map((s) => s.image).join(', ')}`);
    const dims = Object.entries(j.matrix).map(([k, vals]) => `${k}: ${vals.join(', ')}`);
    if (dims.length) bits.push(`matrix ${dims.join('; ')}`);
    return `${j.id}${bits.length ? ` (${bits.join('; ')})` : ''}`;
  });
  return `jobs ${parts.join(', ')}`;
}

/**
 * Reads the repository's own automation within the read budget (`read` returns null once it is
 * spent), in priority order: workflows that test (two at most), the compose file, the
 * framework's database settings, an existing .gitlab-ci.yml, the chosen Dockerfile (to see what
 * it COPYs), one task runner, then .tool-versions/.mise.toml.
 */
export async function collectAutomation(files: string[], read: Read, facts: AnalysisFacts): Promise<AutomationResult> {
  const automation = emptyAutomation();
  const evidence: Evidence[] = [];
  const note = (fact: string, file: string, detail: string) => evidence.push({ fact, file, detail });
  const present = new Set(files);

  const workflows: Workflow[] = [];
  for (const file of workflowOrder(files)) {
    if (workflows.length >= 2) break;
    const text = await read(file);
    if (text === null) break;
    const wf = parseWorkflow(file, text);
    if (!wf) continue;
    workflows.push(wf);
    automation.workflows.push(file);
    automation.ciCommands.push(...wf.jobs.flatMap((j) => j.steps.flatMap((st) => (st.run ? [st.run] : []))));
    note('ci=github-actions', file, summariseWorkflow(wf));
  }

  const translation = translateWorkflows(workflows, facts);
  for (const n of translation.notes)
    note(n.includes(': not translated') ? 'not-translated' : 'translated', n.split(':')[0], n);
  if (translation.config && translation.workflow)
    automation.translated = { config: translation.config, workflow: translation.workflow, jobs: translation.jobs };

  const testingJobs = workflows.flatMap((w) => w.jobs.filter(isTestingJob));
  const ciNeeds = needsFromImages(
    testingJobs.flatMap((j) =>
      j.services.map((s) => ({ image: s.image, from: workflows.find((w) => w.jobs.includes(j))!.file })),
    ),
  );
  const ciUsesCompose = testingJobs.some((j) => j.steps.some((s) => /docker[ -]compose\b/.test(s.run ?? '')));

  const composeRefs: string[] = [];
  const composeContexts = new Map<string, string>();
  let composeNeeds: ServiceNeed[] = [];
  const compose = composeFiles(files)[0];
  if (compose) {
    const text = await read(compose);
    if (text !== null) {
      const services = parseCompose(compose, text);
      composeNeeds = needsFromImages(services.filter((s) => s.image).map((s) => ({ image: s.image!, from: compose })));
      for (const s of services) {
        if (!s.dockerfile) continue;
        composeRefs.push(s.dockerfile);
        composeContexts.set(s.dockerfile, s.context ?? '');
      }
      note(
        'compose',
        compose,
        `services ${services.map((s) => (s.image ? `${s.name} (${s.image})` : `${s.name} (build ${s.dockerfile})`)).join(', ')}`,
      );
    }
  }

  const settingsNeeds: ServiceNeed[] = [];
  for (const file of settingsFiles(files, facts.framework)) {
    const text = await read(file);
    if (text === null) continue;
    const s = parseDatabaseSettings(file, text);
    settingsNeeds.push(...s.needs);
    Object.assign(automation.serviceEnv, s.env);
    if (s.needs.length || Object.keys(s.env).length)
      note(
        'settings',
        file,
        `${s.needs.length ? `names ${[...new Set(s.needs.map((n) => n.kind))].join(', ')}` : 'no database named'}${
          Object.keys(s.env).length ? `; reads ${Object.keys(s.env).join(', ')}` : ''
        }`,
      );
  }

  // The maintainers' CI says what the tests need; without it, compose and settings do.
  const needs =
    testingJobs.length > 0 ? [...ciNeeds, ...(ciUsesCompose ? composeNeeds : [])] : [...composeNeeds, ...settingsNeeds];
  automation.services = mergeNeeds(needs);
  for (const n of automation.services)
    note(`service=${n.kind}`, n.from, `tests need ${n.kind}${n.version ? ` ${n.version}` : ''}`);
  automation.serviceSetup = serviceSetup(facts.language, automation.services);
  if (automation.services.some((n) => SERVICE_KINDS[n.kind].database && n.kind !== 'mongodb')) {
    // a monorepo part's jobs run inside its directory, where these root-relative commands do not apply
    automation.migrate = facts.parts?.length ? null : migrationStep(facts, files);
    if (automation.migrate) note(`migrate=${automation.migrate}`, facts.framework, 'schema step before the tests');
  }

  const ciTexts = workflows.map((w) => w.file);
  if (present.has('.gitlab-ci.yml')) {
    automation.gitlabCi = '.gitlab-ci.yml';
    const text = await read('.gitlab-ci.yml');
    if (text !== null) {
      ciTexts.push('.gitlab-ci.yml');
      let jobs: string[] = [];
      try {
        const doc = parse(text, { maxAliasCount: 100 }) as Record<string, unknown> | null;
        jobs = Object.keys(doc ?? {}).filter(
          (k) => !k.startsWith('.') && !['stages', 'variables', 'workflow', 'include', 'default'].includes(k),
        );
      } catch {
        jobs = [];
      }
      note(
        'gitlab-ci',
        '.gitlab-ci.yml',
        `existing GitLab pipeline (jobs ${jobs.slice(0, 8).join(', ') || 'none found'}): evidence only; \`learn-stage\` adds the learn stage to it`,
      );
    }
  }

  const ciRefs: string[] = [];
  for (const file of ciTexts) {
    const text = await read(file); // cached: no second read
    if (text) ciRefs.push(...dockerfilesReferencedByCi(text, present));
  }
  const dockerfile = chooseDockerfile({
    files: files.filter(isDockerfile),
    ciRefs,
    composeRefs,
    hasLanguage: facts.language !== 'unknown',
  });
  if (dockerfile.path) {
    const text = await read(dockerfile.path);
    if (text !== null) {
      // the compose file's context, else the root (as the project's CI usually builds), else the Dockerfile's directory
      const dir = dockerfile.path.includes('/') ? dockerfile.path.slice(0, dockerfile.path.lastIndexOf('/')) : '';
      const contexts = [...new Set([composeContexts.get(dockerfile.path) ?? '', '', dir])];
      const tries = contexts.map((c) => ({ c, missing: missingBuildInputs(text, files, artifactPaths(facts), c) }));
      const fit = tries.find((t) => t.missing.length === 0);
      const missing = fit ? [] : tries[0].missing;
      if (fit) automation.dockerContext = fit.c || '.';
      if (missing.length > 0) {
        dockerfile.reasons.push(
          `${dockerfile.path} not built: it copies ${missing.join(', ')}, which no job builds (a release tool such as goreleaser provides it)`,
        );
        dockerfile.path = null;
      }
    }
  }

  const runner =
    TASK_RUNNERS.find((f) => present.has(f)) ??
    (facts.language === 'php' && present.has('composer.json') ? 'composer.json' : undefined);
  if (runner) {
    const text = await read(runner);
    if (text !== null) {
      const targets = parseTargets(runner, text);
      if (targets.length) {
        automation.targets[runner] = targets;
        const test = pickTarget(targets, 'test');
        const lint = pickTarget(targets, 'lint');
        note(
          'targets',
          runner,
          `targets ${targets.slice(0, 12).join(', ')}${test ? `; test target ${test}` : ''}${lint ? `; lint target ${lint}` : ''}`,
        );
      }
    }
  }

  for (const f of ['.tool-versions', '.mise.toml', 'mise.toml']) {
    if (!present.has(f)) continue;
    const text = await read(f);
    if (text === null) continue;
    Object.assign(automation.toolVersions, parseToolVersions(f, text));
    const tools = Object.entries(automation.toolVersions).map(([t, v]) => `${t} ${v}`);
    if (tools.length) note('tools', f, tools.join(', '));
    break;
  }
  return { automation, evidence, dockerfile };
}
