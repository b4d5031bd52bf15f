import { randomBytes } from 'node:crypto';
import postgres from 'postgres';
import { inject } from 'vitest';
import { migrateToLatest, openPGlite, openPostgres, type Store, type StoreKind } from '../../src/db/openDatabase.js';

export const storeKinds: StoreKind[] = ['pglite', 'postgres'];

const inCi = process.env.CI === 'true';

/**
 * The real PostgreSQL server's admin URL. Without one the caller's tests skip with a loud message,
 * except under CI=true, where that is a failure.
 */
export function postgresAdminUrl(): string | null {
  const url = inject('postgresAdminUrl');
  if (url) return url;
  const why = inject('postgresError') ?? 'no server';
  if (inCi) throw new Error(`PostgreSQL is required under CI=true but could not be started: ${why}`);
  console.warn(`\n!!! PostgreSQL tests SKIPPED: ${why}\n`);
  return null;
}

/** A fresh, empty database on the test server; returns its URL (for child processes too). */
export async function createTestDatabase(): Promise<string | null> {
  const admin = postgresAdminUrl();
  if (!admin) return null;
  const name = `t_${randomBytes(6).toString('hex')}`;
  const sql = postgres(admin, { max: 1, onnotice: () => {} });
  try {
    await sql.unsafe(`create database ${name}`);
  } finally {
    await sql.end();
  }
  const url = new URL(admin);
  url.pathname = `/${name}`;
  return url.toString();
}

/** Fresh migrated store of the given kind, or null when that kind is unavailable (already warned). */
export async function openTestStore(kind: StoreKind): Promise<Store | null> {
  if (kind === 'pglite') {
    const store = await openPGlite('memory://');
    await migrateToLatest(store.db);
    return store;
  }
  const url = await createTestDatabase();
  if (!url) return null;
  const store = openPostgres(url);
  await migrateToLatest(store.db);
  return store;
}
