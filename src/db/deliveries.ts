import { sql } from 'kysely';
import type { Db } from './database.js';

export interface DeliveryInput {
  dedupeKey: string;
  event: string;
  projectId: number | null;
  /** already redacted */
  payload: unknown;
  job: { kind: string; payload: unknown; maxAttempts: number };
}

export type DeliveryResult =
  | { duplicate: false; deliveryId: number; jobId: number }
  | { duplicate: true; deliveryId: number | null };

/**
 * Stores deliveries and enqueues their jobs in ONE statement (data-modifying CTEs): for each
 * delivery both rows exist or neither does, and a redelivery with a known key adds nothing.
 * Many deliveries per statement is what makes the embedded store fast (one commit for all).
 * Results are in input order; a key repeated within the batch is a duplicate after its first use.
 *
 * The batch travels as ONE jsonb parameter unpacked by jsonb_to_recordset: the statement text is
 * the same for every batch size (PostgreSQL prepares it once per connection), JavaScript serialises
 * once per batch, and the embedded store parses one document instead of binding 8 values a row.
 */
export async function acceptDeliveries(db: Db, inputs: DeliveryInput[]): Promise<DeliveryResult[]> {
  if (inputs.length === 0) return [];
  const batch = JSON.stringify(
    inputs.map((d, i) => ({
      k: d.dedupeKey,
      e: d.event,
      p: d.projectId,
      d: d.payload ?? null,
      t: d.job.kind,
      j: d.job.payload ?? null,
      m: d.job.maxAttempts,
      o: i,
    })),
  );
  const inserted = await sql<{ dedupe_key: string; delivery_id: number; job_id: number }>`
    with input as (
      select * from jsonb_to_recordset(cast(${batch} as jsonb))
        as x(k text, e text, p bigint, d jsonb, t text, j jsonb, m integer, o integer)
    ),
    firsts as (select distinct on (k) * from input order by k, o),
    d as (
      insert into webhook_deliveries (dedupe_key, event, project_id, payload)
      select k, e, p, d from firsts order by o
      on conflict (dedupe_key) do nothing
      returning id, dedupe_key
    ),
    j as (
      insert into jobs (kind, payload, delivery_id, max_attempts)
      select f.t, f.j, d.id, f.m from d join firsts f on f.k = d.dedupe_key order by f.o
      returning id, delivery_id
    )
    select d.dedupe_key, d.id as delivery_id, j.id as job_id from d join j on j.delivery_id = d.id`.execute(db);
  const fresh = new Map(inserted.rows.map((r) => [r.dedupe_key, r]));
  const results: Array<DeliveryResult | null> = inputs.map((d) => {
    const r = fresh.get(d.dedupeKey);
    if (!r) return null;
    fresh.delete(d.dedupeKey);
    return { duplicate: false, deliveryId: Number(r.delivery_id), jobId: Number(r.job_id) };
  });
  const dupKeys = inputs.filter((_, i) => results[i] === null).map((d) => d.dedupeKey);
  const existing = dupKeys.length
    ? await db
        .selectFrom('webhook_deliveries')
        .select(['id', 'dedupe_key'])
        .where('dedupe_key', 'in', dupKeys)
        .execute()
    : [];
  const ids = new Map(existing.map((e) => [e.dedupe_key, Number(e.id)]));
  return results.map((r, i) => r ?? { duplicate: true, deliveryId: ids.get(inputs[i]!.dedupeKey) ?? null });
}

export async function countDeliveries(db: Db): Promise<number> {
  const row = await db
    .selectFrom('webhook_deliveries')
    .select((eb) => eb.fn.countAll().as('n'))
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

/**
 * Drops stored payloads (and finished jobs) older than the retention period. The delivery rows
 * themselves stay as dedupe keys, so a late redelivery is still recognised.
 */
export async function purgeExpiredPayloads(db: Db, retentionDays: number): Promise<{ payloads: number; jobs: number }> {
  const cutoff = sql<Date>`now() - make_interval(days => ${retentionDays})`;
  const p = await db
    .updateTable('webhook_deliveries')
    .set({ payload: null })
    .where('received_at', '<', cutoff)
    .where('payload', 'is not', null)
    .executeTakeFirst();
  const j = await db
    .deleteFrom('jobs')
    .where('status', '=', 'done')
    .where('finished_at', '<', cutoff)
    .executeTakeFirst();
  return { payloads: Number(p.numUpdatedRows), jobs: Number(j.numDeletedRows) };
}
