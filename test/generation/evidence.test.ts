import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { analyzeRepository, MAX_READS } from '../../src/generation/analyzeRepository.js';
import { composeDefaultPipeline } from '../../src/generation/composeDefaultPipeline.js';
import { collectAutomation, workflowOrder } from '../../src/generation/evidence/collectAutomation.js';
import {
  chooseDockerfile,
  dockerfilesReferencedByCi,
  missingBuildInputs,
} from '../../src/generation/evidence/dockerfileChoice.js';
import { parseWorkflow } from '../../src/generation/evidence/githubActions.js';
import {
  parseCompose,
  parseDatabaseSettings,
  parseTargets,
  parseToolVersions,
} from '../../src/generation/evidence/projectFiles.js';
import { gitlabServices, mergeNeeds, serviceKindOfImage } from '../../src/generation/evidence/services.js';
import { imageTag, translateWorkflows } from '../../src/generation/evidence/translateWorkflow.js';
import { isCargoWorkspace, uvWorkspaceMembers } from '../../src/generation/evidence/workspaces.js';
import { generatePipeline } from '../../src/generation/generatePipeline.js';
import { seedRuleChooser } from '../../src/generation/seedRuleChooser.js';
import { validatePipeline } from '../../src/generation/validatePipeline.js';
import { GitLabRepoReader } from '../../src/repo/GitLabRepoReader.js';
import { memoryGitLab } from './support.js';

// biome-ignore lint/suspicious/noExplicitAny: parsed YAML, narrowed by the assertions
type Js = Record<string, any>;

const facts = { language: 'python', versions: {} as Record<string, string> };

function translate(yaml: string, f = facts) {
  const wf = parseWorkflow('.github/workflows/ci.yml', yaml);
  expect(wf).not.toBeNull();
  return translateWorkflows([wf!], f);
}

