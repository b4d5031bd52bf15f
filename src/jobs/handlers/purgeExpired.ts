import { purgeRateCounters } from '../../db/commandStore.js';
import type { Db } from '../../db/database.js';
import { purgeExpiredPayloads } from '../../db/deliveries.js';
import { purgeRepositoryFacts } from '../../db/repositoryFacts.js';
import type { Logger } from '../../log.js';

/** Rate-limit windows are an hour long; one that started two hours ago has ended for sure. */
const RATE_WINDOW_KEEP_MS = 2 * 3600_000;

/**
 * Drops stored webhook payloads and finished jobs older than the retention period, and the command
 * rate-limit counters of ended windows (else `command_rate_counters` grows forever), and the repository
 * facts cache's rows not written for the retention period (at least a day): a commit seen again is re-read.
 */
export async function purgeExpired(deps: {
  db: Db;
  log: Logger;
  retentionDays: number;
  now?: () => Date;
}): Promise<{ payloads: number; jobs: number; rateCounters: number; repositoryFacts: number }> {
  const now = deps.now?.() ?? new Date();
  const r = await purgeExpiredPayloads(deps.db, deps.retentionDays);
  const rateCounters = await purgeRateCounters(deps.db, new Date(now.getTime() - RATE_WINDOW_KEEP_MS));
  if (r.payloads || r.jobs) deps.log.info({ ...r, retention_days: deps.retentionDays }, 'purged expired payloads');
  if (rateCounters) deps.log.info({ rate_counters: rateCounters }, 'purged ended rate-limit windows');
  const repositoryFacts = await purgeRepositoryFacts(deps.db, Math.max(1, deps.retentionDays));
  if (repositoryFacts) deps.log.info({ repository_facts: repositoryFacts }, 'purged expired repository facts');
  return { ...r, rateCounters, repositoryFacts };
}
