import type { Analysis, Analyzer } from './analyzeRepository.js';
import { EXPIRE, type Fragment, type Job } from './composeDefaultPipeline.js';
import type { Language } from './slugs.js';
import { STACK_IMAGES, STACK_TOOL_VERSIONS } from './stackTools.js';
import { defaultVersion } from './versions.js';

/**
 * Static documentation sites (language `docs`): MkDocs and Hugo, published with GitLab Pages.
 * Checked before the language manifests, because such a site's requirements.txt or package.json
 * only serves the site build.
 */

const MKDOCS = /^mkdocs\.ya?ml$/;
const HUGO_CONFIG = /^hugo\.(toml|ya?ml|json)$/;
const HUGO_DIRS = /^(archetypes|layouts|themes)\//;

export function detectDocsSite(rootFiles: string[], files: string[]): { language: Language; manifest: string } | null {
  const mkdocs = rootFiles.find((f) => MKDOCS.test(f));
  // a Python package documenting itself with MkDocs is a Python project
  if (mkdocs && !rootFiles.some((f) => f === 'pyproject.toml' || f === 'setup.py' || f === 'setup.cfg'))
    return { language: 'docs', manifest: mkdocs };
  const hugo = rootFiles.find((f) => HUGO_CONFIG.test(f));
  if (hugo) return { language: 'docs', manifest: hugo };
  // before Hugo 0.110 the file was config.toml: only with Hugo's directory layout
  const legacy = rootFiles.find((f) => /^config\.(toml|ya?ml)$/.test(f));
  if (legacy && files.some((f) => f.startsWith('content/')) && files.some((f) => HUGO_DIRS.test(f)))
    return { language: 'docs', manifest: legacy };
  return null;
}

const REQUIREMENTS = ['requirements.txt', 'docs/requirements.txt', 'requirements-docs.txt', 'docs-requirements.txt'];
const BUILT_IN_PLUGINS = new Set([
  'search',
  'tags',
  'blog',
  'social',
  'offline',
  'privacy',
  'info',
  'meta',
  'optimize',
]);

export const analyzeDocs: Analyzer = async (a, b, files, manifest) => {
  if (MKDOCS.test(manifest)) {
    a.framework = 'mkdocs';
    a.buildTool = 'mkdocs';
    a.packageManager = 'pip';
    const yml = (await b.read(manifest)) ?? '';
    a.evidence.push({ fact: 'framework=mkdocs', file: manifest, detail: 'MkDocs configuration' });
    const requirements = REQUIREMENTS.find((f) => b.has(f)) ?? null;
    a.lockfile = requirements;
    a.hasDependencies = true;
    const material = /^theme\s*:\s*(?:\n\s+name\s*:\s*)?["']?material\b/m.test(yml);
    if (requirements) {
      a.evidence.push({ fact: 'dependencies', file: requirements, detail: 'installed with pip install -r' });
    } else {
      a.versions.mkdocs = STACK_TOOL_VERSIONS.mkdocs;
      if (material) a.versions['mkdocs-material'] = STACK_TOOL_VERSIONS['mkdocs-material'];
      const plugins = [...(yml.match(/^plugins\s*:\s*\n((?:\s+-.*\n?)+)/m)?.[1] ?? '').matchAll(/-\s*["']?([\w-]+)/g)]
        .map((m) => m[1])
        .filter((p) => !BUILT_IN_PLUGINS.has(p));
      if (plugins.length > 0)
        a.evidence.push({
          fact: 'plugins without requirements',
          file: manifest,
          detail: `${plugins.join(', ')}: add them to a requirements.txt, the build installs only MkDocs${material ? ' and Material' : ''}`,
        });
    }
    a.buildCommand = 'mkdocs build --strict --site-dir public';
    return;
  }
  a.framework = 'hugo';
  a.buildTool = 'hugo';
  a.evidence.push({ fact: 'framework=hugo', file: manifest, detail: 'Hugo site configuration' });
  if (b.has('.gitmodules'))
    a.evidence.push({ fact: 'git submodules', file: '.gitmodules', detail: 'themes checked out recursively' });
  // PostCSS/Tailwind pipelines need the site's node_modules
  if (b.has('package.json')) {
    a.packageManager = 'npm';
    a.lockfile = b.has('package-lock.json') ? 'package-lock.json' : 'package.json';
    a.hasDependencies = true;
  }
  a.buildCommand = 'hugo --gc --minify';
  void files;
};

/** Pages publishes `public/` from the default branch; other pipelines build the same site to check it. */
export function docsFragment(a: Analysis): Fragment {
  const mkdocs = a.framework === 'mkdocs';
  let base: Job;
  if (mkdocs) {
    const install = a.lockfile
      ? [`pip install -r ${a.lockfile}`]
      : [
          `pip install mkdocs==${a.versions.mkdocs ?? STACK_TOOL_VERSIONS.mkdocs}${a.versions['mkdocs-material'] ? ` mkdocs-material==${a.versions['mkdocs-material']}` : ''}`,
        ];
    base = {
      image: `python:${a.versions.python ?? defaultVersion('python')}-slim`,
      interruptible: true,
      variables: { PIP_CACHE_DIR: '$CI_PROJECT_DIR/.cache/pip', PIP_DISABLE_PIP_VERSION_CHECK: '1' },
      cache: { key: a.lockfile ? { files: [a.lockfile] } : 'mkdocs', paths: ['.cache/pip/'] },
      before_script: install,
    };
  } else {
    const variables: Record<string, string> = {
      HUGO_ENVIRONMENT: 'production',
      HUGO_CACHEDIR: '$CI_PROJECT_DIR/.hugo_cache',
    };
    if (a.evidence.some((e) => e.file === '.gitmodules')) variables.GIT_SUBMODULE_STRATEGY = 'recursive';
    base = {
      image: { name: STACK_IMAGES.hugo(a.versions.hugo ?? STACK_TOOL_VERSIONS.hugo), entrypoint: [''] },
      interruptible: true,
      variables,
      cache: { key: 'hugo', paths: ['.hugo_cache/'] },
    };
    if (a.packageManager === 'npm')
      base.before_script = [
        a.lockfile === 'package-lock.json' ? 'npm ci --no-audit --no-fund' : 'npm install --no-audit --no-fund',
      ];
  }
  const build = a.buildCommand ?? (mkdocs ? 'mkdocs build --strict --site-dir public' : 'hugo --gc --minify');
  return {
    name: a.framework === 'hugo' ? 'hugo' : 'mkdocs',
    description: `${mkdocs ? 'MkDocs (--strict)' : 'Hugo'}: build the site on every pipeline, publish it with GitLab Pages from the default branch`,
    jobs: {
      '.docs': base,
      'docs-build': {
        extends: '.docs',
        stage: 'build',
        script: [build],
        artifacts: { expire_in: EXPIRE, paths: ['public/'] },
        rules: [{ if: '$CI_COMMIT_BRANCH != $CI_DEFAULT_BRANCH' }],
      },
      pages: {
        extends: '.docs',
        stage: 'deploy',
        // Hugo writes absolute links: the site is built for the address Pages serves it from
        script: [mkdocs ? build : `${build} --baseURL "$CI_PAGES_URL/"`],
        artifacts: { paths: ['public/'] },
        rules: [{ if: '$CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH' }],
      },
    },
  };
}
