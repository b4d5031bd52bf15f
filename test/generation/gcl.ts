import { execFile, spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { parseAllDocuments } from 'yaml';

const run = promisify(execFile);

/**
 * gitlab-ci-local copies the repository with rsync before running jobs. Without it those tests skip
 * loudly on a developer machine; under CI=true they run (and fail) so a missing install shows.
 */
export const skipWithoutRsync = (() => {
  const missing = spawnSync('rsync', ['--version']).error !== undefined;
  if (missing && process.env.CI !== 'true') {
    console.warn('\n!!! gitlab-ci-local run tests SKIPPED: rsync is not installed (apt-get install rsync)\n');
    return true;
  }
  return false;
})();
const GCL = join(import.meta.dirname, '..', '..', 'node_modules', 'gitlab-ci-local', 'src', 'index.js');
export const REMOTE_HOST = 'gitlab.example.com';
export const REMOTE_PATH = 'group/project';

const GIT_ENV = {
  GIT_AUTHOR_NAME: 'test',
  GIT_AUTHOR_EMAIL: 'test@example.invalid',
  GIT_COMMITTER_NAME: 'test',
  GIT_COMMITTER_EMAIL: 'test@example.invalid',
};

/** A throwaway git repository (gitlab-ci-local needs a commit and a remote); returns its path and HEAD sha. */
export async function gitRepo(files: Record<string, string>, copyFrom?: string): Promise<{ dir: string; sha: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'pl-gcl-'));
  if (copyFrom) cpSync(copyFrom, dir, { recursive: true });
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), content);
  }
  const env = { ...process.env, ...GIT_ENV };
  await run('git', ['init', '-q', '-b', 'main'], { cwd: dir, env });
  await run('git', ['add', '-A'], { cwd: dir, env });
  await run('git', ['commit', '-q', '-m', 'fixture'], { cwd: dir, env });
  await run('git', ['remote', 'add', 'origin', `git@${REMOTE_HOST}:${REMOTE_PATH}.git`], { cwd: dir, env });
  await run('git', ['update-ref', 'refs/remotes/origin/main', 'HEAD'], { cwd: dir, env });
  await run('git', ['symbolic-ref', 'refs/remotes/origin/HEAD', 'refs/remotes/origin/main'], { cwd: dir, env });
  const { stdout } = await run('git', ['rev-parse', 'HEAD'], { cwd: dir, env });
  return { dir, sha: stdout.trim() };
}

export interface GclResult {
  code: number;
  stdout: string;
  stderr: string;
}

export async function gcl(cwd: string, args: string[], timeoutMs = 240_000): Promise<GclResult> {
  try {
    const { stdout, stderr } = await run(process.execPath, [GCL, '--no-color', ...args], {
      cwd,
      timeout: timeoutMs,
      maxBuffer: 32 * 1024 * 1024,
      env: { ...process.env, FORCE_COLOR: '0' },
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : 1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

/** Runs `items` through `fn` with at most `width` in flight (two cores here). */
export async function pool<T, R>(items: T[], width: number, fn: (item: T, slot: number) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async (_, slot) => {
      while (next < items.length) {
        const i = next++;
        out[i] = await fn(items[i], slot);
      }
    }),
  );
  return out;
}

/** The expanded YAML of `--preview`, without the warnings gitlab-ci-local prints before it. */
export function previewDoc(stdout: string): Record<string, Record<string, unknown>> {
  const text = stdout
    .split('\n')
    .filter((l) => !/^\s*(WARN|INFO)\b/.test(l))
    .join('\n');
  const docs = parseAllDocuments(text, { merge: true });
  const list = Array.isArray(docs) ? docs : [];
  for (let i = list.length - 1; i >= 0; i--) {
    const js = list[i].toJS({ maxAliasCount: -1 });
    if (js && typeof js === 'object') return js as Record<string, Record<string, unknown>>;
  }
  return {};
}
