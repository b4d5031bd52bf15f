import type { CliIo } from '../cli.js';
import { loadConfig } from '../config.js';
import { migrateToLatest, openDatabase } from '../db/openDatabase.js';
import { UserFacingError } from '../errors.js';
import { createVectorIndex } from '../vectors/createVectorIndex.js';
import { reembedCollection } from '../vectors/reembedCollection.js';
import { COLLECTIONS } from '../vectors/VectorIndex.js';

export const help = `Usage: pipeline-learner migrate [--reembed-vectors]

Applies pending database migrations (DATABASE_URL, else the embedded store in DATA_DIR) and exits.
\`serve\` does this by itself on start; several processes migrating at once take turns.

Options:
  --reembed-vectors  recompute the embeddings of every vector collection from its documents
                     (needed once for a Chroma filled by the seed, or after an embedding change);
                     the old records are copied to <collection>_backup_<time> first
`;

export async function run(argv: string[], io: CliIo): Promise<number> {
  const reembed = argv.includes('--reembed-vectors');
  const unknown = argv.filter((a) => a !== '--reembed-vectors');
  if (unknown.length) throw new UserFacingError(`unexpected argument ${unknown[0]}\n\n${help}`, { exitCode: 2 });
  const config = loadConfig(io.env);
  const store = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, command: 'migrate' });
  try {
    const applied = await migrateToLatest(store.db);
    io.stdout(
      applied.length
        ? `applied ${applied.length} migration(s) to ${store.description}: ${applied.join(', ')}\n`
        : `${store.description} is up to date\n`,
    );
    if (reembed) {
      const { index, description } = createVectorIndex(config.chromaUrl, store.db);
      for (const collection of Object.values(COLLECTIONS)) {
        const r = await reembedCollection(index, collection);
        io.stdout(
          `${description} ${collection}: ${r.reembedded} re-embedded, ${r.current} already current` +
            (r.backup ? ` (old records kept in ${r.backup})` : '') +
            '\n',
        );
      }
    }
    return 0;
  } finally {
    await store.close();
  }
}
