import { type Kysely, sql } from 'kysely';

// Frozen once released: later changes get a new migration.
export async function up(db: Kysely<unknown>): Promise<void> {
  const now = sql`now()`;
  await db.schema
    .createTable('conversations')
    .addColumn('id', 'serial', (c) => c.primaryKey())
    .addColumn('project_id', 'integer', (c) => c.notNull())
    .addColumn('project_path', 'text', (c) => c.notNull())
    .addColumn('mr_iid', 'integer', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(now))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(now))
    .addUniqueConstraint('conversations_project_mr_key', ['project_id', 'mr_iid'])
    .execute();

  await db.schema
    .createTable('proposals')
    .addColumn('id', 'serial', (c) => c.primaryKey())
    .addColumn('conversation_id', 'integer', (c) => c.notNull().references('conversations.id').onDelete('cascade'))
    .addColumn('project_id', 'integer', (c) => c.notNull())
    .addColumn('mr_iid', 'integer', (c) => c.notNull())
    .addColumn('number', 'integer', (c) => c.notNull())
    .addColumn('status', 'text', (c) =>
      c.notNull().check(sql`status in ('generated','approved','committed','succeeded','failed','rolled_back')`),
    )
    .addColumn('language', 'text', (c) => c.notNull())
    .addColumn('framework', 'text', (c) => c.notNull())
    .addColumn('source', 'text', (c) => c.notNull())
    .addColumn('source_label', 'text')
    .addColumn('evidence', 'jsonb', (c) => c.notNull().defaultTo(sql`'[]'::jsonb`))
    .addColumn('confidence', 'jsonb')
    .addColumn('validation', 'jsonb')
    .addColumn('config', 'text', (c) => c.notNull())
    .addColumn('dockerfile', 'text')
    .addColumn('config_path', 'text', (c) => c.notNull().defaultTo('.gitlab-ci.yml'))
    .addColumn('decision_id', 'text')
    .addColumn('hash', 'text', (c) => c.notNull())
    .addColumn('branch', 'text', (c) => c.notNull())
    .addColumn('base_sha', 'text')
    .addColumn('requested_by', 'text')
    .addColumn('note_id', 'bigint')
    .addColumn('discussion_id', 'text')
    .addColumn('approved_by', 'text')
    .addColumn('approved_at', 'timestamptz')
    .addColumn('previous_config', 'text')
    .addColumn('previous_dockerfile', 'text')
    .addColumn('commit_sha', 'text')
    .addColumn('committed_at', 'timestamptz')
    .addColumn('outcome_pipeline_id', 'bigint')
    .addColumn('outcome_status', 'text')
    .addColumn('outcome_note_id', 'bigint')
    .addColumn('outcome_body', 'text')
    .addColumn('rollback_sha', 'text')
    .addColumn('rolled_back_at', 'timestamptz')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(now))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(now))
    .addUniqueConstraint('proposals_mr_number_key', ['project_id', 'mr_iid', 'number'])
    .execute();
  await db.schema.createIndex('proposals_commit_idx').on('proposals').columns(['project_id', 'commit_sha']).execute();
  await db.schema.createIndex('proposals_note_idx').on('proposals').columns(['project_id', 'note_id']).execute();

  await db.schema
    .createTable('messages')
    .addColumn('id', 'serial', (c) => c.primaryKey())
    .addColumn('conversation_id', 'integer', (c) => c.notNull().references('conversations.id').onDelete('cascade'))
    .addColumn('role', 'text', (c) => c.notNull())
    .addColumn('author_id', 'integer')
    .addColumn('author_username', 'text')
    .addColumn('note_id', 'bigint')
    .addColumn('content', 'text', (c) => c.notNull())
    .addColumn('command', 'jsonb')
    .addColumn('proposal_id', 'integer', (c) => c.references('proposals.id').onDelete('set null'))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(now))
    .execute();
  await db.schema.createIndex('messages_conversation_idx').on('messages').columns(['conversation_id', 'id']).execute();

  await db.schema
    .createTable('command_executions')
    .addColumn('key', 'text', (c) => c.primaryKey())
    .addColumn('project_id', 'integer', (c) => c.notNull())
    .addColumn('mr_iid', 'integer')
    .addColumn('verb', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('reply_body', 'text')
    .addColumn('reply_note_id', 'bigint')
    .addColumn('job_id', 'text')
    .addColumn('error', 'text')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(now))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(now))
    .execute();

  await db.schema
    .createTable('command_rate_counters')
    .addColumn('scope', 'text', (c) => c.notNull())
    .addColumn('key', 'text', (c) => c.notNull())
    .addColumn('window_start', 'timestamptz', (c) => c.notNull())
    .addColumn('count', 'integer', (c) => c.notNull())
    .addPrimaryKeyConstraint('command_rate_counters_pkey', ['scope', 'key', 'window_start'])
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const t of ['command_rate_counters', 'command_executions', 'messages', 'proposals', 'conversations']) {
    await db.schema.dropTable(t).ifExists().execute();
  }
}
