import { type ChildProcess, fork } from 'node:child_process';
import { setPriority } from 'node:os';
import type { CliIo } from '../cli.js';
import { loadConfig } from '../config.js';
import { openDatabase } from '../db/openDatabase.js';
import { getSetting } from '../db/settings.js';
import { UserFacingError } from '../errors.js';
import { startService, WEBHOOK_SECRET_SETTING } from '../main.js';
import type { MetricsSnapshot } from '../metrics/ServiceMetrics.js';

export const help = `Usage: pipeline-learner serve [--workers N] [--print-webhook-secret]

Runs the webhook intake (POST /webhooks/gitlab), the job worker, the reconciler and the REST API
on PORT (default 8080). Without DATABASE_URL the embedded store in DATA_DIR is used (one process
at a time). With no GITLAB_WEBHOOK_SECRET, a secret is generated on first start, kept in the
store and printed with the webhook URL.

SIGTERM/SIGINT drain: no new jobs are claimed, running jobs finish, then the process exits 0;
after PIPELINE_LEARNER_DRAIN_TIMEOUT_S (default 30) it exits 1 without waiting further (jobs still
running are retried after their lease). Started by npm (\`npm start\`), which does not pass SIGTERM
on, the service drains the same way when npm goes away.

Options:
  --workers N             PostgreSQL only: run the job worker in N separate processes (they share
                          the queue through FOR UPDATE SKIP LOCKED); this process keeps the
                          intake, the API, the reconciler and the retention purge. A worker process
                          that dies is restarted. The embedded store is one process's: refused.
  --print-webhook-secret  print the stored webhook secret and exit
`;

const WORKER_PROCESS = '--worker-process';

function parseArgs(argv: string[]): { workers: number | null; workerProcess: boolean; printSecret: boolean } {
  let workers: number | null = null;
  let workerProcess = false;
  let printSecret = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--print-webhook-secret') printSecret = true;
    else if (a === WORKER_PROCESS) workerProcess = true;
    else if (a === '--workers' || a.startsWith('--workers=')) {
      const v = a === '--workers' ? argv[++i] : a.slice('--workers='.length);
      const n = Number(v);
      if (!v || !Number.isInteger(n) || n < 1 || n > 64) {
        throw new UserFacingError(`--workers needs a whole number from 1 to 64, got ${v ?? 'nothing'}`, {
          exitCode: 2,
        });
      }
      workers = n;
    } else throw new UserFacingError(`unknown option ${a}\n\n${help}`, { exitCode: 2 });
  }
  return { workers, workerProcess, printSecret };
}

export async function run(argv: string[], io: CliIo): Promise<number> {
  const args = parseArgs(argv);
  const config = loadConfig(io.env);
  if (args.workers !== null && !config.databaseUrl) {
    throw new UserFacingError(
      '--workers needs PostgreSQL (DATABASE_URL): the embedded store lives in one process (its data directory is locked to it), so worker processes cannot share it. Without --workers the job worker runs in this process.',
      { exitCode: 2 },
    );
  }

  if (args.printSecret) {
    if (config.webhook.secret) {
      io.stdout('GITLAB_WEBHOOK_SECRET is set: the secret is its value.\n');
      return 0;
    }
    const store = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, command: 'serve' });
    try {
      const value = await getSetting(store.db, WEBHOOK_SECRET_SETTING).catch(() => null);
      if (!value) throw new UserFacingError('no webhook secret stored yet: start `pipeline-learner serve` once');
      io.stdout(`${value}\n`);
      return 0;
    } finally {
      await store.close();
    }
  }

  // taken before the (possibly slow) start, so a parent that goes away meanwhile is noticed too
  const parent = process.ppid;
  const pool = args.workers !== null ? workerPool(args.workers, io) : null;
  const service = await startService(
    config,
    args.workerProcess
      ? { role: 'worker' }
      : pool
        ? { print: io.stdout, role: 'intake', onWake: pool.wake, peerMetrics: pool.metrics }
        : { print: io.stdout },
  );
  pool?.start();
  if (args.workerProcess) {
    // told by the parent: wake (jobs were enqueued) or stop; the parent gone (kill -9) means stop too
    process.on('message', (m) => {
      if (m === 'wake') service.worker.wake();
      else if (isMetricsMessage(m)) {
        const reply = (data: MetricsSnapshot) =>
          process.send?.({ type: 'metrics', id: m.id, data } satisfies MetricsMessage);
        service.metricsSnapshot().then(reply, () => reply([]));
      }
    });
  }
  const code = await new Promise<number>((resolve) => {
    let stopping = false;
    const stop = (why: string, quietRepeat = false) => {
      if (stopping && quietRepeat) return;
      if (stopping) {
        io.stderr(`pipeline-learner serve: ${why} again, exiting without waiting for running jobs\n`);
        process.exit(1);
      }
      stopping = true;
      io.stderr(`pipeline-learner serve: ${why}: finishing running jobs, then exiting\n`);
      const limit = setTimeout(() => {
        io.stderr(
          `pipeline-learner serve: jobs still running after ${config.drainTimeoutS} s (PIPELINE_LEARNER_DRAIN_TIMEOUT_S); exiting, they go again after their lease\n`,
        );
        resolve(1);
      }, config.drainTimeoutS * 1000);
      limit.unref();
      Promise.all([service.stop(), pool?.stop()]).then(
        () => {
          clearTimeout(limit);
          resolve(0);
        },
        (err) => {
          clearTimeout(limit);
          io.stderr(`pipeline-learner serve: shutdown failed: ${String(err)}\n`);
          resolve(1);
        },
      );
    };
    process.on('SIGTERM', () => stop('SIGTERM'));
    process.on('SIGINT', () => stop('SIGINT'));
    if (io.env.npm_lifecycle_event) watchParent(parent, () => stop('npm exited'));
    if (args.workerProcess) {
      process.on('message', (m) => m === 'stop' && stop('the serve process is stopping', true));
      process.on('disconnect', () => stop('the serve process went away', true));
    }
  });
  // whatever is still open (a connection to a database that went away) must not hold the exit
  setTimeout(() => process.exit(code), 1000).unref();
  return code;
}