describe('GitHub Actions → translated candidate', () => {
  it('keeps the commands, the newest matrix version as the image, services with variables, hosts rewritten', () => {
    const t = translate(`
on: [push]
jobs:
  tests:
    runs-on: \${{ matrix.os }}
    strategy:
      matrix:
        os: [macos-latest, ubuntu-22.04]
        python: ["3.10", "3.12", "3.9"]
    services:
      db:
        image: postgres:15
        env: { POSTGRES_PASSWORD: pw }
        ports: ["5433:5432"]
      cache:
        image: redis:7
    env:
      DATABASE_URL: postgres://postgres:pw@localhost:5432/app
      DB_HOST: 127.0.0.1
      REDIS_URL: redis://localhost:6379
      TOKEN: \${{ secrets.API_TOKEN }}
    steps:
      - uses: actions/checkout@v4
      - uses: actions/setup-python@v5
        with: { python-version: "\${{ matrix.python }}" }
      - uses: actions/cache@v4
        with: { path: ~/.cache, key: "\${{ hashFiles('x') }}" }
      - run: sudo apt-get install -y libpq-dev
      - run: pytest
        working-directory: server
`);
    expect(t.config).not.toBeNull();
    const doc = parse(t.config!) as Js;
    const job = doc.tests;
    expect(job.image).toBe('python:3.12');
    expect(job.services).toEqual([
      { name: 'postgres:15', alias: 'db', variables: { POSTGRES_PASSWORD: 'pw' } },
      { name: 'redis:7', alias: 'cache' },
    ]);
    expect(job.variables).toEqual({
      DATABASE_URL: 'postgres://postgres:pw@db:5432/app',
      DB_HOST: 'db',
      REDIS_URL: 'redis://cache:6379',
      TOKEN: '$API_TOKEN',
    });
    expect(job.script[0]).toBe('apt-get install -y libpq-dev');
    expect(job.script[1]).toBe('cd "$CI_PROJECT_DIR/server"\npytest\ncd "$CI_PROJECT_DIR"');
    expect(doc.stages).toEqual(['test']);
    expect(validatePipeline(t.config!).ok).toBe(true);
  });

  it('keeps matrix versions as written (3.10 is not 3.1) and adds matching include keys', () => {
    const t = translate(`
on: push
jobs:
  test:
    runs-on: ubuntu-latest
    strategy:
      matrix:
        python: [3.9, 3.10]
        include:
          - python: 3.10
            extras: all
    steps:
      - uses: actions/setup-python@v5
        with:
          python-version: \${{ matrix.python }}
      - run: pip install .[\${{ matrix.extras }}] && pytest
        env:
          TOX_ENV: \${{ matrix.tox || format('py{0}', matrix.python) }}
`);
    const job = (parse(t.config!) as Js).test;
    expect(job.image).toBe('python:3.10');
    expect(job.script).toEqual(['pip install .[all] && pytest']);
    expect(job.variables).toEqual({ TOX_ENV: 'py3.10' });
  });

  it('a workflow using another action yields no candidate, and says why', () => {
    const t = translate(`
on: push
jobs:
  test:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - run: npm test
      - uses: codecov/codecov-action@v5
`);
    expect(t.config).toBeNull();
    expect(t.notes.join('\n')).toMatch(/not translated, it uses codecov\/codecov-action@v5/);
  });

  it('a reusable workflow or a local action is not translated either', () => {
    expect(
      translate(`
on: push
jobs:
  test:
    runs-on: ubuntu-latest
    steps:
      - uses: ./.github/actions/setup
      - run: go test ./...
`).config,
    ).toBeNull();
  });

  it('leaves out shipping and Windows-only jobs, keeps needs between translated jobs', () => {
    const t = translate(
      `
on: push
jobs:
  lint:
    runs-on: ubuntu-latest
    steps:
      - run: go vet ./...
  test:
    needs: [lint]
    runs-on: ubuntu-latest
    steps:
      - uses: actions/setup-go@v5
        with: { go-version-file: go.mod }
      - run: go test -race ./...
  win:
    runs-on: windows-latest
    steps:
      - run: go test ./...
  release:
    needs: test
    runs-on: ubuntu-latest
    steps:
      - uses: goreleaser/goreleaser-action@v6
`,
      { language: 'go', versions: { go: '1.23' } },
    );
    const doc = parse(t.config!) as Js;
    expect(Object.keys(doc).filter((k) => !['workflow', 'stages'].includes(k))).toEqual(['lint', 'test']);
    expect(doc.test.image).toBe('golang:1.23');
    expect(doc.test.needs).toEqual(['lint']);
    expect(validatePipeline(t.config!).ok).toBe(true);
  });

  it('an expression GitLab cannot express makes the job untranslatable', () => {
    const t = translate(`
on: push
jobs:
  test:
    runs-on: ubuntu-latest
    steps:
      - run: pytest --shard \${{ steps.plan.outputs.shard }}
`);
    expect(t.config).toBeNull();
    expect(t.notes[0]).toMatch(/steps\.plan\.outputs\.shard/);
  });

  it('maps setup actions to official images', () => {
    const java = translate(
      `
on: push
jobs:
  build:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/setup-java@v4
        with: { distribution: temurin, java-version: "17" }
      - run: mvn -B verify
`,
      { language: 'java', versions: {} },
    );
    expect((parse(java.config!) as Js).build.image).toBe('maven:3-eclipse-temurin-17');
    expect(imageTag('3.x')).toBe('3');
    expect(imageTag('1.22.x')).toBe('1.22');
    expect(imageTag('lts/*')).toBe('lts');
    expect(imageTag('>=3.9')).toBe('3.9');
  });

  it('puts testing workflows first when choosing what to read', () => {
    expect(
      workflowOrder([
        '.github/workflows/release.yml',
        '.github/workflows/codeql.yml',
        '.github/workflows/misc.yml',
        '.github/workflows/ci.yml',
        '.github/workflows/run-tests.yml',
        '.github/workflows/lint.yml',
      ]),
    ).toEqual([
      '.github/workflows/run-tests.yml',
      '.github/workflows/ci.yml',
      '.github/workflows/lint.yml',
      '.github/workflows/misc.yml',
      '.github/workflows/codeql.yml',
      '.github/workflows/release.yml',
    ]);
  });
});

