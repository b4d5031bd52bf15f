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
