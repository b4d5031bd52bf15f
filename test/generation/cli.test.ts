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

  it('prints evidence then the pipeline; LEARN_COMPONENT switches to the component', async () => {
    const { cli, out } = io(FIXTURES, { LEARN_COMPONENT: 'gitlab.example.com/devops/pipeline-learner/learn@1.2.3' });
    expect(await main(['generate', 'python-django'], cli)).toBe(0);
    expect(out.stdout).toMatch(/# framework:\s+django/);
    expect(out.stdout).toMatch(/framework=django ← requirements.txt/);
    expect(out.stdout).toContain('component: gitlab.example.com/devops/pipeline-learner/learn@1.2.3');
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
