import { type Kysely, sql } from 'kysely';

// Frozen once released: later changes get a new migration.
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('vector_records')
    .addColumn('collection', 'text', (c) => c.notNull())
    .addColumn('id', 'text', (c) => c.notNull())
    .addColumn('document', 'text', (c) => c.notNull())
    .addColumn('metadata', 'jsonb', (c) => c.notNull().defaultTo(sql`'{}'::jsonb`))
    .addColumn('embedding', sql`real[]`, (c) => c.notNull())
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addPrimaryKeyConstraint('vector_records_pkey', ['collection', 'id'])
    .execute();
  // Serves the equality filters (`metadata @> {...}`) of list, query and delete.
  await sql`create index vector_records_metadata_idx on vector_records using gin (metadata jsonb_path_ops)`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('vector_records').ifExists().execute();
}
