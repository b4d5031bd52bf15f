import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { analyzeRepository, MAX_READS } from '../../src/generation/analyzeRepository.js';
import { composeDefaultPipeline } from '../../src/generation/composeDefaultPipeline.js';
import { parseWorkflow } from '../../src/generation/evidence/githubActions.js';
import { runnerToolInstalls } from '../../src/generation/evidence/runnerTools.js';
import { translateWorkflows } from '../../src/generation/evidence/translateWorkflow.js';
import { conditionHolds } from '../../src/generation/evidence/workflowConditions.js';
import { validatePipeline } from '../../src/generation/validatePipeline.js';
import { GitLabRepoReader } from '../../src/repo/GitLabRepoReader.js';
import { memoryGitLab } from './support.js';

// biome-ignore lint/suspicious/noExplicitAny: parsed YAML, narrowed by the assertions
type Js = Record<string, any>;

function translate(yaml: string, language = 'python'): { doc: Js; notes: string[]; config: string | null } {
  const wf = parseWorkflow('.github/workflows/ci.yml', yaml);
  expect(wf).not.toBeNull();
  const t = translateWorkflows([wf!], { language, versions: {} });
  return { doc: t.config ? (parse(t.config) as Js) : {}, notes: t.notes, config: t.config };
}

describe('GitHub Actions if: conditions (a push to the default branch on Linux)', () => {
  const ctx = { matrix: { os: 'ubuntu-latest', build: 'stable', python: '3.12' } };
  it.each([
    ["runner.os == 'Linux'", true],
    ["runner.os == 'Windows'", false],
    // biome-ignore lint/suspicious/noTemplateCurlyInString: a GitHub expression, not a template
    ["${{ runner.os != 'macOS' }}", true],
    ["matrix.build == 'nightly'", false],
    ["startsWith(matrix.build, 'pinned-') == false", true],
    ["startsWith(matrix.os, 'windows')", false],
    ["github.event_name == 'pull_request'", false],
    ["github.event_name == 'push' && github.ref == 'refs/heads/main'", true],
    ["contains(matrix.python, '3.1') || matrix.os == 'x'", true],
    ['false', false],
    ['always()', true],
    ['failure()', false],
    ["!(matrix.build == 'stable')", false],
    // undecidable here: the step runs
    ["steps.cache.outputs.cache-hit != 'true'", true],
    ["hashFiles('**/go.sum') != ''", true],
    ['secrets.TOKEN', true],
  ])('%s → %s', (cond, expected) => {
    expect(conditionHolds(cond, ctx)).toBe(expected);
  });

  it('leaves out steps and jobs that would not run', () => {
    const { doc } = translate(`
on: [push]
jobs:
  tests:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - if: runner.os == 'Windows'
        uses: some/windows-only-action@v1
      - if: github.event_name == 'pull_request'
        run: echo pr only
      - run: pytest
  deploy-preview:
    if: false
    runs-on: ubuntu-latest
    steps:
      - run: pytest --deploy
`);
    expect(doc.tests.script).toEqual(['pytest']);
    expect(doc['deploy-preview']).toBeUndefined();
  });
});

describe('tools GitHub runners preinstall', () => {
  it('installs pipx with pip and apt packages behind a command -v guard', () => {
    const lines = runnerToolInstalls('pipx install poetry\nmake test | jq .', { CC: 'clang' });
    expect(lines[0]).toBe('command -v pipx >/dev/null || pip install -q pipx');
    expect(lines).toContain('export PATH="$HOME/.local/bin:$PATH"');
    const apt = lines.find((l) => l.includes('apt-get'))!;
    expect(apt).toMatch(/^command -v jq >\/dev\/null && command -v clang >\/dev\/null \|\| /);
    expect(apt).toContain('install -y -qq --no-install-recommends jq clang');
  });

  it('installs nothing for commands that only contain a tool name', () => {
    expect(runnerToolInstalls('pytest tests/test_jq_like.py\necho clang-ish', {})).toEqual([]);
  });

  it('a translated job that calls pipx installs it first', () => {
    const { doc } = translate(`
on: [push]
jobs:
  Tests:
    runs-on: ubuntu-24.04
    steps:
      - uses: actions/checkout@v4
      - run: pipx install poetry
      - uses: actions/setup-python@v5
        with: { python-version: "3.13" }
      - run: poetry install
      - run: poetry run pytest
`);
    expect(doc.Tests.before_script).toEqual([
      'command -v pipx >/dev/null || pip install -q pipx',
      'export PATH="$HOME/.local/bin:$PATH"',
    ]);
    expect(doc.Tests.script).toContain('poetry run pytest');
  });
});

