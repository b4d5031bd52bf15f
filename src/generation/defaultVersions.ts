/** Versions used when the repository does not say; each is a maintained release line. */
export const DEFAULT_VERSIONS: Record<string, string> = {
  go: '1.24',
  node: '22',
  python: '3.12',
  java: '21',
  rust: '1.86',
  ruby: '3.3',
  php: '8.3',
  dotnet: '8.0',
  gcc: '14',
};
