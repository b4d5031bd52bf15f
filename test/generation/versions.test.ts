import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { analyzeRepository } from '../../src/generation/analyzeRepository.js';
import { composeDefaultPipeline } from '../../src/generation/composeDefaultPipeline.js';
import {
  newestSupported,
  parseRange,
  RUNTIMES,
  resolveRuntime,
  resolveTool,
  TABLE_DATE,
  TOOLS,
} from '../../src/generation/versions.js';
import { repo } from './support.js';

async function composed(files: Record<string, string>) {
  const a = await analyzeRepository(repo(files));
  return { a, doc: parse(composeDefaultPipeline(a).config) as Record<string, Record<string, unknown>> };
}

describe('the version rule', () => {
  it('resolves a range to the newest supported LTS line at least six months old', () => {
    // Node 26 became LTS in October 2026: younger than six months on the table's date
    expect(newestSupported('node', '>=18')?.line).toBe('24');
    expect(newestSupported('node', '^22.3.0')?.line).toBe('22');
    expect(newestSupported('node', '>=18 <23')?.line).toBe('22');
    expect(newestSupported('node', '18 || 20 || 22')?.line).toBe('22');
    expect(newestSupported('java', null)?.line).toBe('25');
    expect(newestSupported('dotnet', null)?.line).toBe('10.0');
  });

  it('resolves a range without LTS lines to the newest stable release at least six months old', () => {
    // 3.15 was released in October 2026; 3.10 is past its end of life
    expect(newestSupported('python', '>=3.9', 'pep440')?.line).toBe('3.14');
    expect(newestSupported('python', '>=3.9,<3.13', 'pep440')?.line).toBe('3.12');
    expect(newestSupported('python', '~=3.11', 'pep440')?.line).toBe('3.14');
    expect(newestSupported('python', '==3.11.*', 'pep440')?.line).toBe('3.11');
    expect(newestSupported('python', '^3.10')?.line).toBe('3.14');
    expect(newestSupported('ruby', '~> 3.2', 'ruby')?.line).toBe('3.4');
    expect(newestSupported('ruby', '>= 3.1', 'ruby')?.line).toBe('4.0');
    expect(newestSupported('php', '^8.1', 'composer')?.line).toBe('8.5');
    expect(newestSupported('php', '~8.2.0', 'composer')?.line).toBe('8.2');
    expect(newestSupported('go', '>=1.22')?.line).toBe('1.26');
  });

  it('falls back to a younger or an end-of-life release only when the range allows nothing else', () => {
    expect(newestSupported('node', '>=26')?.line).toBe('26');
    expect(newestSupported('node', '^18')).toMatchObject({ line: '18', note: expect.stringMatching(/end of life/) });
    expect(newestSupported('python', '<3.9', 'pep440')?.line).toBe('3.8');
  });

  it('keeps an exact pin exactly, with its full version', () => {
    const pin = (value: string) =>
      resolveRuntime('ruby', { kind: 'exact', value, file: '.ruby-version', detail: `.ruby-version ${value}` });
    expect(pin('3.4.4').version).toBe('3.4.4');
    expect(pin('ruby-3.4.4').version).toBe('3.4.4');
    expect(resolveRuntime('node', { kind: 'exact', value: 'v20.11.1', file: '.nvmrc', detail: '' }).version).toBe(
      '20.11.1',
    );
    expect(resolveRuntime('node', { kind: 'exact', value: 'lts/*', file: '.nvmrc', detail: '' }).version).toBe('24');
    expect(pin('3.1.4').why).toMatch(/past its end of life/);
  });

  it('honours tool constraints, exact ones kept', () => {
    expect(resolveTool('uv', '>=0.8.4').version).toBe(TOOLS.uv.version);
    expect(resolveTool('uv', '==0.7.8').version).toBe('0.7.8');
    expect(resolveTool('uv', '<0.8').version).toBe('0.7.8');
    expect(resolveTool('poetry', '<2').version).toBe('1.8.5');
    expect(resolveTool('pnpm', '9.x', 'npm').version).toBe('9.15.9');
    expect(resolveTool('pnpm', '9.12.3', 'npm').version).toBe('9.12.3');
    expect(resolveTool('pnpm', null).version).toBe(TOOLS.pnpm.version);
  });

  it('parses the range dialects', () => {
    expect(parseRange('lts/*')).toBeNull();
    expect(parseRange('>= 3.8, < 4', 'pep440')).toHaveLength(1);
    expect(parseRange('^7.4 || ^8.0', 'composer')).toHaveLength(2);
  });

  it('has a dated table whose rows are newest first and well formed', () => {
    expect(TABLE_DATE).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    for (const [name, rt] of Object.entries(RUNTIMES)) {
      const dates = rt.releases.map((r) => r.released);
      expect([...dates].sort().reverse(), name).toEqual(dates);
      for (const r of rt.releases) if (r.eol) expect(r.eol > r.released, `${name} ${r.line}`).toBe(true);
    }
  });
});

