import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { GitLab, LintResult, TreeEntry } from '../../src/gitlab/GitLab.js';
import { LocalRepoReader } from '../../src/repo/LocalRepoReader.js';
import type { RepoReader } from '../../src/repo/RepoReader.js';

export const FIXTURES = join(import.meta.dirname, '..', 'fixtures', 'repos');

export interface Expected {
  language: string;
  framework: string;
  versions?: Record<string, string>;
  packageManager?: string;
  buildTool?: string;
  typescript?: boolean;
  dockerfile?: string;
  dockerfile_proposed?: boolean;
  subprojects?: string[];
  parts?: string[];
  runs?: 'green' | 'red';
  /** the candidate the seed rule picks (default `default`) */
  source?: string;
  testCommand?: string;
  lintCommand?: string;
  service?: boolean;
  /** images of the test job's services: `postgres` (any tag) or `postgres:16` (exact) */
  services?: string[];
  /** the migration step the test job runs before the tests */
  migrate?: string;
}

export const EXPECTED: Record<string, Expected> = JSON.parse(readFileSync(join(FIXTURES, 'expected.json'), 'utf8'));

export function fixtureReader(name: string): LocalRepoReader {
  return new LocalRepoReader(join(FIXTURES, name));
}

/** A GitLab of our own interface, in memory, counting calls (the real REST fake is used in gitlabApiCalls.test.ts). */
export function memoryGitLab(files: Record<string, string>, lint?: (content: string) => LintResult) {
  const calls = { tree: 0, fileRaw: 0, lint: 0 };
  const gl: Partial<GitLab> = {
    async tree(): Promise<TreeEntry[]> {
      calls.tree++;
      return Object.keys(files).map((path) => ({ path, type: 'blob' as const }));
    },
    async fileRaw(_p, path) {
      calls.fileRaw++;
      return files[path] ?? null;
    },
    async lint(_p, content) {
      calls.lint++;
      return lint ? lint(content) : { valid: true, errors: [], warnings: [] };
    },
  };
  return { gitlab: gl as GitLab, calls };
}

/** A repository of a few files, in memory: the small fixtures of the version and honest-test tests. */
export function repo(files: Record<string, string>): RepoReader {
  return {
    description: 'memory',
    list: async () => Object.keys(files),
    read: async (p) => files[p] ?? null,
  };
}