describe('stages of translated jobs; Docker jobs left out', () => {
  const yaml = `
on: [push]
jobs:
  docker_build:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - run: docker compose build
      - run: docker compose run app pytest
  fmt:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - run: rustup component add rustfmt
      - run: cargo fmt --all -- --check
  typing:
    runs-on: ubuntu-latest
    steps:
      - run: uv run tox run -e typing
  docs:
    runs-on: ubuntu-latest
    steps:
      - run: sudo apt-get install -y asciidoc
      - run: make -C doc
  test:
    runs-on: ubuntu-latest
    services:
      db:
        image: postgres:16
        env: { POSTGRES_USER: app, POSTGRES_PASSWORD: secret, POSTGRES_DB: app_test }
        ports: ["5432:5432"]
      cache:
        image: redis:7
    steps:
      - run: cargo build
      - run: cargo test --workspace
`;

  it('lint-only jobs go to lint, build-only to build, tests to test; the stages list follows', () => {
    const { doc, config } = translate(yaml, 'rust');
    expect(doc.stages).toEqual(['lint', 'build', 'test']);
    expect(doc.fmt.stage).toBe('lint');
    expect(doc.typing.stage).toBe('lint');
    expect(doc.docs.stage).toBe('build');
    expect(doc.test.stage).toBe('test');
    expect(validatePipeline(config!).ok).toBe(true);
  });

  it('drops the job that drives Docker and says so', () => {
    const { doc, notes } = translate(yaml, 'rust');
    expect(doc.docker_build).toBeUndefined();
    expect(notes.join('\n')).toMatch(/left out docker_build \(drives Docker/);
  });

  it('points DATABASE_URL and REDIS_URL at the service aliases with the service’s own credentials', () => {
    const { doc } = translate(yaml, 'rust');
    expect(doc.test.variables).toEqual({
      DATABASE_URL: 'postgres://app:secret@db:5432/app_test',
      REDIS_URL: 'redis://cache:6379/0',
    });
  });

  it('an include-only matrix takes the stable combination over a pinned minimum', () => {
    const { doc } = translate(
      `
on: [push]
jobs:
  test:
    runs-on: \${{ matrix.os }}
    strategy:
      matrix:
        include:
          - { build: pinned, os: ubuntu-latest, rust: 1.60.0 }
          - { build: stable, os: ubuntu-latest, rust: stable }
          - { build: nightly, os: ubuntu-latest, rust: nightly }
    steps:
      - uses: dtolnay/rust-toolchain@master
        with: { toolchain: "\${{ matrix.rust }}" }
      - if: matrix.build == 'nightly'
        run: cargo +nightly generate-lockfile -Z minimal-versions
      - run: cargo test --verbose
`,
      'rust',
    );
    expect(doc.test.image).not.toBe('rust:1.60.0');
    expect(doc.test.script).toEqual(['cargo test --verbose']);
  });
});

describe('workspaces: commands that reach every member', () => {
  const analyze = async (files: Record<string, string>) => {
    const { gitlab, calls } = memoryGitLab(files);
    const a = await analyzeRepository(new GitLabRepoReader(gitlab, 'acme/app', 'main'));
    return { a, calls, config: composeDefaultPipeline(a).config };
  };
  const member = (test: string) => JSON.stringify({ name: 'm', scripts: { test } });

  it.each([
    [
      'pnpm',
      { 'pnpm-lock.yaml': '', 'pnpm-workspace.yaml': 'packages:\n  - packages/*\n' },
      'pnpm -r --if-present test',
    ],
    ['npm', { 'package-lock.json': '{}' }, 'npm test --workspaces --if-present'],
    ['yarn', { 'yarn.lock': '' }, 'yarn workspaces foreach -A run test'],
    ['bun', { 'bun.lock': '' }, "bun run --filter '*' test"],
  ])('%s workspace without a root test script: the members’ tests, workspace-wide', async (_pm, extra, cmd) => {
    const { a, calls } = await analyze({
      'package.json': JSON.stringify({ private: true, workspaces: ['packages/*'], scripts: { build: 'tsc -b' } }),
      ...extra,
      'packages/core/package.json': member('vitest run'),
      'packages/core/src/index.test.ts': 'test',
      'packages/docs/package.json': JSON.stringify({ name: 'docs' }),
    });
    expect(a.testCommand).toBe(cmd);
    expect(a.evidence.find((e) => e.fact === `test=${cmd}`)?.file).toBe('packages/core/package.json');
    expect(calls.fileRaw).toBeLessThanOrEqual(MAX_READS);
  });

  it('through turbo when the root runs its tasks with turbo', async () => {
    const { a } = await analyze({
      'package.json': JSON.stringify({ private: true, scripts: { build: 'turbo run build' } }),
      'pnpm-lock.yaml': '',
      'pnpm-workspace.yaml': 'packages:\n  - apps/*\n',
      'turbo.json': '{}',
      'apps/web/package.json': member('jest'),
      'apps/web/__tests__/page.test.tsx': 'test',
    });
    expect(a.testCommand).toBe('pnpm turbo run test');
  });

  it('no test job when no member with test files has a test script (no green for nothing)', async () => {
    const { a } = await analyze({
      'package.json': JSON.stringify({ private: true, workspaces: ['packages/*'] }),
      'package-lock.json': '{}',
      'packages/core/package.json': member('echo "Error: no test specified" && exit 1'),
      'packages/core/test/a.js': 'x',
    });
    expect(a.testCommand).toBeNull();
  });

  it('uv workspace: uv sync --all-packages, so the members’ pytest and framework are installed', async () => {
    const { a, config } = await analyze({
      'pyproject.toml': '[project]\nname = "root"\n[tool.uv.workspace]\nmembers = ["backend"]\n',
      'uv.lock': '',
      'backend/pyproject.toml':
        '[project]\nname = "app"\ndependencies = ["fastapi"]\n[dependency-groups]\ndev = ["pytest"]\n',
      'backend/tests/test_app.py': 'def test_x(): pass\n',
    });
    expect(a.uvWorkspace).toBe(true);
    expect(config).toContain('uv sync --frozen --all-packages');
  });
});

describe('parts of a repository without a root manifest', () => {
  it('run on changes to their directory and need only their own earlier jobs', async () => {
    const { gitlab } = memoryGitLab({
      'api/go.mod': 'module example.com/api\n\ngo 1.23\n',
      'api/main.go': 'package main\n',
      'api/main_test.go': 'package main\n',
      'web/package.json': JSON.stringify({
        scripts: { test: 'vitest run', lint: 'eslint .' },
        devDependencies: { vitest: '1' },
      }),
      'web/package-lock.json': '{}',
    });
    const a = await analyzeRepository(new GitLabRepoReader(gitlab, 'acme/app', 'main'));
    expect(a.parts.map((p) => p.root).sort()).toEqual(['api', 'web']);
    const config = composeDefaultPipeline(a).config;
    expect(validatePipeline(config).ok).toBe(true);
    const doc = parse(config) as Js;
    const jobs = Object.entries(doc).filter(([n, j]) => n.includes(':') && !n.startsWith('.') && j?.script);
    expect(jobs.length).toBeGreaterThan(2);
    for (const [name, job] of jobs) {
      const dir = name.split(':')[0];
      const withChanges = (job.rules as Js[]).filter((r) => r.when !== 'never');
      expect(withChanges.every((r) => r.changes?.[0] === `${dir}/**/*`)).toBe(true);
      for (const n of job.needs as Js[]) {
        expect(n.optional).toBe(true);
        expect(String(n.job).startsWith(`${dir}:`)).toBe(true);
      }
    }
    // the web part's tests wait for the web lint job only
    expect(doc['web:node-test'].needs).toEqual([{ job: 'web:node-lint', optional: true }]);
  });
});

describe('Go repositories of several modules', () => {
  it('a test job per nested module with tests, on changes to its directory', async () => {
    const { gitlab } = memoryGitLab({
      'go.mod': 'module example.com/root\n\ngo 1.23\n',
      'root_test.go': 'package root\n',
      'tools/go.mod': 'module example.com/tools\n\ngo 1.23\n',
      'tools/gen_test.go': 'package tools\n',
      'examples/go.mod': 'module example.com/examples\n\ngo 1.23\n',
      'examples/main.go': 'package main\n',
      'vendor/x/go.mod': 'module x\n',
      'vendor/x/x_test.go': 'package x\n',
    });
    const a = await analyzeRepository(new GitLabRepoReader(gitlab, 'acme/app', 'main'));
    expect(a.goModules).toEqual(['tools']);
    const config = composeDefaultPipeline(a).config;
    expect(validatePipeline(config).ok).toBe(true);
    const doc = parse(config) as Js;
    expect(doc['go-test']).toBeDefined();
    expect(doc['go-test:tools']).toMatchObject({
      stage: 'test',
      before_script: ['cd tools', 'go mod download'],
      script: ['go test ./...'],
      rules: [{ changes: ['tools/**/*'] }],
      needs: [],
    });
    expect(doc['go-test:examples']).toBeUndefined();
  });
});