/**
 * npm runs scripts as `npm → sh → node` and, given SIGTERM, exits without passing it on; the shell
 * goes with it, so this process is re-parented. Polling our parent pid is the portable way to notice.
 */
function watchParent(parent: number, onGone: () => void): void {
  const timer = setInterval(() => {
    if (process.ppid !== parent) {
      clearInterval(timer);
      onGone();
    }
  }, 500);
  timer.unref();
}

/**
 * `serve --workers N`: N child processes (this same CLI, role worker) that run the job worker only.
 * A child that dies unexpectedly is restarted after a second; wakes are coalesced to one message per
 * child per 5 ms.
 */
/** the worker processes' nice value (the intake process keeps its own, 0 by default) */
export const WORKER_NICE = 10;

/** how long a scrape waits for a worker process's metrics before answering without them */
const PEER_METRICS_TIMEOUT_MS = 2000;

/** IPC between the intake process and a worker process: the request carries an id, the reply its data too */
interface MetricsMessage {
  type: 'metrics';
  id: number;
  data?: MetricsSnapshot;
}
const isMetricsMessage = (m: unknown): m is MetricsMessage =>
  typeof m === 'object' && m !== null && (m as MetricsMessage).type === 'metrics';

function workerPool(n: number, io: CliIo) {
  const children = new Set<ChildProcess>();
  let stopping = false;
  let metricsRequests = 0;
  /** one child's metrics over the IPC channel; null when it does not answer in time (dying, busy) */
  const childMetrics = (child: ChildProcess, id: number) =>
    new Promise<MetricsSnapshot | null>((resolve) => {
      const done = (data: MetricsSnapshot | null) => {
        clearTimeout(timer);
        child.off('message', onMessage);
        resolve(data);
      };
      const onMessage = (m: unknown) => {
        if (isMetricsMessage(m) && m.id === id) done(m.data ?? null);
      };
      const timer = setTimeout(() => done(null), PEER_METRICS_TIMEOUT_MS);
      child.on('message', onMessage);
      child.send({ type: 'metrics', id } satisfies MetricsMessage, (err) => err && done(null));
    });
  let wakeTimer: NodeJS.Timeout | null = null;
  const script = process.argv[1]!;
  const spawnOne = (slot: number) => {
    const child = fork(script, ['serve', WORKER_PROCESS], {
      env: { ...process.env, PIPELINE_LEARNER_WORKER_SLOT: String(slot) },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    children.add(child);
    // below the intake process: on a machine short of cores, the kernel serves webhooks first
    if (child.pid !== undefined) {
      try {
        setPriority(child.pid, WORKER_NICE);
      } catch {
        // not allowed here (some containers): the workers run at the intake's priority
      }
    }
    child.on('exit', (code, signal) => {
      children.delete(child);
      if (stopping) return;
      io.stderr(
        `pipeline-learner serve: worker process ${slot} exited (${signal ?? code}); starting it again in 1 s\n`,
      );
      setTimeout(() => !stopping && spawnOne(slot), 1000).unref();
    });
  };
  return {
    start() {
      for (let i = 1; i <= n; i++) spawnOne(i);
    },
    /** every live worker process's metrics, for the intake process's /metrics */
    async metrics(): Promise<MetricsSnapshot[]> {
      const id = ++metricsRequests;
      const live = [...children].filter((c) => c.connected);
      const got = await Promise.all(live.map((c) => childMetrics(c, id)));
      return got.filter((m): m is MetricsSnapshot => m !== null);
    },
    wake() {
      if (wakeTimer) return;
      wakeTimer = setTimeout(() => {
        wakeTimer = null;
        for (const c of children) if (c.connected) c.send('wake');
      }, 5);
    },
    /** asks every child to drain (they finish running jobs) and waits for their exits */
    async stop(): Promise<void> {
      stopping = true;
      const exits = [...children].map(
        (c) =>
          new Promise<void>((resolve) =>
            c.exitCode !== null || c.signalCode ? resolve() : c.once('exit', () => resolve()),
          ),
      );
      for (const c of children) if (c.connected) c.send('stop');
      await Promise.all(exits);
    },
  };
}
