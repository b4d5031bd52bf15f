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

  function pump(): void {
    while (inFlight < maxInFlight && pending.length > 0) {
      const batch = pending.slice(0, maxBatch);
      pending = pending.slice(batch.length);
      inFlight++;
      acceptDeliveries(
        db,
        batch.map((b) => b.input),
      )
        .then(
          (results) => {
            for (const [i, b] of batch.entries()) b.resolve(results[i]!);
          },
          (err) => {
            for (const b of batch) b.reject(err);
          },
        )
        .finally(() => {
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
