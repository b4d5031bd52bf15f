import type { CliIo } from '../cli.js';
import { loadConfig } from '../config.js';
import { migrateToLatest, openDatabase } from '../db/openDatabase.js';
import { UserFacingError } from '../errors.js';

export const help = `Usage: pipeline-learner migrate

Applies pending database migrations (DATABASE_URL, else the embedded store in DATA_DIR) and exits.
\`serve\` does this by itself on start; several processes migrating at once take turns.
`;

export async function run(argv: string[], io: CliIo): Promise<number> {
  if (argv.length) throw new UserFacingError(`unexpected argument ${argv[0]}\n\n${help}`, { exitCode: 2 });
  const config = loadConfig(io.env);
  const store = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, command: 'migrate' });
  try {
    const applied = await migrateToLatest(store.db);
    io.stdout(
      applied.length
        ? `applied ${applied.length} migration(s) to ${store.description}: ${applied.join(', ')}\n`
        : `${store.description} is up to date\n`,
    );
    return 0;
  } finally {
    await store.close();
  }
}