describe('services the tests need', () => {
  it('recognises official and common images', () => {
    expect(serviceKindOfImage('postgres:16-alpine')).toBe('postgres');
    expect(serviceKindOfImage('postgis/postgis:16-3.4')).toBe('postgres');
    expect(serviceKindOfImage('bitnami/redis:7.2')).toBe('redis');
    expect(serviceKindOfImage('mariadb:11')).toBe('mariadb');
    expect(serviceKindOfImage('docker.elastic.co/elasticsearch/elasticsearch:8.15.0')).toBe('elasticsearch');
    expect(serviceKindOfImage('axllent/mailpit')).toBeNull();
  });

  it('points every setting the project reads at the service', () => {
    const { services, variables } = gitlabServices(
      [
        { kind: 'postgres', version: '16', from: 'compose.yml' },
        { kind: 'redis', version: null, from: 'compose.yml' },
      ],
      {
        SQLALCHEMY_DATABASE_URI: 'postgresql+asyncpg://u:p@localhost/app',
        POSTGRES_SERVER: '',
        DB_PORT: '',
        REDIS_HOST: '',
        CELERY_BROKER_URL: 'redis://localhost:6379/1',
      },
    );
    expect(services[0]).toMatchObject({ name: 'postgres:16', alias: 'postgres' });
    expect(services[1].name).toMatch(/^redis:\d/);
    expect(variables).toMatchObject({
      DATABASE_URL: 'postgres://postgres:postgres@postgres:5432/test',
      SQLALCHEMY_DATABASE_URI: 'postgresql+asyncpg://postgres:postgres@postgres:5432/test',
      POSTGRES_SERVER: 'postgres',
      DB_PORT: '5432',
      REDIS_HOST: 'redis',
      REDIS_URL: 'redis://redis:6379/0',
      CELERY_BROKER_URL: 'redis://redis:6379/0',
    });
  });

  it('reads databases from Django, Rails, Laravel and SQLAlchemy settings', () => {
    const django = parseDatabaseSettings(
      'app/settings.py',
      `DATABASES = {\n  "default": {\n    "ENGINE": "django.db.backends.mysql",\n    "HOST": env("DB_HOST"),\n  }\n}\n`,
    );
    expect(django.needs.map((n) => n.kind)).toEqual(['mysql']);
    expect(Object.keys(django.env)).toEqual(['DB_HOST']);
    const sqlite = parseDatabaseSettings(
      'app/settings.py',
      `DATABASES = {\n  "default": {\n    "ENGINE": "django.db.backends.sqlite3",\n  }\n}\n`,
    );
    expect(sqlite.needs).toEqual([]);
    const rails = parseDatabaseSettings('config/database.yml', 'default: &default\n  adapter: trilogy\n');
    expect(rails.needs.map((n) => n.kind)).toEqual(['mysql']);
    const laravel = parseDatabaseSettings('.env.example', 'APP_KEY=\nDB_CONNECTION=pgsql\nREDIS_HOST=127.0.0.1\n');
    // REDIS_HOST alone is Laravel's template, not a use of Redis
    expect(laravel.needs.map((n) => n.kind)).toEqual(['postgres']);
    const withRedis = parseDatabaseSettings('.env.example', 'DB_CONNECTION=sqlite\nCACHE_STORE=redis\n');
    expect(withRedis.needs.map((n) => n.kind)).toEqual(['redis']);
    const sqlalchemy = parseDatabaseSettings(
      'app/db.py',
      'engine = create_engine("postgresql+psycopg://x@localhost/db")',
    );
    expect(sqlalchemy.needs.map((n) => n.kind)).toEqual(['postgres']);
  });

  it('one need per kind; MariaDB wins over MySQL', () => {
    expect(
      mergeNeeds([
        { kind: 'mysql', version: null, from: 'a' },
        { kind: 'mariadb', version: null, from: 'b' },
        { kind: 'redis', version: null, from: 'a' },
        { kind: 'redis', version: '7', from: 'b' },
      ]),
    ).toEqual([
      { kind: 'mariadb', version: null, from: 'b' },
      { kind: 'redis', version: '7', from: 'a' },
    ]);
  });

  it("the maintainers' CI decides: a testing job without services means the tests need none", async () => {
    const files: Record<string, string> = {
      'requirements.txt': 'flask==3.1\npytest==8.3\n',
      '.github/workflows/ci.yml':
        'on: push\njobs:\n  t:\n    runs-on: ubuntu-latest\n    steps:\n      - run: pytest\n',
      'docker-compose.yml': 'services:\n  db:\n    image: postgres:16\n',
    };
    const r = await collectAutomation(Object.keys(files), async (p) => files[p] ?? null, {
      language: 'python',
      framework: 'flask',
      versions: {},
      packageManager: 'pip',
      testCommand: 'pytest',
      buildTool: 'pip',
      dockerfile: null,
    });
    expect(r.automation.services).toEqual([]);
    expect(r.automation.translated?.jobs).toEqual(['t']);
  });
});

