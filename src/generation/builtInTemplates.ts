import { type Analysis, emptyAnalysis } from './analyzeRepository.js';
import { composeDefaultPipeline } from './composeDefaultPipeline.js';
import { MORE_BUILT_IN_STACKS } from './moreBuiltInStacks.js';
import type { Framework, Language } from './slugs.js';

/** A pipeline template as stored in the `pipeline_templates` collection. */
export interface TemplateRecord {
  /** stable id, e.g. "node-express" or "user:acme-python-django" */
  id: string;
  language: string;
  framework: string;
  config: string;
  dockerfile: string | null;
  description: string;
  /**
   * Built-in defaults are composed again from each repository's own facts (versions, lockfile,
   * commands) instead of being copied verbatim, so seeding the collection with them never
   * replaces a fitted default with a generic one.
   */
  builtin: boolean;
}

/** The stacks with a built-in default; the facts are typical ones so the rendered file is realistic. */
export const BUILT_IN_STACKS: Array<{ language: string; framework: string; facts: Partial<Analysis> }> = [
  ...(['generic', 'gin'] as const).map((framework) => ({
    language: 'go',
    framework,
    facts: {
      lockfile: 'go.sum',
      hasDependencies: true,
      testCommand: 'go test ./...',
      testRunner: 'go',
      service: framework !== 'generic',
    },
  })),
  ...(['generic', 'express', 'nestjs', 'nextjs', 'react', 'vue'] as const).map((framework) => ({
    language: 'node',
    framework,
    facts: {
      packageManager: 'npm',
      buildTool: 'npm',
      lockfile: 'package-lock.json',
      hasDependencies: true,
      typescript: framework === 'nestjs',
      testCommand: 'npm test',
      lintCommand: 'npm run lint',
      buildCommand: framework === 'generic' || framework === 'express' ? null : 'npm run build',
      service: framework === 'express' || framework === 'nestjs' || framework === 'nextjs',
    },
  })),
  ...(['generic', 'django', 'fastapi', 'flask'] as const).map((framework) => ({
    language: 'python',
    framework,
    facts: {
      packageManager: 'pip',
      buildTool: 'pip',
      lockfile: 'requirements.txt',
      hasDependencies: true,
      testCommand: framework === 'django' ? 'python manage.py test' : 'pytest',
      testRunner: framework === 'django' ? null : 'pytest',
      service: framework !== 'generic',
    },
  })),
  ...(['generic', 'spring-boot'] as const).map((framework) => ({
    language: 'java',
    framework,
    facts: {
      buildTool: 'maven',
      packageManager: 'maven',
      lockfile: 'pom.xml',
      hasDependencies: true,
      testCommand: 'mvn --batch-mode verify',
      buildCommand: 'mvn --batch-mode package -DskipTests',
      service: framework !== 'generic',
    },
  })),
  ...(['generic', 'ktor'] as const).map((framework) => ({
    language: 'kotlin',
    framework,
    facts: {
      buildTool: 'gradle',
      packageManager: 'gradle',
      wrapper: true,
      lockfile: 'build.gradle.kts',
      hasDependencies: true,
      testCommand: './gradlew check --no-daemon',
      buildCommand: './gradlew assemble --no-daemon',
      service: framework !== 'generic',
    },
  })),
  ...(['generic', 'axum'] as const).map((framework) => ({
    language: 'rust',
    framework,
    facts: {
      buildTool: 'cargo',
      lockfile: 'Cargo.lock',
      hasDependencies: true,
      testCommand: 'cargo test --locked',
      lintCommand: 'cargo clippy --all-targets -- -D warnings',
      buildCommand: 'cargo build --release --locked',
      service: framework !== 'generic',
    },
  })),
  ...(['generic', 'rails'] as const).map((framework) => ({
    language: 'ruby',
    framework,
    facts: {
      buildTool: 'bundler',
      packageManager: 'bundler',
      lockfile: 'Gemfile.lock',
      hasDependencies: true,
      testCommand: framework === 'rails' ? 'bin/rails test' : 'bundle exec rake test',
      lintCommand: 'bundle exec rubocop',
      service: framework !== 'generic',
    },
  })),
  ...(['generic', 'laravel', 'symfony'] as const).map((framework) => ({
    language: 'php',
    framework,
    facts: {
      buildTool: 'composer',
      packageManager: 'composer',
      lockfile: 'composer.lock',
      hasDependencies: true,
      testCommand: framework === 'laravel' ? 'php artisan test' : 'vendor/bin/phpunit',
      testRunner: 'phpunit',
      service: framework !== 'generic',
    },
  })),
  ...(['generic', 'aspnet-core'] as const).map((framework) => ({
    language: 'dotnet',
    framework,
    facts: {
      buildTool: 'dotnet',
      lockfile: 'packages.lock.json',
      hasDependencies: true,
      testCommand: 'dotnet test',
      testRunner: 'dotnet',
      buildCommand: 'dotnet build --configuration Release',
      lintCommand: 'dotnet format --verify-no-changes',
      service: framework !== 'generic',
    },
  })),
  ...MORE_BUILT_IN_STACKS,
  // no recognised stack but a Makefile with a test target; with nothing at all no proposal is made
  { language: 'unknown', framework: 'generic', facts: { buildTool: 'make', testCommand: 'make test' } },
];

export function syntheticAnalysis(language: string, framework: string, facts: Partial<Analysis>): Analysis {
  // slugs.test.ts checks every built-in stack against the registry
  return { ...emptyAnalysis(), language: language as Language, framework: framework as Framework, ...facts };
}

/** Every built-in default, rendered with typical facts: what ci-components/defaults/ holds and what seeds `pipeline_templates`. */
export function builtInTemplates(): TemplateRecord[] {
  return BUILT_IN_STACKS.map(({ language, framework, facts }) => {
    const composed = composeDefaultPipeline(syntheticAnalysis(language, framework, facts));
    return {
      id: composed.id,
      language,
      framework,
      config: composed.config,
      dockerfile: composed.dockerfile,
      description: `Built-in default pipeline for ${language}${framework === 'generic' ? '' : ` (${framework})`}`,
      builtin: true,
    };
  });
}
