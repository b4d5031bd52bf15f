import { closeSync, mkdirSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { UserFacingError } from '../errors.js';

interface Holder {
  pid: number;
  host: string;
  command: string;
  since: string;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export class DataDirLockedError extends UserFacingError {
  constructor(
    readonly dataDir: string,
    readonly holder: Holder,
  ) {
    super(
      `the embedded store in ${dataDir} is in use by process ${holder.pid} (${holder.command}, since ${holder.since}); ` +
        'stop that process, or set DATABASE_URL to share a PostgreSQL server between processes',
      { exitCode: 1, status: 503 },
    );
    this.name = 'DataDirLockedError';
  }
}

/**
 * PGlite is single-process: DATA_DIR is held through an exclusive lock file naming its holder.
 * A lock left by a dead process on this host is taken over.
 */
export function acquireDataDirLock(dataDir: string, command: string): () => void {
  mkdirSync(dataDir, { recursive: true });
  const path = join(dataDir, 'pipeline-learner.lock');
  const me: Holder = { pid: process.pid, host: hostname(), command, since: new Date().toISOString() };
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const fd = openSync(path, 'wx', 0o600);
      writeSync(fd, JSON.stringify(me));
      closeSync(fd);
      let released = false;
      const release = () => {
        if (released) return;
        released = true;
        process.off('exit', release);
        try {
          const current = JSON.parse(readFileSync(path, 'utf8')) as Holder;
          if (current.pid === me.pid && current.host === me.host) unlinkSync(path);
        } catch {
          // already gone
        }
      };
      process.on('exit', release);
      return release;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      let holder: Holder | null = null;
      try {
        holder = JSON.parse(readFileSync(path, 'utf8')) as Holder;
      } catch {
        holder = null; // half-written or unreadable: treat as stale
      }
      if (holder && (holder.host !== me.host || alive(holder.pid))) throw new DataDirLockedError(dataDir, holder);
      try {
        unlinkSync(path);
      } catch {
        // someone else removed it first
      }
    }
  }
  throw new UserFacingError(`could not lock ${dataDir}: the lock file keeps changing; is another process starting?`);
}
