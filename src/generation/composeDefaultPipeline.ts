import { Document, isMap, isScalar } from 'yaml';
import type { Analysis } from './analyzeRepository.js';
import { docsFragment } from './docsSites.js';
import { addTestServices } from './evidence/testJobServices.js';
import { softenUnenforcedLint } from './evidence/unenforcedLint.js';
import { dockerFragment, helmFragment, terraformFragment } from './infraStacks.js';
import { nativeFragment } from './nativeStacks.js';
import { proposeDockerfile } from './proposeDockerfile.js';
import { testScript } from './testReports.js';
import { defaultVersion, jvmBuildImage, TOOL_IMAGES, TOOLS } from './versions.js';

export type Job = Record<string, unknown>;

/** A building block: hidden base job plus jobs, all valid GitLab CI on their own (see ci-components/). */
export interface Fragment {
  name: string;
  description: string;
  jobs: Record<string, Job>;
}

export interface ComposedPipeline {
  /** built-in template id, e.g. "node-express" */
  id: string;
  config: string;
  /** proposed when the pipeline builds an image and the repository has none */
  dockerfile: string | null;
  fragments: Fragment[];
}

export { TOOL_IMAGES };

export const STAGES = ['lint', 'test', 'build', 'scan', 'package', 'deploy'];

/**
 * GitLab's documented pattern: merge-request pipelines when an MR is open, branch pipelines
 * otherwise, never both for the same push; tags and schedules still run.
 */
export const WORKFLOW = {
  rules: [
    { if: '$CI_PIPELINE_SOURCE == "merge_request_event"' },
    { if: '$CI_COMMIT_BRANCH && $CI_OPEN_MERGE_REQUESTS', when: 'never' },
    { if: '$CI_COMMIT_BRANCH' },
    { if: '$CI_COMMIT_TAG' },
  ],
};

export const EXPIRE = '1 week';

export function scanRules(): Job[] {
  return [{ if: '$DEPENDENCY_SCANNING_DISABLED == "true"', when: 'never' }, { when: 'on_success' }];
}

function cacheOn(files: string[], paths: string[], key?: string): Job {
  return { key: key ? { files, prefix: key } : { files }, paths };
}

function v(a: Analysis, tool: string): string {
  return a.versions[tool] ?? defaultVersion(tool);
}

function goFragment(a: Analysis): Fragment {
  const base: Job = {
    image: `golang:${v(a, 'go')}`,
    interruptible: true,
    // the image's toolchain is the one go.mod asked for; never download another
    variables: { GOPATH: '$CI_PROJECT_DIR/.go', GOTOOLCHAIN: 'local' },
  };
  if (a.hasDependencies) {
    base.cache = cacheOn([a.lockfile ?? 'go.mod'], ['.go/pkg/mod/']);
    base.before_script = ['go mod download'];
  }
  const jobs: Record<string, Job> = {
    '.go': base,
    'go-vet': { extends: '.go', stage: 'lint', script: [a.lintCommand ?? 'go vet ./...'] },
    ...(a.testCommand ? { 'go-test': { extends: '.go', stage: 'test', ...testScript(a) } } : {}),
    'go-build': { extends: '.go', stage: 'build', script: [a.buildCommand ?? 'go build ./...'] },
  };
  // a nested module is outside the root module's `./...`: a test job each, when its directory changed
  for (const dir of a.goModules ?? []) {
    jobs[`go-test:${dir}`] = {
      extends: '.go',
      stage: 'test',
      before_script: [`cd ${dir}`, 'go mod download'],
      script: ['go test ./...'],
      rules: [{ changes: [`${dir}/**/*`] }],
      needs: [],
    };
  }
  if (a.hasDependencies) {
    jobs['go-vulncheck'] = {
      extends: '.go',
      stage: 'scan',
      allow_failure: true,
      script: [
        `go install golang.org/x/vuln/cmd/govulncheck@${TOOLS.govulncheck.version}`,
        '"$GOPATH/bin/govulncheck" ./...',
      ],
      rules: scanRules(),
    };
  }
  return { name: 'go', description: 'Go: vet, test with coverage, build, govulncheck', jobs };
}

