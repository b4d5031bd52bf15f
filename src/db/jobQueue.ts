import { sql } from 'kysely';
import type { Db } from './database.js';
import type { JobStatus } from './tables/core.js';

export interface EnqueueInput {
  kind: string;
  payload: unknown;
  maxAttempts: number;
  /** a second enqueue with the same key is a no-op */
  dedupeKey?: string | null;
  deliveryId?: number | null;
  runAt?: Date;
}

export interface ClaimedJob {
  id: number;
  kind: string;
  payload: unknown;
  attempts: number;
  maxAttempts: number;
  deliveryId: number | null;
}

export interface JobRow {
  id: number;
  kind: string;
  status: JobStatus;
  attempts: number;
  maxAttempts: number;
  deliveryId: number | null;
  lastError: string | null;
  runAt: Date;
  createdAt: Date;
  updatedAt: Date;
}

const inMs = (ms: number) => sql<Date>`now() + make_interval(secs => ${ms / 1000})`;

export async function enqueueJob(db: Db, input: EnqueueInput): Promise<{ id: number; created: boolean }> {
  const row = await db
    .insertInto('jobs')
    .values({
      kind: input.kind,
      payload: sql`cast(${JSON.stringify(input.payload)} as jsonb)`,
      max_attempts: input.maxAttempts,
      dedupe_key: input.dedupeKey ?? null,
      delivery_id: input.deliveryId ?? null,
      run_at: input.runAt ?? sql<Date>`now()`,
    })
    .onConflict((oc) => oc.column('dedupe_key').doNothing())
    .returning('id')
    .executeTakeFirst();
  if (row) return { id: Number(row.id), created: true };
  const existing = await db
    .selectFrom('jobs')
    .select('id')
    .where('dedupe_key', '=', input.dedupeKey ?? '')
    .executeTakeFirstOrThrow();
  return { id: Number(existing.id), created: false };
}

/**
 * Claims up to `limit` due jobs of the given kinds in one statement, oldest first. `FOR UPDATE SKIP
 * LOCKED` makes concurrent claimers (other worker processes on one PostgreSQL) skip each other's
 * rows; a running job whose lease ran out (its worker died) is due again. The statement is the
 * `claim_jobs` function (migration 0010), whose planner settings keep its cost at `limit` rows read
 * however long the backlog and however stale the table's statistics.
 */
export async function claimJobs(db: Db, options: ClaimOptions): Promise<ClaimedJob[]> {
  if (options.kinds.length === 0 || options.limit < 1) return [];
  const { rows } = await claimStatement(options).execute(db);
  return rows
    .map((row) => ({
      id: Number(row.id),
      kind: row.kind,
      payload: row.payload,
      attempts: row.attempts,
      maxAttempts: row.max_attempts,
      deliveryId: row.delivery_id === null ? null : Number(row.delivery_id),
    }))
    .sort((x, y) => x.id - y.id);
}

export interface ClaimOptions {
  workerId: string;
  kinds: string[];
  leaseMs: number;
  limit: number;
}

/** The statement `claimJobs` runs. */
function claimStatement(o: ClaimOptions) {
  // the kinds travel as JSON: one text parameter whatever the driver does with arrays
  const kinds = sql`array(select jsonb_array_elements_text(cast(${JSON.stringify(o.kinds)} as jsonb)))`;
  return sql<{
    id: string | number;
    kind: string;
    payload: unknown;
    attempts: number;
    max_attempts: number;
    delivery_id: string | number | null;
  }>`select * from claim_jobs(${o.workerId}, ${kinds}, ${o.leaseMs}, ${o.limit})`;
}

/** Claims one due job (see `claimJobs`). */
export async function claimJob(db: Db, options: Omit<ClaimOptions, 'limit'>): Promise<ClaimedJob | null> {
  return (await claimJobs(db, { ...options, limit: 1 }))[0] ?? null;
}

/** Keeps the lease of jobs this worker is still running. */
export async function extendLeases(db: Db, workerId: string, ids: number[], leaseMs: number): Promise<void> {
  if (ids.length === 0) return;
  await db
    .updateTable('jobs')
    .set({ locked_until: inMs(leaseMs) })
    .where('id', 'in', ids)
    .where('locked_by', '=', workerId)
    .where('status', '=', 'running')
    .execute();
}

/** False when the job is no longer ours (its lease expired and another worker took it). */
export async function completeJob(db: Db, id: number, workerId: string): Promise<boolean> {
  return (await completeJobs(db, [id], workerId)).has(id);
}

/**
 * Marks several finished jobs done in one statement; returns the ids that were still ours (a job
 * whose lease expired and was taken over is left to its new holder).
 */
export async function completeJobs(db: Db, ids: number[], workerId: string): Promise<Set<number>> {
  if (ids.length === 0) return new Set();
  const rows = await db
    .updateTable('jobs')
    .set({
      status: 'done',
      locked_by: null,
      locked_until: null,
      last_error: null,
      finished_at: sql<Date>`now()`,
      updated_at: sql<Date>`now()`,
    })
    .where('id', 'in', ids)
    .where('locked_by', '=', workerId)
    .where('status', '=', 'running')
    .returning('id')
    .execute();
  return new Set(rows.map((r) => Number(r.id)));
}

