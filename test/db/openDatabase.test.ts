import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { afterAll, describe, expect, it } from 'vitest';
import { DataDirLockedError } from '../../src/db/DataDirLock.js';
import {
  boundedStatementSet,
  databaseReady,
  migrateToLatest,
  openDatabase,
  openPostgres,
} from '../../src/db/openDatabase.js';
import { createTestDatabase } from '../support/db.js';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe('embedded store in DATA_DIR', () => {
  it('is held by one process at a time, names the holder, and keeps data across reopen', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'pl-data-'));
    dirs.push(dataDir);
    const first = await openDatabase({ databaseUrl: null, dataDir, command: 'serve' });
    await migrateToLatest(first.db);
    expect(await databaseReady(first.db)).toBe(true);
    await sql`create table probe (v text)`.execute(first.db);
    await sql`insert into probe values ('kept')`.execute(first.db);

    const second = openDatabase({ databaseUrl: null, dataDir, command: 'generate' });
    await expect(second).rejects.toBeInstanceOf(DataDirLockedError);
    await expect(second).rejects.toThrow(/in use by process \d+ \(serve/);
    await first.close();

    const reopened = await openDatabase({ databaseUrl: null, dataDir });
    const rows = await sql<{ v: string }>`select v from probe`.execute(reopened.db);
    expect(rows.rows).toEqual([{ v: 'kept' }]);
    expect(await migrateToLatest(reopened.db)).toEqual([]);
    await reopened.close();
  });

  it("serialises concurrent queries so none runs inside another request's transaction", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'pl-data-'));
    dirs.push(dataDir);
    const store = await openDatabase({ databaseUrl: null, dataDir });
    await sql`create table t (v text)`.execute(store.db);
    let release!: () => void;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    const tx = store.db
      .transaction()
      .execute(async (trx) => {
        await sql`insert into t values ('inside')`.execute(trx);
        await gate;
        throw new Error('roll back');
      })
      .catch(() => 'rolled back');
    const outside = sql`insert into t values ('outside')`.execute(store.db);
    release();
    expect(await tx).toBe('rolled back');
    await outside;
    const rows = await sql<{ v: string }>`select v from t`.execute(store.db);
    expect(rows.rows).toEqual([{ v: 'outside' }]);
    await store.close();
  });
});

describe('PostgreSQL through postgres.js', () => {
  it('migrates concurrently from several clients without conflict and reads json and int8 like PGlite', async () => {
    const url = await createTestDatabase();
    if (!url) return;
    const stores = [openPostgres(url), openPostgres(url), openPostgres(url)];
    const applied = await Promise.all(stores.map((s) => migrateToLatest(s.db)));
    expect(applied.flat().filter((n) => n === '0001_core')).toHaveLength(1);
    const db = stores[0].db;
    await sql`create table j (doc jsonb, n int8)`.execute(db);
    await sql`insert into j values (${{ a: 'x' }}, 5)`.execute(db);
    const r = await sql<{ doc: unknown; n: unknown; c: unknown }>`select doc, n, count(*) over () as c from j`.execute(
      db,
    );
    expect(r.rows[0]).toEqual({ doc: { a: 'x' }, n: 5, c: 1 });
    await Promise.all(stores.map((s) => s.close()));
  });

  it('prepares a statement once per connection (one round trip after its first run), unless the URL says prepare=false', async () => {
    const url = await createTestDatabase();
    if (!url) return;
    const preparedOn = async (u: string) => {
      const store = openPostgres(u);
      try {
        // a transaction keeps one connection, whose own prepared statements the view lists
        return await store.db.transaction().execute(async (tx) => {
          for (let i = 0; i < 3; i++) await sql`select ${i}::int + 1 as n`.execute(tx);
          const r = await sql<{ n: number }>`
            select count(*)::int as n from pg_prepared_statements where statement like 'select $1::int + 1%'`.execute(
            tx,
          );
          return Number(r.rows[0]!.n);
        });
      } finally {
        await store.close();
      }
    };
    expect(await preparedOn(url)).toBe(1);
    expect(await preparedOn(`${url}${url.includes('?') ? '&' : '?'}prepare=false`)).toBe(0);
  });

  it('prepares at most a bounded number of distinct statement texts, the first ones it meets', () => {
    const admit = boundedStatementSet(2);
    expect([admit('a'), admit('b'), admit('c'), admit('a'), admit('b'), admit('c')]).toEqual([
      true,
      true,
      false,
      true,
      true,
      false,
    ]);
  });
});
