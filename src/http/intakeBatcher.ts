import type { Db } from '../db/database.js';
import { acceptDeliveries, type DeliveryInput, type DeliveryResult } from '../db/deliveries.js';

export interface IntakeBatcher {
  accept(input: DeliveryInput): Promise<DeliveryResult>;
}

/**
 * Group commit for webhook intake: a delivery that arrives while a write is in flight joins the
 * next statement instead of waiting for its own. A lone delivery is written on the next turn of the
 * event loop (no timer), so batching only happens under load, and every answer waits for its commit.
 */
export function createIntakeBatcher(db: Db, options: { maxBatch?: number; maxInFlight?: number } = {}): IntakeBatcher {
  const maxBatch = options.maxBatch ?? 32;
  const maxInFlight = options.maxInFlight ?? 1;
  type Pending = { input: DeliveryInput; resolve: (r: DeliveryResult) => void; reject: (e: unknown) => void };
  let pending: Pending[] = [];
  let inFlight = 0;
  let scheduled = false;

  // One delivery the statement rejects for its data (say a \u0000, which jsonb refuses) must not fail
  // the others that happened to share its batch: each is then written again on its own. Other errors
  // (the database is unreachable) fail the batch at once.
  async function write(batch: Pending[]): Promise<void> {
    try {
      const results = await acceptDeliveries(
        db,
        batch.map((b) => b.input),
      );
      for (const [i, b] of batch.entries()) b.resolve(results[i]!);
    } catch (err) {
      if (batch.length === 1 || !isDataError(err)) {
        batch[0]!.reject(err);
        return;
      }
      for (const b of batch) {
        await acceptDeliveries(db, [b.input]).then(
          ([r]) => b.resolve(r!),
          (e) => b.reject(e),
        );
      }
    }
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

  return {
    accept(input) {
      return new Promise<DeliveryResult>((resolve, reject) => {
        pending.push({ input, resolve, reject });
        schedule();
      });
    },
  };
}

/** SQLSTATE classes 22 (data exception) and 23 (integrity constraint violation). */
function isDataError(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && (code.startsWith('22') || code.startsWith('23'));
}