/** Schedules another attempt after `delayMs`, or dead-letters the job when `delayMs` is null. */
export async function failJob(
  db: Db,
  id: number,
  workerId: string,
  failure: { error: string; delayMs: number | null },
): Promise<boolean> {
  const r = await db
    .updateTable('jobs')
    .set(
      failure.delayMs === null
        ? {
            status: 'dead',
            last_error: failure.error,
            locked_by: null,
            locked_until: null,
            finished_at: sql<Date>`now()`,
            updated_at: sql<Date>`now()`,
          }
        : {
            status: 'queued',
            last_error: failure.error,
            locked_by: null,
            locked_until: null,
            run_at: inMs(failure.delayMs),
            updated_at: sql<Date>`now()`,
          },
    )
    .where('id', '=', id)
    .where('locked_by', '=', workerId)
    .where('status', '=', 'running')
    .executeTakeFirst();
  return Number(r.numUpdatedRows) > 0;
}

/**
 * Dead-letters running jobs whose lease expired after their last allowed attempt: a job that
 * keeps killing its worker must not be retried forever.
 */
export async function buryAbandonedJobs(db: Db): Promise<number> {
  const r = await db
    .updateTable('jobs')
    .set({
      status: 'dead',
      last_error: sql<string>`coalesce(last_error || '; ', '') || 'worker stopped during the last allowed attempt'`,
      locked_by: null,
      locked_until: null,
      finished_at: sql<Date>`now()`,
      updated_at: sql<Date>`now()`,
    })
    .where('status', '=', 'running')
    .where('locked_until', '<', sql<Date>`now()`)
    .where((eb) => eb('attempts', '>=', eb.ref('max_attempts')))
    .executeTakeFirst();
  return Number(r.numUpdatedRows);
}

/**
 * Makes every running job claimable now. Only for the embedded store, whose lock file proves no
 * other process is running them.
 */
export async function releaseAllRunning(db: Db): Promise<number> {
  const r = await db
    .updateTable('jobs')
    .set({ locked_until: sql<Date>`now() - interval '1 second'` })
    .where('status', '=', 'running')
    .executeTakeFirst();
  return Number(r.numUpdatedRows);
}

function toRow(r: {
  id: number;
  kind: string;
  status: JobStatus;
  attempts: number;
  max_attempts: number;
  delivery_id: number | null;
  last_error: string | null;
  run_at: Date;
  created_at: Date;
  updated_at: Date;
}): JobRow {
  return {
    id: Number(r.id),
    kind: r.kind,
    status: r.status,
    attempts: r.attempts,
    maxAttempts: r.max_attempts,
    deliveryId: r.delivery_id === null ? null : Number(r.delivery_id),
    lastError: r.last_error,
    runAt: new Date(r.run_at),
    createdAt: new Date(r.created_at),
    updatedAt: new Date(r.updated_at),
  };
}

export async function listJobs(db: Db, options: { status?: JobStatus[]; limit?: number } = {}): Promise<JobRow[]> {
  let q = db
    .selectFrom('jobs')
    .select([
      'id',
      'kind',
      'status',
      'attempts',
      'max_attempts',
      'delivery_id',
      'last_error',
      'run_at',
      'created_at',
      'updated_at',
    ])
    .orderBy('id');
  if (options.status?.length) q = q.where('status', 'in', options.status);
  if (options.limit) q = q.limit(options.limit);
  return (await q.execute()).map(toRow);
}

export async function countJobsByStatus(db: Db): Promise<Record<JobStatus, number>> {
  const rows = await db
    .selectFrom('jobs')
    .select(['status', (eb) => eb.fn.countAll().as('n')])
    .groupBy('status')
    .execute();
  const out: Record<JobStatus, number> = { queued: 0, running: 0, done: 0, dead: 0 };
  for (const r of rows) out[r.status] = Number(r.n);
  return out;
}

/** Puts dead jobs back in the queue with a fresh attempt budget. `ids` null = every dead job. */
export async function retryDeadJobs(db: Db, ids: number[] | null): Promise<number[]> {
  let q = db
    .updateTable('jobs')
    .set({ status: 'queued', attempts: 0, run_at: sql<Date>`now()`, finished_at: null, updated_at: sql<Date>`now()` })
    .where('status', '=', 'dead');
  if (ids) {
    if (ids.length === 0) return [];
    q = q.where('id', 'in', ids);
  }
  const rows = await q.returning('id').execute();
  return rows.map((r) => Number(r.id)).sort((a, b) => a - b);
}

export async function purgeDeadJobs(db: Db): Promise<number> {
  const r = await db.deleteFrom('jobs').where('status', '=', 'dead').executeTakeFirst();
  return Number(r.numDeletedRows);
}