describe('task runners, compose and tool versions', () => {
  it('lists targets of Makefile, justfile, Taskfile, tox, nox, Rakefile and composer scripts', () => {
    expect(parseTargets('Makefile', '.PHONY: test\nVAR := 1\ntest: deps\n\tgo test\nlint:\n\tx\n')).toEqual([
      'test',
      'lint',
    ]);
    expect(parseTargets('justfile', 'test *args:\n  cargo test\n@lint:\n  cargo clippy\n')).toEqual(['test', 'lint']);
    expect(parseTargets('Taskfile.yml', 'version: "3"\ntasks:\n  test:\n    cmds: [go test]\n')).toEqual(['test']);
    expect(parseTargets('tox.ini', '[tox]\nenvlist = py311, lint\n[testenv:docs]\n')).toEqual([
      'py311',
      'lint',
      'docs',
    ]);
    expect(parseTargets('noxfile.py', '@nox.session(python=["3.12"])\ndef tests(session):\n    pass\n')).toEqual([
      'tests',
    ]);
    expect(parseTargets('Rakefile', 'require "rspec/core/rake_task"\nRSpec::Core::RakeTask.new(:spec)\n')).toEqual([
      'spec',
    ]);
    expect(parseTargets('composer.json', '{"scripts":{"test":"phpunit","cs":"phpcs"}}')).toEqual(['test', 'cs']);
  });

  it('reads compose services and the Dockerfiles they build', () => {
    expect(
      parseCompose(
        'deploy/compose.yml',
        'services:\n  api:\n    build:\n      context: ../api\n      dockerfile: Dockerfile.prod\n  db:\n    image: postgres:16\n  web:\n    build: ../web\n',
      ),
    ).toEqual([
      { name: 'api', image: null, dockerfile: 'api/Dockerfile.prod', context: 'api' },
      { name: 'db', image: 'postgres:16', dockerfile: null, context: null },
      { name: 'web', image: null, dockerfile: 'web/Dockerfile', context: 'web' },
    ]);
  });

  it('reads .tool-versions and .mise.toml', () => {
    expect(parseToolVersions('.tool-versions', 'nodejs 22.11.0\npython 3.12.7 # comment\n')).toEqual({
      nodejs: '22.11.0',
      python: '3.12.7',
    });
    expect(
      parseToolVersions('.mise.toml', '[env]\nX = "1"\n[tools]\nnode = "22"\npython = ["3.12", "3.11"]\n'),
    ).toEqual({
      node: '22',
      python: '3.12',
    });
  });
});

