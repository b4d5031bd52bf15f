import type { Analysis } from './analyzeRepository.js';

const CMAKE_BUILD = 'cmake -S . -B build -DCMAKE_BUILD_TYPE=Release && cmake --build build --parallel';
const MESON_BUILD = 'meson setup build && meson compile -C build';

/**
 * Built-in defaults of the C/C++ build systems, Terraform/OpenTofu, Helm, Dockerfile-only and docs
 * stacks (nativeStacks.ts, infraStacks.ts, docsSites.ts), with typical facts like BUILT_IN_STACKS.
 */
export const MORE_BUILT_IN_STACKS: Array<{ language: string; framework: string; facts: Partial<Analysis> }> = [
  ...(['cpp', 'c'] as const).flatMap((language) => [
    {
      language,
      framework: 'cmake',
      facts: {
        buildTool: 'cmake',
        buildCommand: CMAKE_BUILD,
        testCommand: 'ctest --test-dir build --output-on-failure',
      },
    },
    {
      language,
      framework: 'meson',
      facts: { buildTool: 'meson', buildCommand: MESON_BUILD, testCommand: 'meson test -C build --print-errorlogs' },
    },
    { language, framework: 'make', facts: { buildTool: 'make', buildCommand: 'make', testCommand: 'make check' } },
  ]),
  {
    language: 'terraform',
    framework: 'terraform',
    facts: {
      buildTool: 'terraform',
      lockfile: '.terraform.lock.hcl',
      hasDependencies: true,
      lintCommand: 'terraform fmt -check -recursive -diff',
      testCommand: 'terraform test',
      stackDirs: [{ dir: '.' }, { dir: 'modules/network' }],
    },
  },
  {
    language: 'terraform',
    framework: 'opentofu',
    facts: {
      buildTool: 'tofu',
      lockfile: '.terraform.lock.hcl',
      hasDependencies: true,
      lintCommand: 'tofu fmt -check -recursive -diff',
      stackDirs: [{ dir: '.' }],
    },
  },
  {
    language: 'helm',
    framework: 'generic',
    facts: {
      buildTool: 'helm',
      hasDependencies: true,
      stackDirs: [
        { dir: 'charts/app', dependencies: true, repositories: ['https://charts.bitnami.com/bitnami'] },
        { dir: 'charts/worker' },
      ],
    },
  },
  {
    language: 'docker',
    framework: 'generic',
    facts: { buildTool: 'buildah', dockerfile: 'Dockerfile', service: true },
  },
  {
    language: 'docs',
    framework: 'mkdocs',
    facts: { buildTool: 'mkdocs', packageManager: 'pip', lockfile: 'requirements.txt', hasDependencies: true },
  },
  { language: 'docs', framework: 'hugo', facts: { buildTool: 'hugo' } },
];
