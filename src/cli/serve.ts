import type { CliIo } from '../cli.js';
import { loadConfig } from '../config.js';
import { openDatabase } from '../db/openDatabase.js';
import { getSetting } from '../db/settings.js';
import { UserFacingError } from '../errors.js';
import { startService, WEBHOOK_SECRET_SETTING } from '../main.js';

export const help = `Usage: pipeline-learner serve [--print-webhook-secret]

Runs the webhook intake (POST /webhooks/gitlab), the job worker, the reconciler and the REST API
on PORT (default 8080). Without DATABASE_URL the embedded store in DATA_DIR is used (one process
at a time). With no GITLAB_WEBHOOK_SECRET, a secret is generated on first start, kept in the
store and printed with the webhook URL.

SIGTERM/SIGINT drain: no new jobs are claimed, running jobs finish, then the process exits 0;
after PIPELINE_LEARNER_DRAIN_TIMEOUT_S (default 30) it exits 1 without waiting further (jobs still
running are retried after their lease). Started by npm (\`npm start\`), which does not pass SIGTERM
on, the service drains the same way when npm goes away.

Options:
  --print-webhook-secret  print the stored webhook secret and exit
`;

export async function run(argv: string[], io: CliIo): Promise<number> {
  const unknown = argv.filter((a) => a !== '--print-webhook-secret');
  if (unknown.length) throw new UserFacingError(`unknown option ${unknown[0]}\n\n${help}`, { exitCode: 2 });
  const config = loadConfig(io.env);

  if (argv.includes('--print-webhook-secret')) {
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
  const service = await startService(config, { print: io.stdout });
  const code = await new Promise<number>((resolve) => {
    let stopping = false;
    const stop = (why: string) => {
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
      service.stop().then(
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