describe('workspaces', () => {
  it('resolves uv workspace members against the listing', () => {
    const files = [
      'pyproject.toml',
      'packages/a/pyproject.toml',
      'packages/b/pyproject.toml',
      'backend/pyproject.toml',
    ];
    expect(
      uvWorkspaceMembers('[tool.uv.workspace]\nmembers = ["packages/*", "backend"]\nexclude = ["packages/b"]\n', files),
    ).toEqual(['backend', 'packages/a']);
    expect(uvWorkspaceMembers('[project]\nname = "x"\n', files)).toEqual([]);
    expect(isCargoWorkspace('[workspace]\nmembers = ["a"]\n')).toBe(true);
    expect(isCargoWorkspace('[package]\nname = "a"\n[workspace.dependencies]\n')).toBe(false);
  });
});

describe('which Dockerfile is the application', () => {
  const files = [
    'Dockerfile',
    '.devcontainer/Dockerfile',
    'docs/Dockerfile',
    'images/builder/Dockerfile',
    'Dockerfile.dev',
    'api/Dockerfile',
    'api/main.go',
  ];
  it('never a devcontainer, docs, test or build-machine image, even when referenced', () => {
    const c = chooseDockerfile({
      files,
      ciRefs: ['.devcontainer/Dockerfile'],
      composeRefs: ['Dockerfile.dev'],
      hasLanguage: true,
    });
    expect(c.path).toBe('Dockerfile');
    expect(c.reasons.join('\n')).toMatch(/\.devcontainer\/Dockerfile not built/);
    expect(c.reasons.join('\n')).toMatch(/Dockerfile\.dev not built/);
  });

  it('builds with the context the Dockerfile needs: the compose context, the root, or its directory', async () => {
    const run = async (files: Record<string, string>) => {
      const { gitlab } = memoryGitLab(files);
      const a = await analyzeRepository(new GitLabRepoReader(gitlab, 'acme/app', 'main'));
      const doc = parse(composeDefaultPipeline(a).config) as Js;
      return { a, build: (doc['container-image']?.script ?? []).join('\n') as string };
    };
    const base = { 'go.mod': 'module x\n\ngo 1.23\n', 'main.go': 'package main\n' };
    const rootContext = await run({ ...base, 'deploy/Dockerfile': 'FROM golang:1.23\nCOPY go.mod main.go ./\n' });
    expect(rootContext.build).toContain('--file deploy/Dockerfile --tag "$CI_REGISTRY_IMAGE:$CI_COMMIT_SHORT_SHA" .');
    const ownDir = await run({
      ...base,
      'api/Dockerfile': 'FROM golang:1.23\nCOPY server.go ./\n',
      'api/server.go': 'package main\n',
    });
    expect(ownDir.a.automation.dockerContext).toBe('api');
    expect(ownDir.build).toContain('--file api/Dockerfile --tag "$CI_REGISTRY_IMAGE:$CI_COMMIT_SHORT_SHA" api');
  });

  it("the project's CI, then compose, then the root", () => {
    expect(chooseDockerfile({ files, ciRefs: ['api/Dockerfile'], composeRefs: [], hasLanguage: true }).path).toBe(
      'api/Dockerfile',
    );
    expect(
      chooseDockerfile({
        files: files.filter((f) => f !== 'Dockerfile'),
        ciRefs: [],
        composeRefs: [],
        hasLanguage: true,
      }).path,
    ).toBe('api/Dockerfile');
    expect(
      chooseDockerfile({
        files: ['.devcontainer/Dockerfile', 'docs/Dockerfile'],
        ciRefs: [],
        composeRefs: [],
        hasLanguage: true,
      }).path,
    ).toBeNull();
    expect(
      dockerfilesReferencedByCi('run: docker build -f api/Dockerfile .\n  file: ./Dockerfile\n', new Set(files)),
    ).toEqual(['api/Dockerfile', 'Dockerfile']);
  });

  it('a Dockerfile copying a binary no job builds is not built; one an earlier job builds is', () => {
    const goreleaser = 'FROM scratch\nCOPY mytool /usr/bin/mytool\nENTRYPOINT ["/usr/bin/mytool"]\n';
    expect(missingBuildInputs(goreleaser, ['go.mod', 'main.go'], [])).toEqual(['mytool']);
    const rust = 'FROM debian:12-slim\nCOPY target/release/app /usr/local/bin/app\n';
    expect(missingBuildInputs(rust, ['Cargo.toml'], ['target/release/'])).toEqual([]);
    const multiStage =
      'FROM golang:1.23 AS build\nCOPY . .\nRUN go build -o /app\nFROM scratch\nCOPY --from=build /app /app\n';
    expect(missingBuildInputs(multiStage, ['go.mod'], [])).toEqual([]);
  });
});

