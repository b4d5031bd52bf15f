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