function nodeInstall(a: Analysis): { script: string[]; cache: Job | null } {
  const pm = a.packageManager ?? 'npm';
  if (!a.lockfile && !a.hasDependencies) return { script: [], cache: null };
  const keyFiles = [a.lockfile ?? 'package.json'];
  switch (pm) {
    case 'pnpm':
      return {
        // installed with npm at the resolved version: corepack is gone from Node 25 on
        script: [
          `npm install --global pnpm@${a.versions.pnpm ?? TOOLS.pnpm.version}`,
          'pnpm config set store-dir .pnpm-store',
          'pnpm install --frozen-lockfile',
        ],
        cache: cacheOn(keyFiles, ['.pnpm-store/']),
      };
    case 'yarn':
      return {
        script: ['corepack enable', 'yarn install --immutable || yarn install --frozen-lockfile'],
        cache: cacheOn(keyFiles, ['.yarn/cache/', 'node_modules/']),
      };
    case 'bun':
      return { script: ['bun install --frozen-lockfile'], cache: cacheOn(keyFiles, ['node_modules/']) };
    default:
      return a.lockfile
        ? {
            script: ['npm ci --cache .npm --prefer-offline --no-audit --no-fund'],
            cache: cacheOn(keyFiles, ['.npm/']),
          }
        : {
            script: ['npm install --cache .npm --prefer-offline --no-audit --no-fund'],
            cache: cacheOn(keyFiles, ['.npm/']),
          };
  }
}

function nodeFragment(a: Analysis): Fragment {
  const image = a.packageManager === 'bun' ? `oven/bun:${a.versions.bun ?? TOOLS.bun.version}` : `node:${v(a, 'node')}`;
  const install = nodeInstall(a);
  const base: Job = { image, interruptible: true };
  if (install.cache) base.cache = install.cache;
  if (install.script.length > 0) base.before_script = install.script;
  const jobs: Record<string, Job> = { '.node': base };
  if (a.lintCommand) jobs['node-lint'] = { extends: '.node', stage: 'lint', script: [a.lintCommand] };
  if (a.testCommand) jobs['node-test'] = { extends: '.node', stage: 'test', ...testScript(a) };
  if (a.buildCommand) {
    const out = a.framework === 'nextjs' ? '.next/' : a.framework === 'nuxt' ? '.output/' : 'dist/';
    jobs['node-build'] = {
      extends: '.node',
      stage: 'build',
      script: [a.buildCommand],
      artifacts: { expire_in: EXPIRE, paths: [out] },
    };
  }
  if (a.lockfile && (a.packageManager ?? 'npm') === 'npm') {
    jobs['npm-audit'] = {
      extends: '.node',
      stage: 'scan',
      allow_failure: true,
      before_script: [],
      script: ['npm audit --omit=dev --audit-level=high'],
      rules: scanRules(),
    };
  }
  return { name: 'node', description: 'Node.js: install from the lockfile, lint, test, build, npm audit', jobs };
}

function pythonFragment(a: Analysis): Fragment {
  const pm = a.packageManager ?? 'pip';
  const base: Job = {
    image: `python:${v(a, 'python')}-slim`,
    interruptible: true,
    variables: { PIP_CACHE_DIR: '$CI_PROJECT_DIR/.cache/pip', PIP_DISABLE_PIP_VERSION_CHECK: '1' },
  };
  let install: string[] = [];
  if (a.hasDependencies || pm !== 'pip') {
    switch (pm) {
      case 'poetry':
        install = [
          `pip install poetry==${a.versions.poetry ?? TOOLS.poetry.version}`,
          'poetry config virtualenvs.in-project true',
          a.installsRoot ? 'poetry install --no-interaction' : 'poetry install --no-interaction --no-root',
        ];
        break;
      case 'uv':
        install = [
          `pip install uv==${a.versions.uv ?? TOOLS.uv.version}`,
          // a workspace's root sync installs the root package only; members hold pytest and the app
          `${a.lockfile === 'uv.lock' ? 'uv sync --frozen' : 'uv sync'}${a.uvWorkspace ? ' --all-packages' : ''}`,
        ];
        break;
      case 'pipenv':
        install = [
          `pip install pipenv==${TOOLS.pipenv.version}`,
          'PIPENV_VENV_IN_PROJECT=1 pipenv install --dev --deploy',
        ];
        break;
      default:
        install = [
          'python -m venv .venv',
          '. .venv/bin/activate',
          a.lockfile === 'requirements.txt' ? 'pip install -r requirements.txt' : 'pip install -e .',
        ];
    }
    base.cache = cacheOn([a.lockfile ?? 'pyproject.toml'], ['.cache/pip/', '.venv/']);
    base.before_script = install;
  }
  const jobs: Record<string, Job> = { '.python': base };
  if (a.lintCommand) jobs['python-lint'] = { extends: '.python', stage: 'lint', script: [a.lintCommand] };
  if (a.testCommand) jobs['python-test'] = { extends: '.python', stage: 'test', ...testScript(a) };
  if (a.hasDependencies && pm === 'pip' && a.lockfile === 'requirements.txt') {
    jobs['pip-audit'] = {
      extends: '.python',
      stage: 'scan',
      allow_failure: true,
      before_script: [],
      script: [`pip install pip-audit==${TOOLS.pipAudit.version}`, 'pip-audit -r requirements.txt'],
      rules: scanRules(),
    };
  }
  return { name: 'python', description: `Python (${pm}): install, lint, test, pip-audit`, jobs };
}

