import { readdir, readFile, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { UserFacingError } from '../errors.js';
import { IGNORED_DIRS, type RepoReader } from './RepoReader.js';

/** Enough for any real repository's manifests; stops a walk of a home directory by mistake. */
const MAX_FILES = 50_000;
const MAX_DEPTH = 8;

/** A local checkout. Nothing is written; symlinks are not followed. */
export class LocalRepoReader implements RepoReader {
  readonly root: string;
  readonly description: string;
  private listing: Promise<string[]> | null = null;
  /** how many files were read, for the benchmark and tests */
  reads = 0;

  constructor(dir: string) {
    this.root = resolve(dir);
    this.description = dir;
  }

  static async open(dir: string): Promise<LocalRepoReader> {
    const s = await stat(dir).catch(() => null);
    if (!s) throw new UserFacingError(`${dir}: no such directory`, { exitCode: 2 });
    if (!s.isDirectory()) throw new UserFacingError(`${dir}: not a directory`, { exitCode: 2 });
    return new LocalRepoReader(dir);
  }

  list(): Promise<string[]> {
    this.listing ??= this.walk();
    return this.listing;
  }

  async read(path: string): Promise<string | null> {
    if (path.split('/').includes('..')) return null;
    this.reads++;
    try {
      return await readFile(join(this.root, path), 'utf8');
    } catch {
      return null;
    }
  }

  private async walk(): Promise<string[]> {
    const out: string[] = [];
    const queue: Array<{ rel: string; depth: number }> = [{ rel: '', depth: 0 }];
    while (queue.length > 0 && out.length < MAX_FILES) {
      const { rel, depth } = queue.shift()!;
      const entries = await readdir(join(this.root, rel), { withFileTypes: true }).catch(() => []);
      entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
      for (const e of entries) {
        const p = rel ? `${rel}/${e.name}` : e.name;
        if (e.isDirectory()) {
          if (!IGNORED_DIRS.has(e.name) && depth < MAX_DEPTH) queue.push({ rel: p, depth: depth + 1 });
        } else if (e.isFile()) {
          out.push(p);
        }
      }
    }
    return out;
  }
}
