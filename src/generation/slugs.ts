/**
 * The one registry of language and framework slugs (DESIGN.md, "Vocabulary"). Detection writes only
 * these, the CLI and the `/pipeline generate` options are validated against them, and the docs list
 * them from here. A language's frameworks always include `generic` (no framework detected).
 */
export const FRAMEWORKS_BY_LANGUAGE = {
  go: ['gin', 'echo', 'fiber', 'chi', 'gorilla'],
  python: ['django', 'fastapi', 'flask'],
  node: ['express', 'nestjs', 'nextjs', 'nuxt', 'angular', 'fastify', 'koa', 'react', 'vue', 'svelte'],
  java: ['spring-boot', 'quarkus'],
  kotlin: ['ktor', 'spring-boot'],
  rust: ['axum', 'actix', 'rocket'],
  ruby: ['rails', 'sinatra'],
  php: ['laravel', 'symfony'],
  dotnet: ['aspnet-core'],
  c: ['cmake', 'meson', 'make'],
  cpp: ['cmake', 'meson', 'make'],
  terraform: ['terraform', 'opentofu'],
  helm: [],
  docker: [],
  docs: ['mkdocs', 'hugo'],
  unknown: [],
} as const satisfies Record<string, readonly string[]>;

export type Language = keyof typeof FRAMEWORKS_BY_LANGUAGE;

export const LANGUAGES = Object.keys(FRAMEWORKS_BY_LANGUAGE) as Language[];

export function isLanguage(s: string): s is Language {
  return Object.hasOwn(FRAMEWORKS_BY_LANGUAGE, s);
}

/** The frameworks valid for a language, `generic` first. */
export function frameworksOf(language: Language): string[] {
  return ['generic', ...FRAMEWORKS_BY_LANGUAGE[language]];
}

/** Every framework slug of any language, sorted, `generic` included. */
export function allFrameworks(): string[] {
  return [...new Set(LANGUAGES.flatMap(frameworksOf))].sort();
}

/** Any framework slug of the registry, `generic` included: what an Analysis may carry. */
export type Framework = 'generic' | (typeof FRAMEWORKS_BY_LANGUAGE)[Language][number];

export function isFramework(s: string): s is Framework {
  return allFrameworks().includes(s);
}

/**
 * Why a `--language`/`--framework` pair is not in the registry, with the valid slugs, or null when
 * it is. A framework alone is checked against every language's frameworks.
 */
export function slugProblem(language: string | undefined, framework: string | undefined): string | null {
  if (language !== undefined && !isLanguage(language))
    return `unknown language "${language}"; valid: ${LANGUAGES.join(', ')}`;
  if (framework === undefined) return null;
  const valid = language !== undefined ? frameworksOf(language as Language) : allFrameworks();
  if (valid.includes(framework)) return null;
  return language !== undefined
    ? `unknown framework "${framework}" for ${language}; valid: ${valid.join(', ')}`
    : `unknown framework "${framework}"; valid: ${valid.join(', ')}`;
}

/** What each language slug covers and where detection finds it, for docs/slugs.md. */
const LANGUAGE_NOTES: Record<Language, string> = {
  go: 'Go modules (`go.mod`)',
  python: '`pyproject.toml`, `requirements.txt`, `setup.py`, `Pipfile`, `manage.py`',
  node: 'JavaScript and TypeScript alike (`package.json`)',
  java: 'Maven or Gradle builds without Kotlin',
  kotlin: 'Gradle or Maven builds with the Kotlin plugin or sources',
  rust: 'Cargo (`Cargo.toml`)',
  ruby: 'Bundler (`Gemfile`)',
  php: 'Composer (`composer.json`)',
  dotnet: '`.csproj`, `.fsproj`, `.sln`',
  c: 'C built with CMake (`CMakeLists.txt`), Meson (`meson.build`) or a Makefile next to C sources',
  cpp: 'C++ (CMake `LANGUAGES CXX`, Meson `cpp`, or C++ sources)',
  terraform: 'Terraform or OpenTofu configurations (`.tf`, `.tofu`) without an application manifest',
  helm: 'Helm charts (`Chart.yaml`) without an application manifest',
  docker: 'a repository that is only a Dockerfile (or Containerfile)',
  docs: 'static documentation sites: `mkdocs.yml` (not inside a Python package), `hugo.toml`',
  unknown: 'no language recognised',
};

/** docs/slugs.md, generated from the registry (test/generation/slugs.test.ts keeps the file in step). */
export function slugsMarkdown(): string {
  const rows = LANGUAGES.map(
    (l) =>
      `| \`${l}\` | ${frameworksOf(l)
        .map((f) => `\`${f}\``)
        .join(', ')} | ${LANGUAGE_NOTES[l]} |`,
  );
  return [
    '# Language and framework slugs',
    '',
    '<!-- Generated from src/generation/slugs.ts: run `UPDATE_SLUGS_DOC=1 npx vitest run test/generation/slugs.test.ts`. -->',
    '',
    'Detection writes only these slugs, and `generate --language/--framework`, the merge-request',
    'command `/pipeline generate --language/--framework` and the `best`/`stats` filters accept only',
    'these (lowercase; anything else is refused with this list). `generic` means no framework was',
    'detected. The built-in default pipeline of a pair is named `<language>-<framework>` in',
    '`ci-components/defaults/`.',
    '',
    '| language | frameworks | what it covers |',
    '|---|---|---|',
    ...rows,
    '',
  ].join('\n');
}