function jvmFragment(a: Analysis): Fragment {
  const java = v(a, 'java');
  const maven = a.buildTool === 'maven';
  const name = a.language === 'kotlin' ? 'kotlin' : 'java';
  const hidden = `.${name}`;
  const base: Job = maven
    ? {
        image: a.wrapper ? `eclipse-temurin:${java}-jdk` : jvmBuildImage(true, java),
        interruptible: true,
        variables: { MAVEN_OPTS: '-Dmaven.repo.local=$CI_PROJECT_DIR/.m2/repository' },
        cache: cacheOn(['pom.xml'], ['.m2/repository/']),
      }
    : {
        image: a.wrapper ? `eclipse-temurin:${java}-jdk` : jvmBuildImage(false, java),
        interruptible: true,
        variables: { GRADLE_USER_HOME: '$CI_PROJECT_DIR/.gradle-home' },
        cache: cacheOn([a.lockfile ?? 'build.gradle'], ['.gradle-home/caches/', '.gradle-home/wrapper/']),
      };
  const out = maven ? 'target/*.jar' : 'build/libs/*.jar';
  return {
    name,
    description: `${name === 'kotlin' ? 'Kotlin' : 'Java'} (${a.buildTool}): test with JUnit reports, package`,
    jobs: {
      [hidden]: base,
      ...(a.testCommand ? { [`${name}-test`]: { extends: hidden, stage: 'test', ...testScript(a) } } : {}),
      [`${name}-build`]: {
        extends: hidden,
        stage: 'build',
        script: [a.buildCommand ?? 'mvn --batch-mode package -DskipTests'],
        artifacts: { expire_in: EXPIRE, paths: [out] },
      },
    },
  };
}

function rustFragment(a: Analysis): Fragment {
  const base: Job = {
    image: `rust:${v(a, 'rust')}`,
    interruptible: true,
    variables: { CARGO_HOME: '$CI_PROJECT_DIR/.cargo' },
    cache: cacheOn([a.lockfile ?? 'Cargo.toml'], ['.cargo/registry/', '.cargo/git/', 'target/']),
  };
  return {
    name: 'rust',
    description: 'Rust: fmt, clippy, test, release build',
    jobs: {
      '.rust': base,
      'rust-lint': {
        extends: '.rust',
        stage: 'lint',
        script: ['rustup component add rustfmt clippy', 'cargo fmt --all -- --check', a.lintCommand ?? 'cargo clippy'],
      },
      ...(a.testCommand ? { 'rust-test': { extends: '.rust', stage: 'test', ...testScript(a) } } : {}),
      'rust-build': {
        extends: '.rust',
        stage: 'build',
        script: [a.buildCommand ?? 'cargo build --release'],
        artifacts: { expire_in: EXPIRE, paths: ['target/release/'], exclude: ['target/release/**/*.d'] },
      },
    },
  };
}

