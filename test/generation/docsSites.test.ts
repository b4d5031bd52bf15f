import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { analyzeRepository } from '../../src/generation/analyzeRepository.js';
import { composeDefaultPipeline } from '../../src/generation/composeDefaultPipeline.js';
import { GitLabRepoReader } from '../../src/repo/GitLabRepoReader.js';
import { memoryGitLab } from './support.js';

async function propose(files: Record<string, string>) {
  const a = await analyzeRepository(new GitLabRepoReader(memoryGitLab(files).gitlab, 1, 'main'));
  return { a, jobs: parse(composeDefaultPipeline(a).config) as Record<string, Record<string, unknown>> };
}

describe('static docs sites', () => {
  it('MkDocs with a requirements.txt is a docs site, built strictly and published by pages', async () => {
    const { a, jobs } = await propose({
      'mkdocs.yml': 'site_name: x\n',
      'requirements.txt': 'mkdocs-material==9.6.14\n',
      'docs/index.md': '# x\n',
    });
    expect([a.language, a.framework]).toEqual(['docs', 'mkdocs']);
    expect(jobs['.docs'].before_script).toEqual(['pip install -r requirements.txt']);
    expect(jobs['docs-build']).toMatchObject({
      script: ['mkdocs build --strict --site-dir public'],
      rules: [{ if: '$CI_COMMIT_BRANCH != $CI_DEFAULT_BRANCH' }],
    });
    expect(jobs.pages).toMatchObject({
      stage: 'deploy',
      script: ['mkdocs build --strict --site-dir public'],
      artifacts: { paths: ['public/'] },
      rules: [{ if: '$CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH' }],
    });
    expect(jobs['python-test']).toBeUndefined();
  });

  it('MkDocs without requirements installs the pinned MkDocs and Material, and names the plugins it cannot guess', async () => {
    const { a, jobs } = await propose({
      'mkdocs.yml': 'site_name: x\ntheme:\n  name: material\nplugins:\n  - search\n  - mkdocstrings\n',
    });
    expect(jobs['.docs'].before_script).toEqual([
      `pip install mkdocs==${a.versions.mkdocs} mkdocs-material==${a.versions['mkdocs-material']}`,
    ]);
    expect(a.evidence.find((e) => e.fact === 'plugins without requirements')?.detail).toMatch(/^mkdocstrings:/);
  });

  it('a Python package documented with MkDocs stays a Python project', async () => {
    const { a } = await propose({ 'mkdocs.yml': 'site_name: x\n', 'pyproject.toml': '[project]\nname = "x"\n' });
    expect(a.language).toBe('python');
  });

  it('Hugo: official image, npm ci for PostCSS sites, submodule themes, Pages base URL', async () => {
    const { a, jobs } = await propose({
      'hugo.toml': 'title = "x"\n',
      'package.json': '{"devDependencies":{"postcss":"8"}}',
      'package-lock.json': '{}',
      '.gitmodules': '[submodule "themes/x"]\n',
      'content/_index.md': '',
    });
    expect([a.language, a.framework]).toEqual(['docs', 'hugo']);
    expect((jobs['.docs'].image as { name: string }).name).toMatch(/^ghcr\.io\/gohugoio\/hugo:v\d+\.\d+\.\d+$/);
    expect(jobs['.docs'].before_script).toEqual(['npm ci --no-audit --no-fund']);
    expect(jobs['.docs'].variables).toMatchObject({ GIT_SUBMODULE_STRATEGY: 'recursive' });
    expect(jobs['docs-build'].script).toEqual(['hugo --gc --minify']);
    expect(jobs.pages.script).toEqual(['hugo --gc --minify --baseURL "$CI_PAGES_URL/"']);
    expect(jobs['node-test']).toBeUndefined();
  });

  it('an old config.toml is Hugo only with Hugo directories', async () => {
    const hugo = await propose({ 'config.toml': '', 'content/a.md': '', 'layouts/index.html': '' });
    expect(hugo.a.framework).toBe('hugo');
    const other = await propose({ 'config.toml': '', 'README.md': '' });
    expect(other.a.language).toBe('unknown');
  });
});
