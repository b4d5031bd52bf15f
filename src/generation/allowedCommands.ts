import type { Language } from './slugs.js';

/**
 * The documented allowlist of commands per stack (docs/llm.md, "Policy checks"), for script lines an
 * LLM-adapted configuration adds that are neither in the base configuration nor in the repository's
 * evidence. Each rule names a program and, when it matters, the sub-commands allowed; the remaining
 * arguments must be plain words (no pipes, redirections, substitutions — see `PLAIN_ARG`).
 *
 * What is left out on purpose: anything that downloads and runs code from elsewhere (`curl`, `wget`,
 * `sh`/`bash` on a file, `go install`/`go run` of a module, `npx` of an arbitrary package, `pip install`
 * of an arbitrary package, `eval`, `base64`). The repository's own scripts run through its build tool
 * (`npm run x`, `make x`), which reads them from the repository.
 */
export interface CommandRule {
  /** the program, as the first word (`npm`, `./gradlew`) */
  program: string;
  /** allowed first arguments (sub-commands); null = no sub-command required */
  sub: readonly string[] | null;
  /**
   * the words after the sub-command (or program): `free` any plain words; `none` flags only (an
   * `npm install` that names a package runs its install scripts); `first` the first word from the list,
   * the rest free (`python -m pytest tests/`); `all` every word from the list (`pip install pytest ruff`),
   * except the value of a flag in `valueFlags` (`-r requirements.txt`)
   */
  args?: 'free' | 'none' | { first: readonly string[] } | { all: readonly string[]; valueFlags?: readonly string[] };
  /** flags that make a safe program run code from elsewhere (`make -C dir`, `git clone`) */
  denyFlags?: readonly string[];
}

const any = (program: string, denyFlags: readonly string[] = []): CommandRule => ({ program, sub: null, denyFlags });
const subs = (program: string, sub: string[], args: CommandRule['args'] = 'free'): CommandRule => ({
  program,
  sub,
  args,
});

/** Tools a `pip install` may add by name: test runners, linters and packaging tools, nothing else. */
const PYTHON_TOOLS = [
  'pip',
  'pytest',
  'pytest-cov',
  'ruff',
  'flake8',
  'mypy',
  'black',
  'isort',
  'pylint',
  'build',
  'wheel',
  'setuptools',
  'poetry',
  'uv',
  'pipenv',
  'tox',
  'nox',
  'coverage',
  '.',
  'mkdocs',
  'mkdocs-material',
];
const NODE_TOOLS = ['tsc', 'eslint', 'prettier', 'vitest', 'jest', 'mocha', 'playwright', 'next', 'vite', 'ng', 'nuxt'];
const PYTHON_MODULES = [
  'pytest',
  'unittest',
  'mypy',
  'ruff',
  'flake8',
  'black',
  'isort',
  'pylint',
  'build',
  'venv',
  'compileall',
  'coverage',
  'tox',
  'nox',
  'django',
];
const PIP = { all: PYTHON_TOOLS, valueFlags: ['-r', '--requirement', '-c', '--constraint', '-e', '--editable'] };

const COMMON: CommandRule[] = [
  any('echo'),
  any('cd'),
  any('ls'),
  any('pwd'),
  any('mkdir'),
  any('cp'),
  any('mv'),
  any('rm'),
  any('cat'),
  any('test'),
  any('true'),
  any('date'),
  any('uname'),
  subs('git', ['status', 'diff', 'log', 'describe', 'rev-parse', 'fetch', 'show', 'config']),
];

const NODE: CommandRule[] = [
  subs('npm', ['ci', 'install', 'audit', 'ls', 'pack', '--version', '-v'], 'none'),
  subs('npm', ['test', 'run', 'run-script']),
  subs('yarn', ['install', '--version'], 'none'),
  subs('yarn', ['test', 'run', 'build', 'lint']),
  subs('pnpm', ['install', '--version'], 'none'),
  subs('pnpm', ['test', 'run', 'build', 'lint']),
  subs('bun', ['install'], 'none'),
  subs('bun', ['test', 'run']),
  { program: 'npx', sub: null, args: { first: NODE_TOOLS } },
  subs('corepack', ['enable', 'prepare']),
  any('node', ['-e', '--eval', '-p', '--print', '-r', '--require', '--import']),
];