function rubyFragment(a: Analysis): Fragment {
  const base: Job = {
    image: `ruby:${v(a, 'ruby')}`,
    interruptible: true,
    variables: { BUNDLE_PATH: 'vendor/bundle', BUNDLE_JOBS: '4' },
    cache: cacheOn([a.lockfile ?? 'Gemfile'], ['vendor/bundle/']),
    before_script: ['bundle install'],
  };
  const jobs: Record<string, Job> = { '.ruby': base };
  if (a.lintCommand) jobs['ruby-lint'] = { extends: '.ruby', stage: 'lint', script: [a.lintCommand] };
  if (a.testCommand)
    jobs['ruby-test'] = {
      extends: '.ruby',
      stage: 'test',
      ...(a.framework === 'rails' ? { variables: { RAILS_ENV: 'test' } } : {}),
      ...testScript(a),
    };
  if (a.lockfile === 'Gemfile.lock') {
    jobs['bundle-audit'] = {
      extends: '.ruby',
      stage: 'scan',
      allow_failure: true,
      before_script: [],
      script: [`gem install bundler-audit -v ${TOOLS.bundlerAudit.version}`, 'bundle-audit check --update'],
      rules: scanRules(),
    };
  }
  return { name: 'ruby', description: 'Ruby (bundler): lint, test, bundler-audit', jobs };
}

function phpFragment(a: Analysis): Fragment {
  const base: Job = {
    image: `php:${v(a, 'php')}-cli`,
    interruptible: true,
    variables: { COMPOSER_CACHE_DIR: '$CI_PROJECT_DIR/.composer-cache' },
    cache: cacheOn([a.lockfile ?? 'composer.json'], ['.composer-cache/', 'vendor/']),
    before_script: [
      'apt-get update -qq && apt-get install -y -qq git unzip libzip-dev > /dev/null',
      'docker-php-ext-install zip > /dev/null',
      `curl -sS https://getcomposer.org/installer | php -- --install-dir=/usr/local/bin --filename=composer --version=${TOOLS.composer.version}`,
      'composer install --no-interaction --prefer-dist --no-progress',
    ],
  };
  const jobs: Record<string, Job> = { '.php': base };
  if (a.lintCommand) jobs['php-lint'] = { extends: '.php', stage: 'lint', script: [a.lintCommand] };
  if (a.testCommand) {
    const t = testScript(a);
    jobs['php-test'] = {
      extends: '.php',
      stage: 'test',
      ...t,
      ...(a.framework === 'laravel'
        ? { script: ['cp -n .env.example .env || true', 'php artisan key:generate', ...t.script] }
        : {}),
    };
  }
  if (a.lockfile === 'composer.lock') {
    jobs['composer-audit'] = {
      extends: '.php',
      stage: 'scan',
      allow_failure: true,
      script: ['composer audit'],
      rules: scanRules(),
    };
  }
  return { name: 'php', description: 'PHP (composer): install, lint, test, composer audit', jobs };
}

function dotnetFragment(a: Analysis): Fragment {
  const base: Job = {
    image: `mcr.microsoft.com/dotnet/sdk:${v(a, 'dotnet')}`,
    interruptible: true,
    variables: { NUGET_PACKAGES: '$CI_PROJECT_DIR/.nuget/packages', DOTNET_CLI_TELEMETRY_OPTOUT: '1' },
    cache: cacheOn([a.lockfile ?? '*.csproj'], ['.nuget/packages/']),
    before_script: ['dotnet restore'],
  };
  return {
    name: 'dotnet',
    description: '.NET: format check, test with JUnit-compatible results, build',
    jobs: {
      '.dotnet': base,
      'dotnet-format': {
        extends: '.dotnet',
        stage: 'lint',
        script: [a.lintCommand ?? 'dotnet format --verify-no-changes'],
      },
      ...(a.testCommand ? { 'dotnet-test': { extends: '.dotnet', stage: 'test', ...testScript(a) } } : {}),
      'dotnet-build': {
        extends: '.dotnet',
        stage: 'build',
        script: [`${a.buildCommand ?? 'dotnet build --configuration Release'} --no-restore`],
      },
      ...(a.hasDependencies
        ? {
            'dotnet-vulnerable': {
              extends: '.dotnet',
              stage: 'scan',
              allow_failure: true,
              script: ['dotnet list package --vulnerable --include-transitive'],
              rules: scanRules(),
            },
          }
        : {}),
    },
  };
}

/** No recognised stack: the test command found (e.g. `make test`), or nothing at all (no proposal is made then). */
function genericFragment(a: Analysis): Fragment {
  return {
    name: 'generic',
    description: 'No recognised stack: the test command found',
    jobs: a.testCommand ? { test: { stage: 'test', interruptible: true, ...testScript(a) } } : {},
  };
}