describe('the read budget through GitLab', () => {
  it('reads at most twelve files, manifests first, and the same result as locally', async () => {
    const files: Record<string, string> = {
      'pyproject.toml':
        '[project]\nname = "x"\ndependencies = ["django>=5"]\n[tool.uv.workspace]\nmembers = ["a", "b", "c"]\n',
      'uv.lock': 'version = 1\n',
      'a/pyproject.toml': '[project]\nname = "a"\n',
      'b/pyproject.toml': '[project]\nname = "b"\n',
      'c/pyproject.toml': '[project]\nname = "c"\n',
      'manage.py': '',
      'site/settings.py': 'DATABASES = {\n "default": {"ENGINE": "django.db.backends.postgresql"}\n}\n',
      '.env.example': 'DATABASE_URL=postgres://x@localhost/db\n',
      'docker-compose.yml': 'services:\n  db:\n    image: postgres:16\n',
      '.gitlab-ci.yml': 'test:\n  script: [pytest]\n',
      Makefile: 'test:\n\tpytest\n',
      '.tool-versions': 'python 3.12.1\n',
      '.mise.toml': '[tools]\npython = "3.12"\n',
      Dockerfile: 'FROM python:3.12\nCOPY . .\n',
      ...Object.fromEntries(
        ['ci', 'test', 'lint', 'docs', 'release'].map((n) => [
          `.github/workflows/${n}.yml`,
          'on: push\njobs:\n  t:\n    runs-on: ubuntu-latest\n    steps:\n      - run: pytest\n',
        ]),
      ),
    };
    const { gitlab, calls } = memoryGitLab(files);
    const a = await analyzeRepository(new GitLabRepoReader(gitlab, 'acme/app', 'main'));
    expect(calls.tree).toBe(1);
    expect(calls.fileRaw).toBeLessThanOrEqual(MAX_READS);
    expect(MAX_READS).toBe(12);
    // testing workflows first, two at most
    expect(a.automation.workflows).toEqual(['.github/workflows/test.yml', '.github/workflows/ci.yml']);
    expect(a.automation.services.map((s) => s.kind)).toEqual([]);
    expect(a.evidence.some((e) => e.fact === 'gitlab-ci')).toBe(true);
  });
});

