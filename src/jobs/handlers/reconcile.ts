import type { Db } from '../../db/database.js';
import { enqueueJob } from '../../db/jobQueue.js';
import { tryAcquireLease } from '../../db/leases.js';
import { knownProjects, recordedStatuses } from '../../db/runs.js';
import { errorMessage } from '../../errors.js';
import type { GitLab } from '../../gitlab/GitLab.js';
import type { Logger } from '../../log.js';
import { PIPELINE_EVENT, type PipelineEventPayload, TERMINAL_STATUSES } from '../../webhooks/events.js';

export interface ReconcileDeps {
  db: Db;
  gitlab: GitLab;
  log: Logger;
  holder: string;
  lookbackH: number;
  maxAttempts: number;
  /** held (and renewed by the holder) for about one interval, so a second replica never runs a parallel pass */
  leaseMs: number;
  now?: () => Date;
}

export interface ReconcileResult {
  ran: boolean;
  projects: number;
  enqueued: number;
}

/**
 * GitLab does not retry failed deliveries: list recent finished pipelines of known projects and
 * enqueue the ones never recorded with that status. One replica at a time (a lease row).
 */
export async function reconcileOnce(deps: ReconcileDeps): Promise<ReconcileResult> {
  if (!(await tryAcquireLease(deps.db, 'reconciler', deps.holder, deps.leaseMs))) {
    return { ran: false, projects: 0, enqueued: 0 };
  }
  const now = deps.now?.() ?? new Date();
  const since = new Date(now.getTime() - deps.lookbackH * 3600_000).toISOString();
  const projects = await knownProjects(deps.db);
  let enqueued = 0;
  for (const p of projects) {
    let pipelines: Awaited<ReturnType<GitLab['pipelines']>>;
    try {
      pipelines = await deps.gitlab.pipelines(p.projectId, { updatedAfter: since, limit: 100 });
    } catch (err) {
      deps.log.warn({ project: p.pathWithNamespace, error: errorMessage(err) }, 'reconcile: listing pipelines failed');
      continue;
    }
    const finished = pipelines.filter((x) => TERMINAL_STATUSES.has(x.status));
    const recorded = await recordedStatuses(
      deps.db,
      finished.map((x) => x.id),
    );
    for (const x of finished) {
      if (recorded.get(x.id) === x.status) continue;
      const payload: PipelineEventPayload = { source: 'reconcile', projectId: p.projectId, pipelineId: x.id };
      const r = await enqueueJob(deps.db, {
        kind: PIPELINE_EVENT,
        payload,
        maxAttempts: deps.maxAttempts,
        dedupeKey: `reconcile:${x.id}:${x.status}:${x.updated_at ?? ''}`,
      });
      if (r.created) enqueued++;
    }
  }
  if (enqueued) deps.log.info({ enqueued, projects: projects.length }, 'reconcile: enqueued missed pipelines');
  return { ran: true, projects: projects.length, enqueued };
}