/** `context` and `imageName` differ from the defaults for a monorepo part (its directory, `$CI_REGISTRY_IMAGE/<part>`). */
export function containerFragment(
  dockerfile: string,
  context = '.',
  imageName = '$CI_REGISTRY_IMAGE',
  jobName = 'container-image',
): Fragment {
  return {
    name: 'container-build',
    description: 'Builds and pushes the image to the project registry with Buildah (no privileged Docker)',
    jobs: {
      [jobName]: {
        stage: 'package',
        image: TOOL_IMAGES.buildah,
        // pushing an image must not be cancelled halfway
        interruptible: false,
        variables: { STORAGE_DRIVER: 'vfs', BUILDAH_FORMAT: 'docker', BUILDAH_ISOLATION: 'chroot' },
        script: [
          'echo "$CI_REGISTRY_PASSWORD" | buildah login -u "$CI_REGISTRY_USER" --password-stdin "$CI_REGISTRY"',
          `buildah build --file ${dockerfile} --tag "${imageName}:$CI_COMMIT_SHORT_SHA" ${context}`,
          `buildah push "${imageName}:$CI_COMMIT_SHORT_SHA"`,
          `if [ -n "$CI_COMMIT_TAG" ]; then buildah tag "${imageName}:$CI_COMMIT_SHORT_SHA" "${imageName}:$CI_COMMIT_TAG" && buildah push "${imageName}:$CI_COMMIT_TAG"; fi`,
        ],
        rules: [
          { if: '$CONTAINER_BUILD_DISABLED == "true"', when: 'never' },
          { if: '$CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH' },
          { if: '$CI_COMMIT_TAG' },
        ],
      },
    },
  };
}

function prefixPath(dir: string, p: unknown): unknown {
  return typeof p === 'string' && !p.startsWith('$') ? `${dir}/${p}` : p;
}

/**
 * Moves a stack fragment into a monorepo part's directory: job names get the part as prefix
 * (`web:node-test`), every job starts with `cd <dir>`, and cache keys, cache paths, artifacts and
 * reports point inside the directory.
 */
export function scopeFragment(f: Fragment, dir: string): Fragment {
  const slug = dir
    .replace(/[^A-Za-z0-9]+/g, '-')
    .replace(/^-|-$/g, '')
    .toLowerCase();
  const rename = (n: string) => (n.startsWith('.') ? `.${slug}:${n.slice(1)}` : `${slug}:${n}`);
  const jobs: Record<string, Job> = {};
  for (const [name, original] of Object.entries(f.jobs)) {
    const job: Job = structuredClone(original);
    if (typeof job.extends === 'string') job.extends = rename(job.extends);
    const hidden = name.startsWith('.');
    if (hidden || Array.isArray(job.before_script)) {
      job.before_script = [`cd ${dir}`, ...((job.before_script as string[] | undefined) ?? [])];
    } else if (job.extends === undefined && Array.isArray(job.script)) {
      job.script = [`cd ${dir}`, ...(job.script as string[])];
    }
    const cache = job.cache as { key?: { files?: string[] }; paths?: string[] } | undefined;
    if (cache?.key?.files) cache.key.files = cache.key.files.map((p) => prefixPath(dir, p) as string);
    if (cache?.paths) cache.paths = cache.paths.map((p) => prefixPath(dir, p) as string);
    const artifacts = job.artifacts as
      | { paths?: string[]; exclude?: string[]; reports?: Record<string, unknown> }
      | undefined;
    if (artifacts?.paths) artifacts.paths = artifacts.paths.map((p) => prefixPath(dir, p) as string);
    if (artifacts?.exclude) artifacts.exclude = artifacts.exclude.map((p) => prefixPath(dir, p) as string);
    if (artifacts?.reports)
      for (const k of Object.keys(artifacts.reports)) artifacts.reports[k] = prefixPath(dir, artifacts.reports[k]);
    const vars = job.variables as Record<string, string> | undefined;
    if (vars)
      for (const k of Object.keys(vars)) vars[k] = vars[k].replace('$CI_PROJECT_DIR/', `$CI_PROJECT_DIR/${dir}/`);
    jobs[rename(name)] = job;
  }
  return { name: `${dir}:${f.name}`, description: `${f.description} (in ${dir}/)`, jobs };
}

/**
 * A part of a repository without a root manifest runs only when its directory changed
 * (`rules: changes:`; GitLab counts every path as changed on a new branch or a tag), and its jobs
 * `needs:` only the part's earlier jobs, so one part's pipeline neither waits for nor runs on
 * another's. Needs are optional: a scan job a variable turns off leaves no dangling need.
 */