describe('versions in analyses and pipelines (stale tools, minimums taken as targets)', () => {
  it('engines ">=18" becomes the newest supported LTS, with the reason in the evidence', async () => {
    const { a, doc } = await composed({
      'package.json': JSON.stringify({ engines: { node: '>=18' }, scripts: { test: 'node --test' } }),
    });
    expect(doc['.node'].image).toBe('node:24');
    expect(a.evidence).toContainEqual({
      fact: 'node=24',
      file: 'package.json',
      detail: 'engines >=18 → newest supported LTS at least six months old',
    });
  });

  it('.ruby-version 3.4.4 becomes ruby:3.4.4, not ruby:3.4', async () => {
    const { doc } = await composed({
      Gemfile: 'source "https://rubygems.org"\nruby file: ".ruby-version"\ngem "rake"\n',
      '.ruby-version': '3.4.4\n',
      'test/a_test.rb': '',
    });
    expect(doc['.ruby'].image).toBe('ruby:3.4.4');
  });

  it('.python-version 3.12.3 is kept; requires-python is a minimum', async () => {
    const pinned = await composed({
      'requirements.txt': 'requests\n',
      '.python-version': '3.12.3\n',
      'test_x.py': '',
    });
    expect(pinned.doc['.python'].image).toBe('python:3.12.3-slim');
    const ranged = await composed({
      'pyproject.toml': '[project]\nname = "x"\nrequires-python = ">=3.9"\ndependencies = ["requests"]\n',
      'test_x.py': '',
    });
    expect(ranged.doc['.python'].image).toBe('python:3.14-slim');
  });

  it('[tool.uv] required-version is honoured instead of a stale pinned uv', async () => {
    const { a, doc } = await composed({
      'pyproject.toml': '[project]\nname = "x"\ndependencies = ["httpx"]\n\n[tool.uv]\nrequired-version = ">=0.8.4"\n',
      'uv.lock': 'version = 1\n',
    });
    expect(a.versions.uv).toBe(TOOLS.uv.version);
    expect(doc['.python'].before_script).toContain(`pip install uv==${TOOLS.uv.version}`);
    const old = await composed({
      'pyproject.toml': '[project]\nname = "x"\ndependencies = ["httpx"]\n\n[tool.uv]\nrequired-version = "==0.7.8"\n',
      'uv.lock': 'version = 1\n',
    });
    expect(old.doc['.python'].before_script).toContain('pip install uv==0.7.8');
  });

  it('Poetry 2 installs with --no-root when the project is no package', async () => {
    const app = await composed({
      'pyproject.toml':
        '[tool.poetry]\nname = "my-app"\n\n[tool.poetry.dependencies]\npython = "^3.11"\nfastapi = "*"\n',
      'poetry.lock': '',
      'main.py': '',
    });
    expect(app.doc['.python'].before_script).toContain('poetry install --no-interaction --no-root');
    expect(app.doc['.python'].image).toBe('python:3.14-slim');
    const pkg = await composed({
      'pyproject.toml': '[tool.poetry]\nname = "my-lib"\n\n[tool.poetry.dependencies]\npython = "^3.11"\nhttpx = "*"\n',
      'poetry.lock': '',
      'my_lib/__init__.py': '',
    });
    expect(pkg.doc['.python'].before_script).toContain('poetry install --no-interaction');
  });

  it('go.mod go 1.22 is a minimum; a toolchain directive is exact', async () => {
    const min = await composed({ 'go.mod': 'module x\n\ngo 1.22\n', 'x_test.go': '' });
    expect(min.doc['.go'].image).toBe('golang:1.26');
    const tc = await composed({ 'go.mod': 'module x\n\ngo 1.22\n\ntoolchain go1.23.4\n', 'x_test.go': '' });
    expect(tc.doc['.go'].image).toBe('golang:1.23.4');
  });

  it('rust-toolchain pins the toolchain; packageManager pins pnpm', async () => {
    const rust = await composed({
      'Cargo.toml': '[package]\nname = "x"\n',
      'rust-toolchain.toml': '[toolchain]\nchannel = "1.82.0"\n',
    });
    expect(rust.doc['.rust'].image).toBe('rust:1.82.0');
    const pnpm = await composed({
      'package.json': JSON.stringify({ packageManager: 'pnpm@9.12.3', dependencies: { a: '1' } }),
      'pnpm-lock.yaml': '',
    });
    expect(pnpm.doc['.node'].before_script).toContain('npm install --global pnpm@9.12.3');
  });

  it('names no runtime or tool version outside the versions module', () => {
    const dir = join(import.meta.dirname, '..', '..', 'src', 'generation');
    const offenders: string[] = [];
    for (const f of readdirSync(dir)) {
      if (f === 'versions.ts' || !f.endsWith('.ts')) continue;
      const text = readFileSync(join(dir, f), 'utf8');
      // `tool==1.2.3`, `tool@1.2.3`/`@v1.2.3`, `image:1.2` with a literal version
      const hits = text.match(
        /[\w-]+(==|@v?)\d+\.\d+(\.\d+)?|\b(node|python|golang|ruby|php|rust|gcc|maven|gradle|composer):\d+/g,
      );
      if (hits) offenders.push(`${f}: ${hits.join(', ')}`);
    }
    expect(offenders).toEqual([]);
  });
});
