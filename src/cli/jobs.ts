import type { CliIo } from '../cli.js';
import { loadConfig } from '../config.js';
import type { Db } from '../db/database.js';
import { countJobsByStatus, type JobRow, listJobs, purgeDeadJobs, retryDeadJobs } from '../db/jobQueue.js';
import { migrateToLatest, openDatabase } from '../db/openDatabase.js';
import type { JobStatus } from '../db/tables/core.js';
import { UserFacingError } from '../errors.js';

export const help = `Usage: pipeline-learner jobs [list [--all] [--json] | retry <id>... | retry --all | purge]

Dead-lettered jobs: those that failed PIPELINE_LEARNER_JOB_MAX_ATTEMPTS times (or could never
succeed), with their last error.

  list           dead jobs (default); --all adds queued and running ones; --json for JSON lines
  retry <id>...  queue these dead jobs again with a fresh attempt budget
  retry --all    queue every dead job again
  purge          delete every dead job

With the embedded store, stop \`serve\` first (one process at a time); with DATABASE_URL it can run
beside the service.
`;

function table(rows: JobRow[]): string {
  if (rows.length === 0) return '';
  const lines = rows.map((r) => {
    const err = (r.lastError ?? '').replace(/\s+/g, ' ').slice(0, 100);
    return `${String(r.id).padStart(6)}  ${r.status.padEnd(7)}  ${r.kind.padEnd(14)}  ${`${r.attempts}/${r.maxAttempts}`.padEnd(5)}  ${r.updatedAt.toISOString()}  ${err}`;
  });
  return `${'id'.padStart(6)}  ${'status'.padEnd(7)}  ${'kind'.padEnd(14)}  tries  ${'updated'.padEnd(24)}  last error\n${lines.join('\n')}\n`;
}

async function runWith(db: Db, argv: string[], io: CliIo): Promise<number> {
  const [verb = 'list', ...rest] = argv;
  if (verb === 'list') {
    const bad = rest.find((a) => a !== '--all' && a !== '--json');
    if (bad) throw new UserFacingError(`unknown option ${bad}`, { exitCode: 2 });
    const status: JobStatus[] = rest.includes('--all') ? ['dead', 'queued', 'running'] : ['dead'];
    const rows = await listJobs(db, { status, limit: 1000 });
    if (rest.includes('--json')) {
      for (const r of rows) io.stdout(`${JSON.stringify(r)}\n`);
      return 0;
    }
    const counts = await countJobsByStatus(db);
    io.stdout(table(rows));
    io.stdout(
      `${counts.dead} dead, ${counts.queued} queued, ${counts.running} running, ${counts.done} done` +
        (counts.dead ? '\nretry them with: pipeline-learner jobs retry --all\n' : '\n'),
    );
    return 0;
  }
  if (verb === 'retry') {
    if (rest.length === 0) throw new UserFacingError('retry needs job ids or --all', { exitCode: 2 });
    let ids: number[] | null = null;
    if (!rest.includes('--all')) {
      ids = rest.map((a) => {
        if (!/^\d+$/.test(a)) throw new UserFacingError(`not a job id: ${a}`, { exitCode: 2 });
        return Number(a);
      });
    }
    const retried = await retryDeadJobs(db, ids);
    const missing = ids ? ids.filter((id) => !retried.includes(id)) : [];
    io.stdout(`queued again: ${retried.length ? retried.join(', ') : 'none'}\n`);
    if (missing.length) {
      io.stderr(`not dead-lettered (unknown, queued or done): ${missing.join(', ')}\n`);
      return 1;
    }
    return 0;
  }
  if (verb === 'purge') {
    if (rest.length) throw new UserFacingError(`unexpected argument ${rest[0]}`, { exitCode: 2 });
    io.stdout(`deleted ${await purgeDeadJobs(db)} dead job(s)\n`);
    return 0;
  }
  throw new UserFacingError(`unknown jobs command "${verb}"\n\n${help}`, { exitCode: 2 });
}

export async function run(argv: string[], io: CliIo): Promise<number> {
  const config = loadConfig(io.env);
  const store = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, command: 'jobs' });
  try {
    await migrateToLatest(store.db);
    return await runWith(store.db, argv, io);
  } finally {
    await store.close();
  }
}
