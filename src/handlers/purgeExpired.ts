import type { Db } from '../db/database.js';
import { purgeExpiredPayloads } from '../db/deliveries.js';
import { purgeRepositoryFacts } from '../db/repositoryFacts.js';
import type { Logger } from '../log.js';

/**
 * Drops stored webhook payloads and finished jobs older than the retention period, and the repository
 * facts cache's rows not written for as long (at least a day): a commit seen again is simply re-read.
 */
export async function purgeExpired(deps: { db: Db; log: Logger; retentionDays: number }): Promise<void> {
  const r = await purgeExpiredPayloads(deps.db, deps.retentionDays);
  const facts = await purgeRepositoryFacts(deps.db, Math.max(1, deps.retentionDays));
  if (r.payloads || r.jobs || facts)
    deps.log.info({ ...r, repository_facts: facts, retention_days: deps.retentionDays }, 'purged expired payloads');
}
