import type { Analysis } from './analyzeRepository.js';
import { TOOLS } from './versions.js';

type Job = Record<string, unknown>;

/** The script and report settings of a test job; merged into the stack's test job. */
export interface TestJobParts {
  script: string[];
  variables?: Record<string, string>;
  coverage?: string;
  artifacts?: Job;
}

const EXPIRE = '1 week';

function reports(junit: string, extra: { paths?: string[]; coverage?: string } = {}): Job {
  return {
    when: 'always',
    expire_in: EXPIRE,
    ...(extra.paths ? { paths: extra.paths } : {}),
    reports: {
      junit,
      ...(extra.coverage ? { coverage_report: { coverage_format: 'cobertura', path: extra.coverage } } : {}),
    },
  };
}

/** Extra arguments for a package script: npm needs `--` before them, pnpm, yarn and bun pass them on. */
function withArgs(a: Analysis, command: string, args: string): string {
  return (a.packageManager ?? 'npm') === 'npm' ? `${command} -- ${args}` : `${command} ${args}`;
}

/**
 * The test job for the analysed test command, emitting JUnit (and coverage where the project has
 * the plugin) through the runner's own reporter or its standard plugin, installed by the job at
 * the version the table pins. Runners with neither get the plain command and no report.
 */
export function testScript(a: Analysis): TestJobParts {
  const cmd = a.testCommand;
  if (!cmd) throw new Error('testScript needs a test command');
  switch (a.testRunner) {
    case 'go':
      return {
        script: [
          `go install gotest.tools/gotestsum@${TOOLS.gotestsum.version}`,
          '"$GOPATH/bin/gotestsum" --junitfile report.xml --format testname -- -coverprofile=coverage.out ./...',
          'go tool cover -func=coverage.out',
        ],
        coverage: '/total:\\s+\\(statements\\)\\s+(\\d+.\\d+)%/',
        artifacts: reports('report.xml', { paths: ['coverage.out'] }),
      };
    case 'pytest':
      return a.coverage
        ? {
            script: [`${cmd} --junitxml=report.xml --cov --cov-report=term --cov-report=xml:coverage.xml`],
            coverage: '/^TOTAL.*\\s(\\d+(?:\\.\\d+)?)%$/',
            artifacts: reports('report.xml', { coverage: 'coverage.xml' }),
          }
        : { script: [`${cmd} --junitxml=report.xml`], artifacts: reports('report.xml') };
    case 'jest':
      // installed beside the project, not into it: the lockfile and node_modules stay as they are
      return {
        variables: { JEST_JUNIT_OUTPUT_FILE: 'report.xml' },
        script: [
          `npm install --no-save --no-package-lock --no-audit --no-fund --prefix .jest-junit jest-junit@${TOOLS.jestJunit.version}`,
          withArgs(a, cmd, '--ci --reporters=default --reporters="$PWD/.jest-junit/node_modules/jest-junit"'),
        ],
        artifacts: reports('report.xml'),
      };
    case 'vitest':
      return {
        script: [withArgs(a, cmd, '--reporter=default --reporter=junit --outputFile.junit=report.xml')],
        artifacts: reports('report.xml'),
      };
    case 'node':
      return {
        script: [
          withArgs(
            a,
            cmd,
            '--test-reporter=spec --test-reporter-destination=stdout --test-reporter=junit --test-reporter-destination=report.xml',
          ),
        ],
        artifacts: reports('report.xml'),
      };
    case 'rspec-junit':
      return {
        script: [`${cmd} --format progress --format RspecJunitFormatter --out rspec.xml`],
        artifacts: reports('rspec.xml'),
      };
    case 'phpunit':
      return { script: [`${cmd} --log-junit report.xml`], artifacts: reports('report.xml') };
    case 'dotnet':
      // the JUnit logger is a NuGet package each test project needs; added in the job, never committed
      return {
        script: [
          `for p in $(grep -rl --include='*.csproj' --include='*.fsproj' 'Microsoft.NET.Test.Sdk' .); do dotnet add "$p" package JunitXml.TestLogger --version ${TOOLS.junitXmlTestLogger.version}; done`,
          `${cmd} --logger "junit;LogFilePath=$CI_PROJECT_DIR/TestResults/{assembly}.xml"`,
        ],
        artifacts: reports('TestResults/*.xml'),
      };
    case 'ctest':
      // --output-junit is relative to the test directory (CMake 3.21+); nativeStacks composes the same
      return { script: [`${cmd} --output-junit junit.xml`], artifacts: reports('build/junit.xml') };
    default:
      break;
  }
  if (a.buildTool === 'maven') return { script: [cmd], artifacts: reports('**/target/surefire-reports/TEST-*.xml') };
  if (a.buildTool === 'gradle')
    return { script: [cmd], artifacts: reports('**/build/test-results/test/**/TEST-*.xml') };
  return { script: [cmd] };
}
