import type { Kysely } from 'kysely';

// Frozen once released: later changes get a new migration.
// Failure attribution per learning run (issue 11). Null for runs recorded before it: they count as v1
// (green = works, red = broken) when posteriors are replayed.
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .alterTable('learning_runs')
    .addColumn('attribution', 'text')
    .addColumn('attribution_summary', 'text')
    .addColumn('tests_total', 'integer')
    .addColumn('tests_failed', 'integer')
    .addColumn('coverage', 'double precision')
    .execute();
}
