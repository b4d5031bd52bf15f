import type { Db } from '../db/database.js';
import { acceptDeliveries, type DeliveryInput, type DeliveryResult } from '../db/deliveries.js';
import { withIntakePriority } from '../db/SerialPGliteDialect.js';
import { errorMessage } from '../errors.js';
import type { Logger } from '../log.js';
import { withTimeout } from '../withTimeout.js';
import type { DeliverySpool } from './deliverySpool.js';

/** Stored in the database, or (while it cannot take them) appended to the spool and fsync'd. */
export type IntakeResult = DeliveryResult | { spooled: true };

/** Neither the database nor the spool could store the delivery: the caller answers 503. */
export class IntakeUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'IntakeUnavailableError';
  }
}

/** The database refused this delivery's data (not its availability): the caller answers 400. */
export class UnstorableDeliveryError extends Error {
  constructor(readonly sqlState: string) {
    super(`the payload could not be stored (SQLSTATE ${sqlState})`);
    this.name = 'UnstorableDeliveryError';
  }
}

export interface IntakeBatcher {
  accept(input: DeliveryInput): Promise<IntakeResult>;
  /** when the last delivery arrived (epoch ms; 0 before the first): a worker in this process yields to bursts by it */
  lastAcceptedAt(): number;
  /** stops replaying the spool (what is left stays in it for the next start) */
  close(): void;
}

export interface IntakeOptions {
  maxBatch?: number;
  maxInFlight?: number;
  /** null: no spool (its directory is held by another process); an outage then answers 503 */
  spool?: DeliverySpool | null;
  /** a write that takes longer goes to the spool (GitLab gives up after 10 s) */
  writeTimeoutMs?: number;
  log?: Logger;
  /** deliveries from the spool are in the database (wake the worker) */
  onReplayed?: () => void;
}

const REPLAY_BACKOFF_MS = [500, 1000, 2000, 5000, 10_000, 15_000];

/**
 * Group commit for webhook intake: a delivery that arrives while a write is in flight joins the
 * next statement instead of waiting for its own. A lone delivery is written on the next turn of the
 * event loop (no timer), so batching only happens under load, and every answer waits for its commit.
 *
 * When the database fails or does not answer in time, the batch goes to the spool instead, and so does
 * every delivery after it until the spool is replayed: the database receives deliveries in the order
 * they were acknowledged. A write that timed out may still land; its replay is then a duplicate, which
 * the dedupe key absorbs.
 */