const PYTHON: CommandRule[] = [
  subs('pip', ['install'], PIP),
  subs('pip3', ['install'], PIP),
  subs('python', ['-m'], { first: PYTHON_MODULES }),
  subs('python3', ['-m'], { first: PYTHON_MODULES }),
  subs('python', ['-V', '--version', 'manage.py']),
  subs('python3', ['-V', '--version', 'manage.py']),
  any('pytest'),
  any('ruff'),
  any('flake8'),
  any('mypy'),
  any('black'),
  any('isort'),
  any('pylint'),
  any('tox'),
  any('nox'),
  subs('poetry', ['install', 'run', 'check', 'build', 'lock', 'config']),
  subs('uv', ['sync', 'run', 'venv', 'lock', 'build']),
  subs('pipenv', ['install', 'run', 'sync', 'check']),
  any('source'),
];

const JVM: CommandRule[] = [any('mvn'), any('./mvnw'), any('gradle'), any('./gradlew'), any('java')];

const BY_LANGUAGE: Partial<Record<Language, CommandRule[]>> = {
  go: [
    subs('go', ['build', 'test', 'vet', 'mod', 'generate', 'version', 'env', 'list', 'fmt']),
    any('gofmt'),
    subs('golangci-lint', ['run', '--version']),
  ],
  node: NODE,
  python: PYTHON,
  java: JVM,
  kotlin: JVM,
  rust: [
    subs('cargo', ['build', 'test', 'check', 'clippy', 'fmt', 'doc', 'fetch', 'bench', '--version']),
    subs('rustup', ['component', 'show', 'default']),
    any('rustc'),
  ],
  ruby: [
    subs('bundle', ['install', 'exec', 'config', 'check']),
    subs('gem', ['install'], { all: ['bundler'] }),
    any('rake'),
    subs('rails', ['test', 'db:create', 'db:migrate', 'db:setup', 'db:schema:load', 'assets:precompile']),
    any('ruby', ['-e']),
    any('rspec'),
  ],
  php: [
    subs('composer', ['install', 'validate', 'dump-autoload', '--version'], 'none'),
    subs('composer', ['test', 'run-script']),
    any('php', ['-r']),
    any('vendor/bin/phpunit'),
    any('vendor/bin/phpstan'),
    any('vendor/bin/php-cs-fixer'),
  ],
  dotnet: [subs('dotnet', ['restore', 'build', 'test', 'publish', 'format', 'pack', '--info', '--version'])],
  c: [any('cmake'), any('ctest'), any('meson'), any('ninja'), any('gcc'), any('cc')],
  cpp: [any('cmake'), any('ctest'), any('meson'), any('ninja'), any('g++'), any('c++')],
  terraform: [
    subs('terraform', ['init', 'validate', 'plan', 'fmt', 'version', 'providers', 'show']),
    subs('tofu', ['init', 'validate', 'plan', 'fmt', 'version', 'providers', 'show']),
    any('tflint'),
  ],
  helm: [subs('helm', ['lint', 'template', 'dependency', 'package', 'version'])],
  docker: [any('hadolint')],
  docs: [...PYTHON, subs('mkdocs', ['build']), any('hugo')],
};

/** `make <target>` runs the repository's own Makefile: allowed for every stack. */
const EVERY_STACK: CommandRule[] = [any('make', ['-C', '--directory', '-f', '--file', '--makefile'])];

export function allowedCommands(language: string): CommandRule[] {
  return [...COMMON, ...EVERY_STACK, ...(BY_LANGUAGE[language as Language] ?? [])];
}
