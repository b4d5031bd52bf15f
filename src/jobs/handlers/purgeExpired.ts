import type { Db } from '../../db/database.js';
import { purgeExpiredPayloads } from '../../db/deliveries.js';
import type { Logger } from '../../log.js';

/** Drops stored webhook payloads and finished jobs older than the retention period. */
export async function purgeExpired(deps: { db: Db; log: Logger; retentionDays: number }): Promise<void> {
  const r = await purgeExpiredPayloads(deps.db, deps.retentionDays);
  if (r.payloads || r.jobs) deps.log.info({ ...r, retention_days: deps.retentionDays }, 'purged expired payloads');
}
