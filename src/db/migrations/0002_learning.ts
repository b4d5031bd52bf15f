import { type Kysely, sql } from 'kysely';

const ctx = ['tenant', 'language', 'framework'] as const;

// Frozen once released: later changes get a new migration.
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('learning_contexts')
    .addColumn('tenant', 'text', (c) => c.notNull())
    .addColumn('language', 'text', (c) => c.notNull())
    .addColumn('framework', 'text', (c) => c.notNull())
    .addColumn('runs', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addPrimaryKeyConstraint('learning_contexts_pk', [...ctx])
    .execute();

  await db.schema
    .createTable('learning_arms')
    .addColumn('tenant', 'text', (c) => c.notNull())
    .addColumn('language', 'text', (c) => c.notNull())
    .addColumn('framework', 'text', (c) => c.notNull())
    .addColumn('hash', 'text', (c) => c.notNull())
    .addColumn('source', 'text', (c) => c.notNull())
    .addColumn('slot', 'integer', (c) => c.notNull())
    .addColumn('successes', 'double precision', (c) => c.notNull())
    .addColumn('failures', 'double precision', (c) => c.notNull())
    .addColumn('feedback_positive', 'double precision', (c) => c.notNull())
    .addColumn('feedback_negative', 'double precision', (c) => c.notNull())
    .addColumn('duration_weight', 'double precision', (c) => c.notNull())
    .addColumn('duration_sum', 'double precision', (c) => c.notNull())
    .addColumn('runs_total', 'integer', (c) => c.notNull())
    .addColumn('successes_total', 'integer', (c) => c.notNull())
    .addColumn('failure_streak', 'integer', (c) => c.notNull())
    .addColumn('last_run_slot', 'integer')
    .addColumn('last_duration_s', 'double precision')
    .addColumn('stages_count', 'integer')
    .addColumn('broken_at', 'integer')
    .addColumn('broken_retries', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addPrimaryKeyConstraint('learning_arms_pk', [...ctx, 'hash'])
    .execute();
  await db.schema.createIndex('learning_arms_stack').on('learning_arms').columns(['language', 'framework']).execute();

  await db.schema
    .createTable('learning_runs')
    .addColumn('pipeline_id', 'bigint', (c) => c.primaryKey())
    .addColumn('tenant', 'text', (c) => c.notNull())
    .addColumn('language', 'text', (c) => c.notNull())
    .addColumn('framework', 'text', (c) => c.notNull())
    .addColumn('project_path', 'text', (c) => c.notNull())
    .addColumn('config_hash', 'text', (c) => c.notNull())
    .addColumn('slot', 'integer', (c) => c.notNull())
    .addColumn('success', 'boolean', (c) => c.notNull())
    .addColumn('duration_s', 'double precision')
    .addColumn('stages_count', 'integer')
    .addColumn('at', 'timestamptz', (c) => c.notNull())
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  await db.schema
    .createIndex('learning_runs_context')
    .on('learning_runs')
    .columns([...ctx, 'slot'])
    .execute();
  await db.schema.createIndex('learning_runs_project').on('learning_runs').column('project_path').execute();

  await db.schema
    .createTable('learning_job_failures')
    .addColumn('pipeline_id', 'bigint', (c) => c.notNull().references('learning_runs.pipeline_id').onDelete('cascade'))
    .addColumn('tenant', 'text', (c) => c.notNull())
    .addColumn('language', 'text', (c) => c.notNull())
    .addColumn('framework', 'text', (c) => c.notNull())
    .addColumn('config_hash', 'text', (c) => c.notNull())
    .addColumn('job_name', 'text', (c) => c.notNull())
    .addColumn('stage', 'text', (c) => c.notNull())
    .addColumn('failure_reason', 'text')
    .addColumn('allow_failure', 'boolean', (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex('learning_job_failures_context')
    .on('learning_job_failures')
    .columns([...ctx, 'config_hash'])
    .execute();
  await db.schema
    .createIndex('learning_job_failures_pipeline')
    .on('learning_job_failures')
    .column('pipeline_id')
    .execute();

  await db.schema
    .createTable('learning_decisions')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('at', 'timestamptz', (c) => c.notNull())
    .addColumn('policy', 'text', (c) => c.notNull())
    .addColumn('policy_version', 'text', (c) => c.notNull())
    .addColumn('tenant', 'text', (c) => c.notNull())
    .addColumn('language', 'text', (c) => c.notNull())
    .addColumn('framework', 'text', (c) => c.notNull())
    .addColumn('context_runs', 'integer', (c) => c.notNull())
    .addColumn('arms', 'jsonb', (c) => c.notNull())
    .addColumn('probabilities', 'jsonb', (c) => c.notNull())
    .addColumn('chosen_hash', 'text', (c) => c.notNull())
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('propensity', 'double precision', (c) => c.notNull())
    .addColumn('pipeline_id', 'bigint')
    .addColumn('reward', 'jsonb')
    .addColumn('reward_formula', 'text')
    .execute();
  await db.schema.createIndex('learning_decisions_at').on('learning_decisions').column('at').execute();
  await db.schema.createIndex('learning_decisions_pipeline').on('learning_decisions').column('pipeline_id').execute();
  await db.schema.createIndex('learning_decisions_tenant').on('learning_decisions').column('tenant').execute();

  await db.schema
    .createTable('learning_feedback')
    .addColumn('decision_id', 'text', (c) => c.notNull().references('learning_decisions.id').onDelete('cascade'))
    .addColumn('user_id', 'text', (c) => c.notNull())
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('value', 'integer')
    .addColumn('tenant', 'text', (c) => c.notNull())
    .addColumn('language', 'text', (c) => c.notNull())
    .addColumn('framework', 'text', (c) => c.notNull())
    .addColumn('config_hash', 'text', (c) => c.notNull())
    .addColumn('slot', 'integer', (c) => c.notNull())
    .addColumn('positive', 'double precision', (c) => c.notNull())
    .addColumn('negative', 'double precision', (c) => c.notNull())
    .addColumn('at', 'timestamptz', (c) => c.notNull())
    .addPrimaryKeyConstraint('learning_feedback_pk', ['decision_id', 'user_id'])
    .execute();
  await db.schema
    .createIndex('learning_feedback_context')
    .on('learning_feedback')
    .columns([...ctx])
    .execute();

  await db.schema
    .createTable('learning_bans')
    .addColumn('hash', 'text', (c) => c.primaryKey())
    .addColumn('reason', 'text')
    .addColumn('at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const t of [
    'learning_bans',
    'learning_feedback',
    'learning_decisions',
    'learning_job_failures',
    'learning_runs',
    'learning_arms',
    'learning_contexts',
  ]) {
    await db.schema.dropTable(t).ifExists().execute();
  }
}
