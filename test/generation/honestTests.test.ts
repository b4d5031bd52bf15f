import { mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import type { CliIo } from '../../src/cli.js';
import { main } from '../../src/cli.js';
import { toGeneratedPipeline } from '../../src/commands/adapters.js';
import { analyzeRepository } from '../../src/generation/analyzeRepository.js';
import { composeDefaultPipeline } from '../../src/generation/composeDefaultPipeline.js';
import { type GenerateDeps, generatePipeline, toGenerationJson } from '../../src/generation/generatePipeline.js';
import { NoProposalError, runsTests, searchedFor } from '../../src/generation/honestTests.js';
import { seedRuleChooser } from '../../src/generation/seedRuleChooser.js';
import { TOOLS } from '../../src/generation/versions.js';
import { armStats } from '../../src/learning/ArmStats.js';
import type { ArmCandidate, Chooser } from '../../src/learning/Chooser.js';
import { DEFAULT_LEARNER_OPTIONS } from '../../src/learning/LearnerOptions.js';
import { PriorChooser } from '../../src/learning/PriorChooser.js';
import { emptyArm } from '../../src/learning/posterior.js';
import { EXPECTED, FIXTURES, fixtureReader, repo } from './support.js';

const learnStage = { component: null, serviceUrl: 'https://learner.example.com' };
const base: GenerateDeps = { chooser: seedRuleChooser, learnStage };

async function compose(files: Record<string, string>) {
  const a = await analyzeRepository(repo(files));
  return { a, doc: parse(composeDefaultPipeline(a).config) as Record<string, Record<string, unknown>> };
}

function jobs(doc: Record<string, Record<string, unknown>>): string[] {
  return Object.keys(doc).filter((k) => !k.startsWith('.') && !['workflow', 'stages'].includes(k));
}

const NO_TESTS: Record<string, Record<string, string>> = {
  python: { 'requirements.txt': 'flask\n', 'app.py': '' },
  go: { 'go.mod': 'module x\n\ngo 1.24\n', 'main.go': '' },
  java: { 'pom.xml': '<project><artifactId>x</artifactId></project>', 'src/main/java/A.java': '' },
  ruby: { Gemfile: 'gem "rack"\n', 'app.rb': '' },
  dotnet: { 'App/App.csproj': '<Project Sdk="Microsoft.NET.Sdk"></Project>' },
  node: { 'package.json': JSON.stringify({ scripts: { build: 'tsc' }, devDependencies: { typescript: '5' } }) },
  php: { 'composer.json': JSON.stringify({ require: { 'monolog/monolog': '*' } }) },
};

describe('green for nothing: no test command, no test job', () => {
  for (const [stack, files] of Object.entries(NO_TESTS)) {
    it(`${stack} without tests gets no test job and no echo`, async () => {
      const { a, doc } = await compose(files);
      expect(a.language).toBe(stack);
      expect(a.testCommand).toBeNull();
      expect(jobs(doc).filter((j) => doc[j].stage === 'test')).toEqual([]);
      expect(JSON.stringify(doc)).not.toMatch(/echo "No test command/);
    });
  }

  it('says "tests: none" and starts the arm from Beta(1,1)', async () => {
    const g = await generatePipeline(
      { reader: repo(NO_TESTS.python), tenant: 't' },
      { chooser: new PriorChooser(), learnStage },
    );
    expect(g.tests).toEqual([]);
    expect(g.untested).toBe(true);
    expect(g.confidence).toBe(0.5);
    expect(toGenerationJson(g).tests).toBe('none');
    const reply = toGeneratedPipeline(g, { mean: 0.67, low: 0.2, high: 0.9, runs: 0 } as never);
    expect(reply.evidence[0]).toMatch(/^No tests found/);
    expect(reply.confidence?.mean).toBe(0.5);
    // a proposal that tests keeps its source's prior
    const tested = await generatePipeline(
      { reader: fixtureReader('go-generic'), tenant: 't' },
      { chooser: new PriorChooser(), learnStage },
    );
    expect(tested.untested).toBe(false);
    expect(tested.confidence).toBeCloseTo(2 / 3, 2);
    expect(toGenerationJson(tested).tests).toEqual(['go test ./...']);
  });

  it('marks every untested candidate, learned ones too, for the learner', async () => {
    let seen: ArmCandidate[] = [];
    const chooser: Chooser = {
      async choose(_c, arms) {
        seen = arms;
        return { arm: arms[0], decisionId: null, policy: 'x', kind: 'exploit', probability: 1, confidence: null };
      },
    };
    const echoOnly = 'test:\n  stage: test\n  script: [echo "add tests"]\n';
    const real = 'test:\n  stage: test\n  script: [go test ./...]\n';
    await generatePipeline(
      { reader: fixtureReader('go-generic'), tenant: 't' },
      {
        ...base,
        chooser,
        learned: {
          learned: async () =>
            [echoOnly, real].map((config, i) => ({
              hash: String(i),
              source: 'learned' as const,
              config,
              label: `l${i}`,
            })),
        },
      },
    );
    expect(seen.map((a) => [a.label, a.untested ?? false])).toEqual([
      ['l0', true],
      ['l1', false],
      ['built-in default go-generic', false],
    ]);
  });

  it('gives an untested arm the uninformed prior and a tested one its source prior', () => {
    const untested = armStats(emptyArm('h', 'default'), 0, DEFAULT_LEARNER_OPTIONS, null, { untested: true });
    const tested = armStats(emptyArm('h', 'default'), 0, DEFAULT_LEARNER_OPTIONS, null, {});
    expect([untested.alpha, untested.beta]).toEqual([1, 1]);
    expect([tested.alpha, tested.beta]).toEqual([2, 1]);
  });

  it('tells test jobs that test from ones that only echo', () => {
    expect(runsTests('t:\n  stage: test\n  script: ["echo no tests", "true"]\n')).toBe(false);
    expect(runsTests('.b:\n  script: [pytest]\nt:\n  stage: test\n  extends: .b\n')).toBe(true);
    expect(runsTests('unit-tests:\n  script: [make check]\n')).toBe(true);
    expect(runsTests('build:\n  stage: build\n  script: [make]\n')).toBe(false);
    expect(runsTests(': not yaml: [')).toBe(false);
  });
});

describe('an unknown stack with no tests gets no proposal', () => {
  it('throws a user-facing error listing what was searched for', async () => {
    const err = await generatePipeline({ reader: repo({ 'README.md': '# hi' }), tenant: 't' }, base).catch((e) => e);
    expect(err).toBeInstanceOf(NoProposalError);
    expect(err.searched).toEqual(searchedFor());
    expect(err.searched).toContain('go.mod (go)');
    expect(err.searched).toContain('package.json (node)');
    expect(err.message).toMatch(/no known stack and no tests found/);
    // …but a Makefile with a test target is tested
    const make = await generatePipeline({ reader: repo({ Makefile: 'test:\n\t./run-tests\n' }), tenant: 't' }, base);
    expect(make.tests).toEqual(['make test']);
  });

  it('the CLI exits 1: --json prints {"proposal": null, "searched": [...]}, otherwise the reason', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pl-honest-'));
    writeFileSync(join(dir, 'README.md'), '# nothing to build\n');
    const out = { stdout: '', stderr: '' };
    const cli: CliIo = {
      stdout: (t) => {
        out.stdout += t;
      },
      stderr: (t) => {
        out.stderr += t;
      },
      env: { DATA_DIR: mkdtempSync(join(tmpdir(), 'pl-honest-data-')) },
      cwd: dir,
      readStdin: async () => '',
    };
    expect(await main(['generate', '.', '--json'], cli)).toBe(1);
    const json = JSON.parse(out.stdout);
    expect(json).toEqual({ proposal: null, searched: searchedFor() });
    out.stdout = '';
    expect(await main(['generate', '.'], cli)).toBe(1);
    expect(out.stdout).toBe('');
    expect(out.stderr).toMatch(/No proposal: no known stack and no tests found[\s\S]*Searched for: .*go\.mod/);
  });
});

/** Tools a lint or test job may run, and how a job installs each at a pinned version. */
const TOOL_RUNS: Array<[string, RegExp]> = [
  ['ruff', /(^|[\s&;])(uv run |poetry run )?ruff\b/],
  ['black', /(^|[\s&;])(uv run |poetry run )?black\b/],
  ['flake8', /(^|[\s&;])(uv run |poetry run )?flake8\b/],
  ['mypy', /(^|[\s&;])(uv run |poetry run )?mypy\b/],
  ['eslint', /\beslint\b/],
  ['golangci-lint', /\bgolangci-lint\b/],
  ['rubocop', /\brubocop\b/],
  ['phpstan', /\bphpstan\b/],
  ['phpcs', /\bphpcs\b/],
];

function installs(script: string, tool: string): boolean {
  return new RegExp(
    `(pip install|uvx|npm install[^&]*|go install|gem install)\\s+[^&;]*\\b${tool}(==|@|\\s+-v\\s+)v?\\d`,
  ).test(script);
}

/**
 * The class-level guard: a job never runs a tool that the repository does not declare as a
 * dependency unless the job itself installs it at a pinned version.
 */
function undeclaredToolRuns(files: Record<string, string>, config: string): string[] {
  const manifests = Object.entries(files)
    .filter(([f]) => /(package\.json|pyproject\.toml|requirements[^/]*\.txt|Gemfile|composer\.json|go\.mod)$/.test(f))
    .map(([, t]) => t)
    .join('\n');
  const doc = parse(config) as Record<string, { script?: string[]; before_script?: string[] }>;
  const bad: string[] = [];
  for (const [name, job] of Object.entries(doc)) {
    if (!job || typeof job !== 'object' || !Array.isArray(job.script)) continue;
    const script = job.script.join('\n');
    for (const [tool, runs] of TOOL_RUNS) {
      if (!runs.test(script)) continue;
      // a plugin gem such as rubocop-rails-omakase depends on rubocop itself
      const declared = new RegExp(`["'\\s/]${tool}(["'\\s=<>~^@]|-rails)`).test(manifests);
      if (!declared && !installs(script, tool)) bad.push(`${name}: ${tool}`);
    }
  }
  return bad;
}

describe('tools run but never installed', () => {
  it('a ruff configuration without the dependency makes the job install pinned ruff', async () => {
    const files = {
      'pyproject.toml': '[project]\nname = "x"\ndependencies = ["httpx"]\n\n[tool.ruff]\nline-length = 100\n',
      'test_x.py': '',
    };
    const { a, doc } = await compose(files);
    expect(a.lintCommand).toBe(`pip install ruff==${TOOLS.ruff.version} && ruff check .`);
    expect(undeclaredToolRuns(files, composeDefaultPipeline(a).config)).toEqual([]);
    expect((doc['python-lint'].script as string[])[0]).toContain(`ruff==${TOOLS.ruff.version}`);
    const uv = await compose({ ...files, 'uv.lock': '' });
    expect(uv.a.lintCommand).toBe(`uvx ruff@${TOOLS.ruff.version} check .`);
  });

  it('a declared ruff runs from the project environment', async () => {
    const { a } = await compose({
      'pyproject.toml': '[project]\nname = "x"\ndependencies = ["httpx"]\n[dependency-groups]\ndev = ["ruff>=0.5"]\n',
      'uv.lock': '',
    });
    expect(a.lintCommand).toBe('uv run ruff check .');
  });

  it('no fixture pipeline runs a tool its repository neither declares nor installs', async () => {
    const root = FIXTURES;
    for (const name of Object.keys(EXPECTED)) {
      if (name === 'unknown') continue;
      const files: Record<string, string> = {};
      const walk = (d: string, prefix: string) => {
        for (const f of readdirSync(d)) {
          const p = join(d, f);
          if (statSync(p).isDirectory()) walk(p, `${prefix}${f}/`);
          else files[`${prefix}${f}`] = readFileSync(p, 'utf8');
        }
      };
      walk(join(root, name), '');
      const g = await generatePipeline({ reader: fixtureReader(name), tenant: 'local' }, base);
      expect(undeclaredToolRuns(files, g.config), name).toEqual([]);
    }
  });
});

describe('test reports', () => {
  const report = (doc: Record<string, Record<string, unknown>>, job: string) =>
    (doc[job].artifacts as { reports: Record<string, unknown> }).reports;

  it('pytest writes JUnit, and coverage when pytest-cov is declared', async () => {
    const plain = await compose({ 'requirements.txt': 'pytest\n', 'tests/test_a.py': '' });
    expect(plain.doc['python-test'].script).toEqual(['pytest --junitxml=report.xml']);
    expect(report(plain.doc, 'python-test')).toEqual({ junit: 'report.xml' });
    const cov = await compose({ 'requirements.txt': 'pytest\npytest-cov\n', 'tests/test_a.py': '' });
    expect((cov.doc['python-test'].script as string[])[0]).toMatch(/--junitxml=report\.xml --cov /);
    expect(cov.doc['python-test'].coverage).toBeDefined();
    expect(report(cov.doc, 'python-test')).toEqual({
      junit: 'report.xml',
      coverage_report: { coverage_format: 'cobertura', path: 'coverage.xml' },
    });
  });

  it('go tests run under gotestsum for JUnit, with coverage', async () => {
    const { doc } = await compose({ 'go.mod': 'module x\n\ngo 1.24\n', 'a_test.go': '' });
    const script = doc['go-test'].script as string[];
    expect(script[0]).toBe(`go install gotest.tools/gotestsum@${TOOLS.gotestsum.version}`);
    expect(script[1]).toMatch(/gotestsum" --junitfile report\.xml .*-coverprofile=coverage\.out/);
    expect(report(doc, 'go-test')).toEqual({ junit: 'report.xml' });
    expect(doc['go-test'].coverage).toBeDefined();
  });

  it('jest gets jest-junit installed beside the project; vitest its own reporter', async () => {
    const jest = await compose({
      'package.json': JSON.stringify({ scripts: { test: 'jest' }, devDependencies: { jest: '29' } }),
      'package-lock.json': '{}',
    });
    const script = jest.doc['node-test'].script as string[];
    expect(script[0]).toContain(`jest-junit@${TOOLS.jestJunit.version}`);
    expect(script[1]).toMatch(/^npm test -- --ci --reporters=default --reporters=.*jest-junit/);
    expect(report(jest.doc, 'node-test')).toEqual({ junit: 'report.xml' });
    const vitest = await compose({
      'package.json': JSON.stringify({ scripts: { test: 'vitest run' }, devDependencies: { vitest: '3' } }),
      'pnpm-lock.yaml': '',
    });
    expect(vitest.doc['node-test'].script).toEqual([
      'pnpm test --reporter=default --reporter=junit --outputFile.junit=report.xml',
    ]);
    // a compound script cannot take reporter flags: it runs as is, without a report
    const compound = await compose({
      'package.json': JSON.stringify({ scripts: { test: 'tsc && jest' }, devDependencies: { jest: '29' } }),
    });
    expect(compound.doc['node-test'].script).toEqual(['npm test']);
  });

  it('phpunit, rspec (with the formatter declared), dotnet, ctest and maven emit JUnit', async () => {
    const php = await compose({
      'composer.json': JSON.stringify({ 'require-dev': { 'phpunit/phpunit': '^11' } }),
      'phpunit.xml': '',
    });
    expect(php.doc['php-test'].script).toEqual(['vendor/bin/phpunit --log-junit report.xml']);
    const rspec = await compose({
      Gemfile: 'gem "rspec"\ngem "rspec_junit_formatter"\n',
      'spec/a_spec.rb': '',
    });
    expect((rspec.doc['ruby-test'].script as string[])[0]).toMatch(/--format RspecJunitFormatter --out rspec\.xml/);
    const dotnet = await compose({
      'App/App.csproj': '<Project Sdk="Microsoft.NET.Sdk"></Project>',
      'App.Tests/App.Tests.csproj': '<Project><PackageReference Include="Microsoft.NET.Test.Sdk" /></Project>',
    });
    const ds = dotnet.doc['dotnet-test'].script as string[];
    expect(ds[0]).toContain(`JunitXml.TestLogger --version ${TOOLS.junitXmlTestLogger.version}`);
    expect(ds[1]).toMatch(/--logger "junit;LogFilePath=/);
    const cpp = await compose({
      'CMakeLists.txt': 'project(x LANGUAGES CXX)\nenable_testing()\nadd_test(NAME a COMMAND a)\n',
    });
    expect(report(cpp.doc, 'cpp-test')).toEqual({ junit: 'build/junit.xml' });
    const mvn = await compose({ 'pom.xml': '<project></project>', 'src/test/java/ATest.java': '' });
    expect(report(mvn.doc, 'java-test')).toEqual({ junit: '**/target/surefire-reports/TEST-*.xml' });
  });
});

describe('confidence follows "tests: none" on every fixture', () => {
  it('a proposal that says it runs no tests starts from Beta(1,1): confidence 0.5', async () => {
    const deps: GenerateDeps = { chooser: new PriorChooser(), learnStage: { component: null, serviceUrl: null } };
    let none = 0;
    for (const name of Object.keys(EXPECTED)) {
      let g: Awaited<ReturnType<typeof generatePipeline>>;
      try {
        g = await generatePipeline({ reader: fixtureReader(name), tenant: 'local' }, deps);
      } catch (err) {
        if (err instanceof NoProposalError) continue;
        throw err;
      }
      const json = toGenerationJson(g);
      if (json.tests !== 'none') continue;
      none++;
      expect(g.confidence, name).toBe(0.5);
    }
    // the stacks whose checks are not tests (terraform validate, docs builds, Dockerfile-only) are among them
    expect(none).toBeGreaterThan(2);
  });
});
