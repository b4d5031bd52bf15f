import { sql } from 'kysely';
import type { Db } from './database.js';

/**
 * Takes or renews the named lease for `holder`; true when `holder` owns it for the next `ttlMs`.
 * One statement, so two replicas racing for an expired lease cannot both win.
 */
export async function tryAcquireLease(db: Db, name: string, holder: string, ttlMs: number): Promise<boolean> {
  const expires = sql<Date>`now() + make_interval(secs => ${ttlMs / 1000})`;
  const row = await db
    .insertInto('leases')
    .values({ name, holder, expires_at: expires })
    .onConflict((oc) =>
      oc
        .column('name')
        .doUpdateSet({ holder, expires_at: expires })
        .where((eb) => eb.or([eb('leases.holder', '=', holder), eb('leases.expires_at', '<', sql<Date>`now()`)])),
    )
    .returning('holder')
    .executeTakeFirst();
  return row?.holder === holder;
}
