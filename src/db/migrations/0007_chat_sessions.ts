import { type Kysely, sql } from 'kysely';

// Frozen once released: later changes get a new migration.
// Chat sessions (issue 12) reuse conversations and messages: a conversation with a `session_id` is a chat
// session bound to a project (mr_iid 0) or to one merge request; the MR's own conversation keeps
// `session_id` null and stays unique per MR. Messages keep the tool calls an assistant turn asked for and
// the tool a `tool` turn answers for. (0006 is another change's number.)
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('conversations').addColumn('session_id', 'text').addColumn('created_by', 'text').execute();
  await db.schema.alterTable('conversations').dropConstraint('conversations_project_mr_key').execute();
  await sql`create unique index conversations_project_mr_key on conversations (project_id, mr_iid) where session_id is null`.execute(
    db,
  );
  await sql`create unique index conversations_session_key on conversations (session_id) where session_id is not null`.execute(
    db,
  );
  await db.schema.alterTable('messages').addColumn('tool_calls', 'jsonb').addColumn('tool_name', 'text').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('messages').dropColumn('tool_calls').dropColumn('tool_name').execute();
  await sql`drop index if exists conversations_session_key`.execute(db);
  await sql`delete from conversations where session_id is not null`.execute(db);
  await sql`drop index if exists conversations_project_mr_key`.execute(db);
  await db.schema
    .alterTable('conversations')
    .addUniqueConstraint('conversations_project_mr_key', ['project_id', 'mr_iid'])
    .execute();
  await db.schema.alterTable('conversations').dropColumn('session_id').dropColumn('created_by').execute();
}