export function createIntakeBatcher(db: Db, options: IntakeOptions = {}): IntakeBatcher {
  const maxBatch = options.maxBatch ?? 32;
  const maxInFlight = options.maxInFlight ?? 1;
  const spool = options.spool ?? null;
  const writeTimeoutMs = options.writeTimeoutMs ?? 5000;
  const log = options.log;
  type Pending = { input: DeliveryInput; resolve: (r: IntakeResult) => void; reject: (e: unknown) => void };
  let pending: Pending[] = [];
  let inFlight = 0;
  let scheduled = false;
  let closed = false;
  let outageSince: number | null = null;

  const store = (inputs: DeliveryInput[]) =>
    withTimeout(
      acceptDeliveries(db, inputs),
      writeTimeoutMs,
      () => new Error(`the database did not answer within ${writeTimeoutMs} ms`),
    );

  async function toSpool(batch: Pending[], cause: unknown): Promise<void> {
    if (!spool) {
      for (const b of batch)
        b.reject(new IntakeUnavailableError(`the database is unavailable (${errorMessage(cause)})`));
      return;
    }
    try {
      await spool.append(batch.map((b) => b.input));
    } catch (err) {
      log?.error({ err, spool: spool.dir }, 'delivery spool cannot be written; answering 503');
      for (const b of batch)
        b.reject(new IntakeUnavailableError('neither the database nor the delivery spool is writable'));
      return;
    }
    for (const b of batch) b.resolve({ spooled: true });
    replaySoon();
  }

  // One delivery the statement rejects for its data must not fail the others that happened to share
  // its batch: each is then written again on its own.
  async function write(batch: Pending[]): Promise<void> {
    if (spool?.pending()) return toSpool(batch, null);
    try {
      const results = await withIntakePriority(() => store(batch.map((b) => b.input)));
      for (const [i, b] of batch.entries()) b.resolve(results[i]!);
    } catch (err) {
      const state = dataErrorState(err);
      if (state === null) {
        noteOutage(err);
        return toSpool(batch, err);
      }
      if (batch.length === 1) {
        batch[0]!.reject(new UnstorableDeliveryError(state));
        return;
      }
      for (const b of batch) await write([b]);
    }
  }

  function noteOutage(err: unknown): void {
    if (outageSince !== null) return;
    outageSince = Date.now();
    log?.warn({ err }, spool ? 'database unavailable: deliveries go to the spool' : 'database unavailable');
  }

  function pump(): void {
    while (inFlight < maxInFlight && pending.length > 0) {
      const batch = pending.slice(0, maxBatch);
      pending = pending.slice(batch.length);
      inFlight++;
      void write(batch).finally(() => {
        inFlight--;
        schedule();
      });
    }
  }

  // After the I/O phase: every request already read in this turn of the event loop joins the batch.
  // (PGlite runs in this thread, so requests pile up while a statement executes.)
  function schedule(): void {
    if (scheduled) return;
    scheduled = true;
    setImmediate(() => {
      scheduled = false;
      pump();
    });
  }

  // ---- replay ----
  let replaying = false;
  let replayTimer: NodeJS.Timeout | null = null;
  let attempt = 0;

  // No intake timeout here: nobody waits for a replay, and a batch that is merely slow (a huge payload
  // on the embedded store) would otherwise time out again on every attempt and hold up all behind it.
  // A database that hangs is still bounded by PIPELINE_LEARNER_DB_QUERY_TIMEOUT_MS.
  async function writeReplayed(batch: DeliveryInput[]): Promise<void> {
    try {
      await acceptDeliveries(db, batch);
    } catch (err) {
      const state = dataErrorState(err);
      if (state === null) throw err;
      if (batch.length > 1) {
        for (const one of batch) await writeReplayed([one]);
        return;
      }
      // kept forever it would block every delivery behind it
      log?.error(
        { dedupe_key: batch[0]!.dedupeKey, sql_state: state },
        'spooled delivery refused by the database; dropped',
      );
    }
  }

  function replaySoon(delayMs = REPLAY_BACKOFF_MS[0]!): void {
    if (!spool || closed || replaying || replayTimer) return;
    replayTimer = setTimeout(() => {
      replayTimer = null;
      void replay();
    }, delayMs);
    replayTimer.unref();
  }

  async function replay(): Promise<void> {
    if (!spool || closed || replaying) return;
    replaying = true;
    try {
      const n = await spool.replay(writeReplayed);
      attempt = 0;
      if (outageSince !== null) {
        log?.info(
          { replayed: n, outage_s: Math.round((Date.now() - outageSince) / 1000) },
          'database back: spool replayed',
        );
        outageSince = null;
      } else if (n) log?.info({ replayed: n }, 'spooled deliveries replayed');
      if (n) options.onReplayed?.();
    } catch (err) {
      noteOutage(err);
      attempt++;
    } finally {
      replaying = false;
    }
    if (spool.pending()) replaySoon(REPLAY_BACKOFF_MS[Math.min(attempt, REPLAY_BACKOFF_MS.length - 1)]);
  }

  // deliveries spooled by an earlier run go first
  if (spool?.pending()) replaySoon(0);

  let lastAcceptedAt = 0;
  return {
    accept(input) {
      lastAcceptedAt = Date.now();
      return new Promise<IntakeResult>((resolve, reject) => {
        pending.push({ input, resolve, reject });
        schedule();
      });
    },
    lastAcceptedAt: () => lastAcceptedAt,
    close() {
      closed = true;
      if (replayTimer) clearTimeout(replayTimer);
      replayTimer = null;
    },
  };
}

/** The SQLSTATE of a data exception (class 22) or integrity violation (class 23), else null. */
function dataErrorState(err: unknown): string | null {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^2[23][0-9A-Z]{3}$/.test(code) ? code : null;
}
