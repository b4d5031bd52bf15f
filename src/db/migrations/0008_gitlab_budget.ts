import { type Kysely, sql } from 'kysely';

// Frozen once released: later changes get a new migration.
// Issue 10 item 3, the GitLab call budget:
// - repository_facts: what one commit of a project looked like to the record step (its tree listing with
//   blob ids, the paths it read, the detected stack), so a commit seen before costs no GitLab call;
// - repository_blobs: file text by git blob id, so a new commit whose read files are unchanged costs one
//   call (the tree listing). The text is stored masked (values that look like credentials, as stored
//   configurations are), with the sha256 of the original so configuration hashes stay the same;
// - gitlab_call_budget: one token bucket per GitLab instance, shared by every worker on the database.
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('repository_facts')
    .addColumn('project_id', 'bigint', (c) => c.notNull())
    .addColumn('sha', 'text', (c) => c.notNull())
    // JSON text: [[path, blob id], ...] of every blob in the tree
    .addColumn('entries', 'text', (c) => c.notNull())
    // JSON text: the paths the record step read (present or not)
    .addColumn('read_paths', 'text', (c) => c.notNull().defaultTo('[]'))
    .addColumn('language', 'text')
    .addColumn('framework', 'text')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addPrimaryKeyConstraint('repository_facts_pkey', ['project_id', 'sha'])
    .execute();
  // the latest facts of a project: which blobs a new commit is likely to read again
  await sql`create index repository_facts_project_created_idx on repository_facts (project_id, created_at desc)`.execute(
    db,
  );
  await db.schema
    .createTable('repository_blobs')
    .addColumn('blob_id', 'text', (c) => c.primaryKey())
    .addColumn('content', 'text', (c) => c.notNull())
    .addColumn('sha256', 'text', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  await db.schema
    .createTable('gitlab_call_budget')
    .addColumn('instance', 'text', (c) => c.primaryKey())
    // may go below zero: calls that reserved a future token, or a 429 that drained the bucket
    .addColumn('tokens', 'double precision', (c) => c.notNull())
    // epoch milliseconds of the last refill
    .addColumn('updated_ms', 'double precision', (c) => c.notNull())
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('gitlab_call_budget').ifExists().execute();
  await db.schema.dropTable('repository_blobs').ifExists().execute();
  await db.schema.dropTable('repository_facts').ifExists().execute();
}