export function toChanges(f: Fragment, dir: string): Fragment {
  const changes = [`${dir}/**/*`];
  const visible = Object.entries(f.jobs).filter(([n]) => !n.startsWith('.'));
  const stageOf = (j: Job) => STAGES.indexOf(typeof j.stage === 'string' ? j.stage : 'test');
  for (const [, job] of visible) {
    const rules = job.rules as Array<Record<string, unknown>> | undefined;
    if (Array.isArray(rules)) job.rules = rules.map((r) => (r.when === 'never' || r.changes ? r : { ...r, changes }));
    else job.rules = [{ changes }];
    if (job.needs === undefined)
      job.needs = visible
        .filter(([, other]) => other !== job && stageOf(other) >= 0 && stageOf(other) < stageOf(job))
        .map(([name]) => ({ job: name, optional: true }));
  }
  return f;
}

export function stackFragment(a: Analysis): Fragment {
  switch (a.language) {
    case 'go':
      return goFragment(a);
    case 'node':
      return nodeFragment(a);
    case 'python':
      return pythonFragment(a);
    case 'java':
    case 'kotlin':
      return jvmFragment(a);
    case 'rust':
      return rustFragment(a);
    case 'ruby':
      return rubyFragment(a);
    case 'php':
      return phpFragment(a);
    case 'dotnet':
      return dotnetFragment(a);
    case 'cpp':
    case 'c':
      return nativeFragment(a);
    case 'terraform':
      return terraformFragment(a);
    case 'helm':
      return helmFragment(a);
    case 'docker':
      return dockerFragment(a);
    case 'docs':
      return docsFragment(a);
    default:
      return genericFragment(a);
  }
}

export function templateId(language: string, framework: string): string {
  return `${language}-${framework}`;
}

function summary(a: Analysis): string {
  const facts = [`language ${a.language}`, `framework ${a.framework}`];
  for (const [tool, ver] of Object.entries(a.versions)) facts.push(`${tool} ${ver}`);
  if (a.packageManager) facts.push(`package manager ${a.packageManager}`);
  return facts.join(', ');
}

/** The built-in default for the detected facts: workflow, stages, the stack's fragment and, for services, an image build. */
export function composeDefaultPipeline(a: Analysis): ComposedPipeline {
  const fragments: Fragment[] = [];
  let dockerfile: string | null = null;
  if (a.parts.length > 0) {
    for (const part of a.parts) {
      fragments.push(toChanges(scopeFragment(stackFragment(part), part.root), part.root));
      // no Dockerfile is proposed for a part: one proposal per repository, at its root
      if (part.dockerfile) {
        const slug = part.root.replace(/[^A-Za-z0-9]+/g, '-').toLowerCase();
        fragments.push(
          containerFragment(part.dockerfile, part.root, `$CI_REGISTRY_IMAGE/${slug}`, `${slug}:container-image`),
        );
      }
    }
  } else {
    fragments.push(stackFragment(a));
  }
  if (a.parts.length === 0 && a.service) {
    if (!a.dockerfile) dockerfile = proposeDockerfile(a);
    if (a.dockerfile || dockerfile)
      fragments.push(containerFragment(a.dockerfile ?? 'Dockerfile', a.automation?.dockerContext ?? '.'));
  }
  const used = new Set<string>();
  const jobs: Record<string, Job> = {};
  for (const f of fragments) {
    for (const [name, job] of Object.entries(f.jobs)) {
      jobs[name] = job;
      if (typeof job.stage === 'string') used.add(job.stage);
    }
  }
  addTestServices(jobs, a.automation);
  softenUnenforcedLint(jobs, a.automation);
  const doc = new Document({
    workflow: WORKFLOW,
    stages: STAGES.filter((s) => used.has(s)),
    ...jobs,
  });
  if (isMap(doc.contents)) {
    for (const [i, pair] of doc.contents.items.entries()) if (i > 0 && isScalar(pair.key)) pair.key.spaceBefore = true;
  }
  doc.commentBefore = ` Generated by pipeline-learner (built-in default ${templateId(a.language, a.framework)}).\n Detected: ${summary(a)}.\n Set DEPENDENCY_SCANNING_DISABLED or CONTAINER_BUILD_DISABLED to "true" to skip those jobs.`;
  return {
    id: templateId(a.language, a.framework),
    config: doc.toString({ lineWidth: 0 }),
    dockerfile,
    fragments,
  };
}
