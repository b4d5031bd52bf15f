import { sql } from 'kysely';
import { BoundedCache } from '../boundedMemo.js';
import type { CachedBlob, RepositoryFacts, RepositoryFactsStore } from '../repo/RepositoryFacts.js';
import type { Db } from './database.js';

function parseList<T>(text: string): T[] {
  try {
    const v = JSON.parse(text) as unknown;
    return Array.isArray(v) ? (v as T[]) : [];
  } catch {
    return [];
  }
}

/** Commits and blobs this process keeps after reading or writing them (see repositoryFactsStore). */
const KEPT_COMMITS = 64;
const KEPT_BLOBS = 256;
/** a commit's facts with more tree entries than this are not kept in the process (a listing of a monorepo) */
const MAX_KEPT_ENTRIES = 5000;
/** larger file texts are not kept in the process */
const MAX_KEPT_BLOB_CHARS = 64 * 1024;

/**
 * The repository facts cache on the service's database (migration 0008), with the commits and blobs
 * this process last read or wrote kept in memory as well: both are immutable (a commit's tree, a file
 * by its git blob id), so the pipelines of one commit, and the next commits that leave the configuration
 * unchanged, read them without a statement. Only what the store learns later about a commit (more read
 * paths, a stack) can be newer in the database, and this process writes what it learns through here.
 */
export function repositoryFactsStore(db: Db): RepositoryFactsStore {
  const commits = new BoundedCache<RepositoryFacts>(KEPT_COMMITS);
  const blobCache = new BoundedCache<CachedBlob>(KEPT_BLOBS);
  // shared by every reader of the commit in this process: frozen, so none can change another's
  const keepCommit = (projectId: number, sha: string, facts: RepositoryFacts) => {
    if (!facts.stack || facts.entries.length > MAX_KEPT_ENTRIES) return;
    commits.set(
      `${projectId}@${sha}`,
      Object.freeze({
        entries: Object.freeze([...facts.entries]) as Array<[string, string]>,
        readPaths: Object.freeze([...facts.readPaths]) as string[],
        stack: Object.freeze({ ...facts.stack }),
      }),
    );
  };
  const keepBlob = (id: string, blob: CachedBlob) => {
    if (blob.text.length <= MAX_KEPT_BLOB_CHARS) blobCache.set(id, blob);
  };
  return {
    async facts(projectId, sha) {
      const kept = commits.get(`${projectId}@${sha}`);
      if (kept) return kept;
      const row = await db
        .selectFrom('repository_facts')
        .select(['entries', 'read_paths', 'language', 'framework'])
        .where('project_id', '=', projectId)
        .where('sha', '=', sha)
        .executeTakeFirst();
      if (!row) return null;
      const facts: RepositoryFacts = {
        entries: parseList<[string, string]>(row.entries),
        readPaths: parseList<string>(row.read_paths),
        stack:
          row.language !== null && row.framework !== null ? { language: row.language, framework: row.framework } : null,
      };
      keepCommit(projectId, sha, facts);
      return facts;
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
      const found = new Map<string, CachedBlob>();
      const missing: string[] = [];
      for (const id of new Set(blobIds)) {
        const kept = blobCache.get(id);
        if (kept) found.set(id, kept);
        else missing.push(id);
      }
      if (!missing.length) return found;
      const rows = await db
        .selectFrom('repository_blobs')
        .select(['blob_id', 'content', 'sha256'])
        .where('blob_id', 'in', missing)
        .execute();
      for (const r of rows) {
        const blob = { text: r.content, sha256: r.sha256 };
        keepBlob(r.blob_id, blob);
        found.set(r.blob_id, blob);
      }
      return found;
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
      for (const [id, blob] of newBlobs) keepBlob(id, blob);
      keepCommit(projectId, sha, facts);
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
