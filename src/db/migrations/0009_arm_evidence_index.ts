import type { Kysely } from 'kysely';

// Frozen once released: later changes get a new migration.
// Issue 10 (reads independent of history): the latest attribution line of each configuration in a
// context is found by one backward index step per configuration, instead of reading every run of the
// context (100,000 rows for a busy stack) on each `/pipeline best`, `stats` and dashboard stack page.
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createIndex('learning_runs_arm_slot')
    .on('learning_runs')
    .columns(['tenant', 'language', 'framework', 'config_hash', 'slot'])
    .execute();
}