describe('the generated proposal', () => {
  const learnStage = { component: null, serviceUrl: null };

  it('translated candidates validate, carry the learn stage and are chosen like any arm', async () => {
    const files: Record<string, string> = {
      'go.mod': 'module x\n\ngo 1.23\n',
      '.github/workflows/ci.yml':
        'on: push\njobs:\n  test:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: actions/checkout@v4\n      - uses: actions/setup-go@v5\n        with: { go-version: "1.22" }\n      - run: go test -race ./...\n',
    };
    const { gitlab } = memoryGitLab(files);
    const g = await generatePipeline(
      { reader: new GitLabRepoReader(gitlab, 'acme/app', 'main'), tenant: 'acme' },
      { chooser: seedRuleChooser, learnStage },
    );
    expect(g.source).toBe('translated');
    expect(g.label).toBe('translated from .github/workflows/ci.yml');
    expect(g.candidatesTried.map((t) => t.source)).toEqual(['translated', 'default']);
    const doc = parse(g.config) as Js;
    expect(doc.test).toMatchObject({ image: 'golang:1.22', script: ['go test -race ./...'] });
    expect(doc.learn_record).toBeDefined();
    expect(validatePipeline(g.config).ok).toBe(true);
  });

  it('an existing .gitlab-ci.yml is evidence, never a candidate', async () => {
    const files = { 'go.mod': 'module x\n\ngo 1.23\n', '.gitlab-ci.yml': 'unit:\n  script: [go test ./...]\n' };
    const { gitlab } = memoryGitLab(files);
    const g = await generatePipeline(
      { reader: new GitLabRepoReader(gitlab, 'acme/app', 'main'), tenant: 'acme' },
      { chooser: seedRuleChooser, learnStage },
    );
    expect(g.candidatesTried.map((t) => t.source)).toEqual(['default']);
    expect(g.evidence.find((e) => e.fact === 'gitlab-ci')?.detail).toMatch(/evidence only/);
  });

  it('the default test job gets services, settings variables and the migration step; lint jobs get none', async () => {
    const files = {
      'manage.py': '',
      'requirements.txt': 'Django==5.1\npytest-django==4.9\nruff==0.8\n',
      'proj/settings.py':
        'DATABASES = {\n  "default": {\n    "ENGINE": "django.db.backends.postgresql",\n    "HOST": os.getenv("DB_HOST"),\n  }\n}\n',
      'compose.yaml': 'services:\n  db:\n    image: postgres:15.4\n',
      // honest tests: without test files there is no test job to give services to
      'proj/tests.py': 'from django.test import TestCase\n',
    };
    const { gitlab } = memoryGitLab(files);
    const a = await analyzeRepository(new GitLabRepoReader(gitlab, 'acme/app', 'main'));
    const doc = parse(composeDefaultPipeline(a).config) as Js;
    expect(doc['python-test'].services[0]).toMatchObject({ name: 'postgres:15.4', alias: 'postgres' });
    expect(doc['python-test'].variables).toMatchObject({
      DB_HOST: 'postgres',
      DATABASE_URL: expect.stringContaining('@postgres:5432/'),
    });
    expect(doc['python-test'].script[0]).toBe('python manage.py migrate --noinput');
    expect(doc['python-lint'].services).toBeUndefined();
    expect(doc['.python'].services).toBeUndefined();
  });
});

describe('lint jobs the maintainers do not run', () => {
  const crate = {
    'Cargo.toml': '[package]\nname = "walker"\nversion = "0.1.0"\nedition = "2021"\n',
    'Cargo.lock': '',
    'src/lib.rs': 'pub fn f() {}\n#[cfg(test)]\nmod tests { #[test] fn t() {} }\n',
  };
  const workflow = (run: string) =>
    `name: ci\non: [push]\njobs:\n  test:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: actions/checkout@v4\n      - run: ${run}\n`;
  const lintJob = async (files: Record<string, string>) => {
    const { gitlab } = memoryGitLab(files);
    const a = await analyzeRepository(new GitLabRepoReader(gitlab, 'acme/walker', 'main'));
    return (parse(composeDefaultPipeline(a).config) as Js)['rust-lint'];
  };

  it('may fail without failing the pipeline when the project CI runs no linter of the job', async () => {
    const job = await lintJob({ ...crate, '.github/workflows/ci.yml': workflow('cargo test --verbose') });
    expect(job.allow_failure).toBe(true);
  });

  it('stays blocking when the project CI runs it, and when there is no CI to read', async () => {
    expect(
      (await lintJob({ ...crate, '.github/workflows/ci.yml': workflow('cargo clippy --all-targets -- -D warnings') }))
        .allow_failure,
    ).toBeUndefined();
    expect((await lintJob(crate)).allow_failure).toBeUndefined();
  });
});
