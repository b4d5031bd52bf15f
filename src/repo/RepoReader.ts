/**
 * Read-only view of a repository at one revision, shared by the CLI (local checkout) and the
 * service (GitLab project + ref). Paths are POSIX, relative to the repository root, no leading "./".
 */
export interface RepoReader {
  /** Every file path in the repository (directories omitted). Called once per analysis. */
  list(): Promise<string[]>;
  /** File text, or null when the file does not exist. */
  read(path: string): Promise<string | null>;
  /** Shown to users in evidence and messages ("./app", "acme/app@main"). */
  readonly description: string;
}

/** Directories never worth walking: dependencies, build output, VCS metadata. */
export const IGNORED_DIRS = new Set([
  '.git',
  'node_modules',
  'vendor',
  '.venv',
  'venv',
  '__pycache__',
  'target',
  'dist',
  'build',
  '.gradle',
  '.idea',
  '.gitlab-ci-local',
  'bin',
  'obj',
  '.next',
  '.nuxt',
  'coverage',
]);

export function isIgnoredPath(path: string): boolean {
  return path.split('/').some((seg) => IGNORED_DIRS.has(seg));
}
