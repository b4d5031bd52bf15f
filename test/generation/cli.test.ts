import { cpSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { runTemplates, type TemplateStore } from '../../src/cli/templates.js';
import type { CliIo } from '../../src/cli.js';
import { main } from '../../src/cli.js';
import type { TemplateRecord } from '../../src/generation/builtInTemplates.js';
import { FIXTURES } from './support.js';

// a store of its own per test file: never the user's DATA_DIR
const dataDir = mkdtempSync(join(tmpdir(), 'pl-cli-data-'));

function io(cwd: string, extraEnv: NodeJS.ProcessEnv = {}, stdin = '') {
  const env = { DATA_DIR: dataDir, ...extraEnv };
  const out = { stdout: '', stderr: '' };
  const cli: CliIo = {
    stdout: (t) => {
      out.stdout += t;
    },
    stderr: (t) => {
      out.stderr += t;
    },
    env,
    cwd,
    readStdin: async () => stdin,
  };
  return { cli, out };
}

function copyFixture(name: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'pl-cli-'));
  cpSync(join(FIXTURES, name), dir, { recursive: true });
  return dir;
}

describe('pipeline-learner generate', () => {
  it('--json prints the fixed shape and writes nothing', async () => {
    const dir = copyFixture('node-express');
    const { cli, out } = io(dir);
    expect(await main(['generate', '.', '--json'], cli)).toBe(0);
    const json = JSON.parse(out.stdout);
    expect(Object.keys(json).sort()).toEqual([
      'confidence',
      'config',
      'dockerfile',
      'evidence',
      'framework',
      'language',
      'source',
      'tests',
      'versions',
    ]);
    expect(json).toMatchObject({ language: 'node', framework: 'express', source: 'default' });
    expect(existsSync(join(dir, '.gitlab-ci.yml'))).toBe(false);
    expect(existsSync(join(dir, 'Dockerfile'))).toBe(false);
  });

  it('stdout is only the pipeline YAML; evidence and the Dockerfile go to stderr', async () => {
    const { cli, out } = io(FIXTURES, { LEARN_COMPONENT: 'gitlab.example.com/devops/pipeline-learner/learn@1.2.3' });
    expect(await main(['generate', 'python-django'], cli)).toBe(0);
    expect(out.stderr).toMatch(/# framework:\s+django/);
    expect(out.stderr).toMatch(/framework=django ← requirements.txt/);
    expect(out.stdout).toContain('component: gitlab.example.com/devops/pipeline-learner/learn@1.2.3');
    expect(out.stdout).not.toContain('# framework:');
    const doc = parse(out.stdout);
    expect(Object.keys(doc)).toContain('include');

    const go = io(FIXTURES);
    expect(await main(['generate', 'go-gin'], go.cli)).toBe(0);
    expect(go.out.stdout).not.toMatch(/^FROM /m);
    expect(go.out.stderr).toMatch(/^# proposed Dockerfile/m);
    expect(go.out.stderr).toMatch(/^# {3}FROM /m);
    expect(parse(go.out.stdout).learn_record).toBeDefined();
  });

  it('--dockerfile PATH writes the proposed Dockerfile there', async () => {
    const dir = copyFixture('go-gin');
    const { cli, out } = io(dir);
    expect(await main(['generate', '.', '--dockerfile', 'Dockerfile.proposed'], cli)).toBe(0);
    expect(readFileSync(join(dir, 'Dockerfile.proposed'), 'utf8')).toMatch(/^FROM /m);
    expect(out.stdout).not.toMatch(/^FROM /m);
    expect(existsSync(join(dir, '.gitlab-ci.yml'))).toBe(false);
  });

  it('points to learn-stage when the repository already has a .gitlab-ci.yml', async () => {
    const dir = copyFixture('node-express');
    writeFileSync(join(dir, '.gitlab-ci.yml'), 'mine: {script: [x]}\n');
    const { cli, out } = io(dir);
    expect(await main(['generate', '.'], cli)).toBe(0);
    expect(out.stderr).toContain('already has a .gitlab-ci.yml');
    expect(out.stderr).toMatch(/pipeline-learner learn-stage \S*\.gitlab-ci\.yml --in-place/);
  });

  it('without --write creates no store and logs nothing; --write creates it and records the decision', async () => {
    const fresh = mkdtempSync(join(tmpdir(), 'pl-cli-fresh-'));
    const data = join(fresh, 'store');
    const home = join(fresh, 'home');
    const dir = copyFixture('node-express');
    const { cli, out } = io(dir, { DATA_DIR: data, HOME: home, XDG_DATA_HOME: '' });
    expect(await main(['generate', '.'], cli)).toBe(0);
    expect(existsSync(data)).toBe(false);
    expect(existsSync(home)).toBe(false);
    expect(out.stderr).toMatch(/no store in .* yet; going on without learned candidates, nothing recorded/);

    const w = io(dir, { DATA_DIR: data });
    expect(await main(['generate', '.', '--write'], w.cli)).toBe(0);
    expect(existsSync(join(data, 'pglite', 'PG_VERSION'))).toBe(true);
    const exported = io(dir, { DATA_DIR: data });
    expect(await main(['decisions', 'export'], exported.cli)).toBe(0);
    expect(exported.out.stdout.trim().split('\n')).toHaveLength(1);

    // an existing store is read, never written
    const again = io(dir, { DATA_DIR: data });
    expect(await main(['generate', '.', '--json'], again.cli)).toBe(0);
    expect(again.out.stderr).toMatch(/read-only use of the store/);
    const after = io(dir, { DATA_DIR: data });
    expect(await main(['decisions', 'export'], after.cli)).toBe(0);
    expect(after.out.stdout.trim().split('\n')).toHaveLength(1);
  });

  it('rejects unknown languages, frameworks and policies with the valid values (exit 2)', async () => {
    const lang = io(FIXTURES);
    expect(await main(['generate', 'node-express', '--language', 'cobol'], lang.cli)).toBe(2);
    expect(lang.out.stderr).toMatch(/unknown language "cobol"; valid: go, python, node/);
    const fw = io(FIXTURES);
    expect(await main(['generate', 'node-express', '--framework', 'django'], fw.cli)).toBe(2);
    expect(fw.out.stderr).toMatch(/unknown framework "django" for node; valid: generic, express/);
    const pol = io(FIXTURES);
    expect(await main(['generate', 'node-express', '--policy', 'nope'], pol.cli)).toBe(2);
    expect(pol.out.stderr).toMatch(
      /unknown policy "nope": use one of thompson, greedy, epsilon_greedy, ucb1, thompson_uniform/,
    );
    const ok = io(FIXTURES);
    expect(await main(['generate', 'node-express', '--language', 'python', '--framework', 'flask'], ok.cli)).toBe(0);
    expect(ok.out.stderr).toMatch(/framework=flask ← \(override\)/);
  });

  it('--write refuses to overwrite without --force', async () => {
    const dir = copyFixture('go-gin');
    const { cli, out } = io(dir);
    expect(await main(['generate', '.', '--write'], cli)).toBe(0);
    expect(parse(readFileSync(join(dir, '.gitlab-ci.yml'), 'utf8')).learn_record).toBeDefined();
    expect(readFileSync(join(dir, 'Dockerfile'), 'utf8')).toMatch(/^# Proposed/);
    writeFileSync(join(dir, '.gitlab-ci.yml'), 'mine: {script: [x]}\n');
    expect(await main(['generate', '.', '--write'], cli)).toBe(1);
    expect(out.stderr).toMatch(/\.gitlab-ci\.yml already exists.*--force/);
    expect(readFileSync(join(dir, '.gitlab-ci.yml'), 'utf8')).toBe('mine: {script: [x]}\n');
    expect(await main(['generate', '.', '--write', '--force'], cli)).toBe(0);
    expect(readFileSync(join(dir, '.gitlab-ci.yml'), 'utf8')).toContain('golang:1.26');
  });

  it('bad input exits 2', async () => {
    const { cli } = io(FIXTURES);
    expect(await main(['generate'], cli)).toBe(2);
    expect(await main(['generate', 'no-such-dir'], cli)).toBe(2);
    expect(await main(['generate', 'go-gin', '--bogus'], cli)).toBe(2);
  });
});

describe('pipeline-learner learn-stage', () => {
  it('prints the file with the learn stage, and --in-place is idempotent', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pl-ls-'));
    const file = join(dir, '.gitlab-ci.yml');
    writeFileSync(file, '# mine\nstages: [test]\nt:\n  script: [make test]\n');
    const { cli, out } = io(dir, { PUBLIC_URL: 'https://learner.example.com' });
    expect(await main(['learn-stage', '.gitlab-ci.yml'], cli)).toBe(0);
    expect(out.stdout).toContain('# mine');
    expect(parse(out.stdout).stages).toEqual(['test', 'learn']);
    expect(await main(['learn-stage', '.gitlab-ci.yml', '--in-place'], cli)).toBe(0);
    const once = readFileSync(file, 'utf8');
    expect(await main(['learn-stage', '.gitlab-ci.yml', '--in-place'], cli)).toBe(0);
    expect(readFileSync(file, 'utf8')).toBe(once);
  });

  it('--in-place only adds lines: a four-space CRLF file keeps every line as it was', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pl-ls-'));
    const file = join(dir, '.gitlab-ci.yml');
    const before =
      'stages:\r\n    - build\r\n\r\nbuild:\r\n    stage: build\r\n    variables:\r\n        FLAGS: >-\r\n            -O2\r\n            -g\r\n    script:\r\n        - make\r\n';
    writeFileSync(file, before);
    const { cli } = io(dir, { PUBLIC_URL: 'https://learner.example.com' });
    expect(await main(['learn-stage', '.gitlab-ci.yml', '--in-place'], cli)).toBe(0);
    const after = readFileSync(file, 'utf8');
    const rest = before.slice(before.indexOf('\r\n\r\n') + 2);
    expect(after.startsWith(`stages:\r\n    - build\r\n    - learn\r\n${rest}`)).toBe(true);
    expect(after.replace(/\r\n/g, '')).not.toContain('\n');
    expect(after).toContain('\r\nlearn_record:\r\n    stage: learn\r\n');
  });

  it('a layout the edit cannot extend unchanged: exit 1, file untouched', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pl-ls-'));
    const file = join(dir, '.gitlab-ci.yml');
    const before = 'include: |1\n  a.yml\nt:\n  script: [x]\n';
    writeFileSync(file, before);
    const { cli, out } = io(dir, { LEARN_COMPONENT: 'gitlab.example.com/tools/pipeline-learner/learn@1.0.0' });
    expect(await main(['learn-stage', '.gitlab-ci.yml', '--in-place'], cli)).toBe(1);
    expect(out.stderr).toMatch(/^\.gitlab-ci\.yml: could not add the learn stage/);
    expect(readFileSync(file, 'utf8')).toBe(before);
  });

  it('invalid YAML: file:line:col on stderr, exit 2', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pl-ls-'));
    writeFileSync(join(dir, 'ci.yml'), 'a:\n  script: [x\nb: 1\n');
    const { cli, out } = io(dir);
    expect(await main(['learn-stage', 'ci.yml'], cli)).toBe(2);
    expect(out.stderr).toMatch(/^ci\.yml:\d+:\d+: \S/);
    const stdin = io(dir, {}, 'x: [\n');
    expect(await main(['learn-stage', '-'], stdin.cli)).toBe(2);
    expect(stdin.out.stderr).toMatch(/^<stdin>:\d+:\d+: /);
  });
});

