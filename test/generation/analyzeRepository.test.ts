import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { analyzeRepository, MAX_READS, versionFromRange } from '../../src/generation/analyzeRepository.js';
import { GitLabRepoReader } from '../../src/repo/GitLabRepoReader.js';
import { EXPECTED, FIXTURES, fixtureReader, memoryGitLab } from './support.js';

function filesOf(dir: string, prefix = ''): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of readdirSync(join(dir, prefix))) {
    const rel = prefix ? `${prefix}/${name}` : name;
    if (statSync(join(dir, rel)).isDirectory()) Object.assign(out, filesOf(dir, rel));
    else out[rel] = readFileSync(join(dir, rel), 'utf8');
  }
  return out;
}

describe('analyzeRepository on the fixture repositories', () => {
  const stacks = new Set(Object.values(EXPECTED).map((e) => e.language));
  it('covers every stack the issue lists', () => {
    for (const l of [
      'go',
      'node',
      'python',
      'java',
      'kotlin',
      'rust',
      'ruby',
      'php',
      'dotnet',
      'cpp',
      'c',
      'terraform',
      'helm',
      'docker',
      'docs',
    ]) {
      expect(stacks, l).toContain(l);
    }
    const fw = new Set(Object.values(EXPECTED).map((e) => e.framework));
    for (const f of [
      'express',
      'nestjs',
      'nextjs',
      'react',
      'vue',
      'django',
      'fastapi',
      'flask',
      'spring-boot',
      'ktor',
      'rails',
      'laravel',
      'symfony',
      'aspnet-core',
      'cmake',
      'meson',
      'make',
      'terraform',
      'opentofu',
      'mkdocs',
      'hugo',
    ]) {
      expect(fw, f).toContain(f);
    }
  });

  for (const [name, exp] of Object.entries(EXPECTED)) {
    it(`${name} → ${exp.language}/${exp.framework}`, async () => {
      const reader = fixtureReader(name);
      const a = await analyzeRepository(reader);
      expect({ language: a.language, framework: a.framework }).toEqual({
        language: exp.language,
        framework: exp.framework,
      });
      for (const [tool, v] of Object.entries(exp.versions ?? {})) expect(a.versions[tool], tool).toBe(v);
      if (exp.packageManager) expect(a.packageManager).toBe(exp.packageManager);
      if (exp.buildTool) expect(a.buildTool).toBe(exp.buildTool);
      if (exp.typescript !== undefined) expect(a.typescript).toBe(exp.typescript);
      expect(a.dockerfile).toBe(exp.dockerfile ?? null);
      if (exp.subprojects) expect(a.subprojects.map((s) => s.path).sort()).toEqual(exp.subprojects);
      expect(a.parts.map((p) => p.root)).toEqual(exp.parts ?? []);
      if (exp.testCommand) expect(a.testCommand).toBe(exp.testCommand);
      if (exp.lintCommand) expect(a.lintCommand).toBe(exp.lintCommand);
      if (exp.service !== undefined) expect(a.service).toBe(exp.service);
      if (exp.migrate) expect(a.automation.migrate).toBe(exp.migrate);
      if (a.language !== 'unknown') {
        expect(a.evidence.some((e) => e.fact === `language=${a.language}`)).toBe(true);
        if (a.framework !== 'generic') expect(a.evidence.some((e) => e.fact === `framework=${a.framework}`)).toBe(true);
      }
      expect(reader.reads).toBeLessThanOrEqual(MAX_READS);
    });
  }

  it('gives the same answer through GitLab with one tree listing and few reads', async () => {
    for (const name of Object.keys(EXPECTED)) {
      const { gitlab, calls } = memoryGitLab(filesOf(join(FIXTURES, name)));
      const viaGitLab = await analyzeRepository(new GitLabRepoReader(gitlab, 'acme/app', 'main'));
      const local = await analyzeRepository(fixtureReader(name));
      expect(viaGitLab, name).toEqual(local);
      expect(calls.tree).toBe(1);
      expect(calls.fileRaw).toBeLessThanOrEqual(MAX_READS);
    }
  });

  it('never reads a file the listing does not have', async () => {
    const { gitlab, calls } = memoryGitLab({ 'go.mod': 'module x\n\ngo 1.21\n' });
    const reader = new GitLabRepoReader(gitlab, 1, 'main');
    expect(await reader.read('package.json')).toBeNull();
    expect(calls.fileRaw).toBe(0);
  });

  it('ignores dependency folders when detecting', async () => {
    const { gitlab } = memoryGitLab({ 'node_modules/x/go.mod': 'go 1.1', 'requirements.txt': 'flask==3.0\n' });
    const a = await analyzeRepository(new GitLabRepoReader(gitlab, 1, 'main'));
    expect(a.language).toBe('python');
    expect(a.framework).toBe('flask');
    expect(a.subprojects).toEqual([]);
  });

  it('reads version ranges as their lowest allowed release', () => {
    expect(versionFromRange('>=20.0.0', 1)).toBe('20');
    expect(versionFromRange('^3.11')).toBe('3.11');
    expect(versionFromRange('~> 7.1')).toBe('7.1');
    expect(versionFromRange('lts/*')).toBeNull();
  });

  it('detects TypeScript, real test scripts and skips npm placeholder tests', async () => {
    const { gitlab } = memoryGitLab({
      'package.json': JSON.stringify({
        scripts: { test: 'echo "Error: no test specified" && exit 1' },
        devDependencies: { typescript: '5' },
      }),
    });
    const a = await analyzeRepository(new GitLabRepoReader(gitlab, 1, 'main'));
    expect(a.typescript).toBe(true);
    expect(a.testCommand).toBeNull();
  });
});
