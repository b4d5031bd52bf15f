import { type Kysely, sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as migration from '../../src/db/migrations/0003_vectors.js';
import { openPGlite, type Store } from '../../src/db/openDatabase.js';

describe('migration 0003_vectors', () => {
  let store: Store;
  beforeAll(async () => {
    store = await openPGlite('memory://');
  });
  afterAll(async () => {
    await store?.close();
  });

  it('creates vector_records with its key and metadata index, and down removes them', async () => {
    await migration.up(store.db as unknown as Kysely<unknown>);
    const indexes = await sql<{ indexname: string }>`
      select indexname from pg_indexes where tablename = 'vector_records' order by indexname`.execute(store.db);
    expect(indexes.rows.map((r) => r.indexname)).toEqual(['vector_records_metadata_idx', 'vector_records_pkey']);
    await sql`insert into vector_records (collection, id, document, embedding) values ('c', 'a', 'd', '{1,0}')`.execute(
      store.db,
    );
    await expect(
      sql`insert into vector_records (collection, id, document, embedding) values ('c', 'a', 'd', '{1,0}')`.execute(
        store.db,
      ),
    ).rejects.toThrow(/duplicate key/);
    await migration.down(store.db as unknown as Kysely<unknown>);
    const left = await sql<{
      n: number;
    }>`select count(*)::int as n from pg_tables where tablename = 'vector_records'`.execute(store.db);
    expect(left.rows[0].n).toBe(0);
    await migration.up(store.db as unknown as Kysely<unknown>);
  });
});
