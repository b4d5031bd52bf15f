import { sql } from 'kysely';
import type { RepositoryFacts, RepositoryFactsStore } from '../repo/RepositoryFacts.js';
import type { Db } from './database.js';

function parseList<T>(text: string): T[] {
  try {
    const v = JSON.parse(text) as unknown;
    return Array.isArray(v) ? (v as T[]) : [];
  } catch {
    return [];
  }
}

/** The repository facts cache on the service's database (migration 0008). */
export function repositoryFactsStore(db: Db): RepositoryFactsStore {
  return {
    async facts(projectId, sha) {
      const row = await db
        .selectFrom('repository_facts')
        .select(['entries', 'read_paths', 'language', 'framework'])
        .where('project_id', '=', projectId)
        .where('sha', '=', sha)
        .executeTakeFirst();
      if (!row) return null;
      return {
        entries: parseList<[string, string]>(row.entries),
        readPaths: parseList<string>(row.read_paths),
        stack:
          row.language !== null && row.framework !== null ? { language: row.language, framework: row.framework } : null,
      } satisfies RepositoryFacts;
    },

    async latestReadPaths(projectId) {
      const row = await db
        .selectFrom('repository_facts')
        .select('read_paths')
        .where('project_id', '=', projectId)
        .orderBy('created_at', 'desc')
        .limit(1)
        .executeTakeFirst();
      return row ? parseList<string>(row.read_paths) : [];
    },

    async blobs(blobIds) {
      const ids = [...new Set(blobIds)];
      if (!ids.length) return new Map();
      const rows = await db
        .selectFrom('repository_blobs')
        .select(['blob_id', 'content', 'sha256'])
        .where('blob_id', 'in', ids)
        .execute();
      return new Map(rows.map((r) => [r.blob_id, { text: r.content, sha256: r.sha256 }]));
    },

    async save(projectId, sha, facts, newBlobs) {
      if (newBlobs.size) {
        await db
          .insertInto('repository_blobs')
          .values([...newBlobs].map(([blob_id, b]) => ({ blob_id, content: b.text, sha256: b.sha256 })))
          .onConflict((oc) => oc.column('blob_id').doNothing())
          .execute();
      }
      const values = {
        project_id: projectId,
        sha,
        entries: JSON.stringify(facts.entries),
        read_paths: JSON.stringify(facts.readPaths),
        language: facts.stack?.language ?? null,
        framework: facts.stack?.framework ?? null,
      };
      await db
        .insertInto('repository_facts')
        .values(values)
        .onConflict((oc) =>
          oc.columns(['project_id', 'sha']).doUpdateSet({
            read_paths: values.read_paths,
            language: sql<string | null>`coalesce(excluded.language, repository_facts.language)`,
            framework: sql<string | null>`coalesce(excluded.framework, repository_facts.framework)`,
          }),
        )
        .execute();
    },
  };
}

/** Retention: facts and blobs not written for `days` days go (a commit seen again is simply re-read). */
export async function purgeRepositoryFacts(db: Db, days: number): Promise<number> {
  const cutoff = sql<Date>`now() - make_interval(days => ${days})`;
  const facts = await db.deleteFrom('repository_facts').where('created_at', '<', cutoff).executeTakeFirst();
  await db.deleteFrom('repository_blobs').where('created_at', '<', cutoff).execute();
  return Number(facts.numDeletedRows ?? 0);
}
