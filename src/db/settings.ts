import type { Db } from './database.js';

export async function getSetting(db: Db, key: string): Promise<string | null> {
  const row = await db.selectFrom('settings').select('value').where('key', '=', key).executeTakeFirst();
  return row?.value ?? null;
}

/**
 * Returns the stored value, storing `make()` first when there is none. Concurrent first starts
 * agree on one value: the insert is a no-op when another process won.
 */
export async function ensureSetting(
  db: Db,
  key: string,
  make: () => string,
): Promise<{ value: string; created: boolean }> {
  const candidate = make();
  const inserted = await db
    .insertInto('settings')
    .values({ key, value: candidate })
    .onConflict((oc) => oc.column('key').doNothing())
    .returning('value')
    .executeTakeFirst();
  if (inserted) return { value: inserted.value, created: true };
  const value = await getSetting(db, key);
  if (value === null) throw new Error(`setting ${key} vanished while being read`);
  return { value, created: false };
}