describe('pipeline-learner templates', () => {
  function memoryStore(): TemplateStore & { items: Map<string, TemplateRecord> } {
    const items = new Map<string, TemplateRecord>();
    return {
      items,
      async upsert(ts) {
        for (const t of ts) items.set(t.id, t);
        return ts.length;
      },
      async list() {
        return [...items.values()];
      },
    };
  }

  it('imports valid files with their metadata, and nothing when one is invalid', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pl-tpl-'));
    writeFileSync(join(dir, 'python-django.yml'), 't:\n  script: [pytest]\n');
    writeFileSync(
      join(dir, 'ours.yaml'),
      '# pipeline-learner: language=go framework=gin\nt:\n  script: [go test ./...]\n',
    );
    const store = memoryStore();
    const { cli, out } = io(dir);
    expect(await runTemplates(['import', '.'], cli, { store })).toBe(0);
    expect([...store.items.values()].map((t) => `${t.language}/${t.framework}`).sort()).toEqual([
      'go/gin',
      'python/django',
    ]);
    expect(out.stdout).toContain('2 templates imported');
    writeFileSync(join(dir, 'broken.yml'), 't:\n  stage: nope\n  script: [x]\n');
    const again = memoryStore();
    const second = io(dir);
    expect(await runTemplates(['import', '.'], second.cli, { store: again })).toBe(2);
    expect(second.out.stderr).toContain('broken.yml');
    expect(again.items.size).toBe(0);
  });
});
