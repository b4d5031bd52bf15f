import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { Db } from '../db/database.js';
import { buryAbandonedJobs, type ClaimedJob, claimJobs, completeJobs, extendLeases, failJob } from '../db/jobQueue.js';
import { errorMessage, isRetryable, UserFacingError } from '../errors.js';
import { GitLabError } from '../gitlab/GitLab.js';
import type { Logger } from '../log.js';
import { scrubSecrets } from '../log.js';
import type { IntakeLevel } from './intakePressure.js';

export interface JobContext {
  job: ClaimedJob;
  log: Logger;
}

/** One function per job kind; kinds without a handler stay queued until one is registered. */
export type JobHandler = (payload: unknown, ctx: JobContext) => Promise<void>;
export type JobHandlers = Record<string, JobHandler>;

export interface WorkerOptions {
  db: Db;
  handlers: JobHandlers;
  log: Logger;
  concurrency: number;
  pollMs: number;
  /** a job whose worker stops renewing this lease (killed) becomes claimable again */
  leaseMs: number;
  backoffBaseMs: number;
  backoffMaxMs: number;
  /** secrets to keep out of stored error messages */
  secrets?: readonly string[];
  workerId?: string;
  random?: () => number;
  /**
   * Webhook intake in the same process (intakePressure.ts). While deliveries arrive the worker runs at
   * most `arrivingConcurrency` jobs at once; while they saturate the thread, one job at a time, resting
   * as long as each job took before claiming the next, so at least half of the thread is left for
   * acknowledgements (GitLab waits 10 s and disables a hook after four failures; a queued job can wait).
   * Full `concurrency` while intake is quiet.
   */
  intake?: () => IntakeLevel;
  /** jobs at once while deliveries arrive (default 4) */
  arrivingConcurrency?: number;
}

/** the longest rest between two jobs while intake is busy (jobs still drain during a long burst) */
const MAX_REST_MS = 500;

export interface Worker {
  readonly id: string;
  start(): void;
  /** claim now instead of at the next poll (a delivery was just accepted) */
  wake(): void;
  /** stops claiming, waits for running jobs to finish */
  drain(): Promise<void>;
  running(): number;
}

/**
 * Exponential backoff with full jitter in [½, 1] of the step; GitLab's Retry-After wins when longer.
 */
export function retryDelayMs(
  attempt: number,
  err: unknown,
  o: { backoffBaseMs: number; backoffMaxMs: number },
  random: () => number = Math.random,
): number {
  const step = Math.min(o.backoffMaxMs, o.backoffBaseMs * 2 ** Math.max(0, attempt - 1));
  const jittered = Math.round(step * (0.5 + random() * 0.5));
  const hinted = err instanceof GitLabError || isRetryable(err) ? (err.retryAfterMs ?? 0) : 0;
  return Math.max(jittered, hinted);
}

/** Errors that another attempt cannot fix go straight to the dead letters. */
function isPermanent(err: unknown): boolean {
  if (err instanceof UserFacingError) return true;
  if (err instanceof GitLabError) return err.retry === 'never';
  return false;
}

/** What a dead letter says about a permanent GitLab answer: why no retry was made, and what to do. */
function permanentReason(err: GitLabError): string {
  const retry = 'then `pipeline-learner jobs retry`';
  switch (err.status) {
    case 401:
      return `GitLab refused the token: check GITLAB_TOKEN (expired or revoked?), ${retry}`;
    case 403:
      return `the token has no access to this project or action: give the bot user the needed role and the token the api scope, ${retry}`;
    case 404:
      return 'not found on GitLab: deleted, or not visible to the token';
    default:
      return `GitLab refused the request as made (${err.status}); another attempt would get the same answer`;
  }
}

export function createWorker(o: WorkerOptions): Worker {
  const id = o.workerId ?? `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
  const log = o.log.child({ worker: id });
  const kinds = Object.keys(o.handlers);
  const inFlight = new Map<number, Promise<void>>();
  let stopping = false;
  let started = false;
  let pollTimer: NodeJS.Timeout | null = null;
  let leaseTimer: NodeJS.Timeout | null = null;
  let claiming = false;
  let wakeAgain = false;
  let lastBury = 0;
  /** consecutive failed claims (the database is unreachable): polls back off, logs are spaced */
  let claimFailures = 0;
  let lastFailureLog = 0;
  /** while intake saturates the thread: no claim before this time (see `intake`) */
  let restUntil = 0;
  let restTimer: NodeJS.Timeout | null = null;
  /** how many jobs may run at once now, and whether to rest between them */
  function capacity(): { cap: number; busy: boolean } {
    const level = o.intake?.() ?? 'quiet';
    if (level === 'saturated') return { cap: 1, busy: true };
    if (level === 'arriving') return { cap: Math.min(o.concurrency, o.arrivingConcurrency ?? 4), busy: false };
    return { cap: o.concurrency, busy: false };
  }

  function afterJob(elapsedMs: number): void {
    if (stopping) return;
    if (!capacity().busy) {
      void claimLoop();
      return;
    }
    const rest = Math.min(MAX_REST_MS, Math.max(1, elapsedMs));
    restUntil = Date.now() + rest;
    if (restTimer) clearTimeout(restTimer);
    restTimer = setTimeout(() => {
      restTimer = null;
      void claimLoop();
    }, rest);
    restTimer.unref?.();
  }

  // Completion batcher: jobs that finish in the same turn of the event loop are marked done with
  // one statement. A job stays in flight (drain waits for it) until its row says done.
  let pendingDone: Array<{ id: number; resolve: (ours: boolean) => void; reject: (e: unknown) => void }> = [];
  let flushScheduled = false;
  function markDone(jobId: number): Promise<boolean> {
    return new Promise((resolve, reject) => {
      pendingDone.push({ id: jobId, resolve, reject });
      if (!flushScheduled) {
        flushScheduled = true;
        setImmediate(flushDone);
      }
    });
  }
  function flushDone(): void {
    flushScheduled = false;
    const batch = pendingDone;
    pendingDone = [];
    completeJobs(
      o.db,
      batch.map((b) => b.id),
      id,
    ).then(
      (ours) => {
        for (const b of batch) b.resolve(ours.has(b.id));
      },
      (err) => {
        for (const b of batch) b.reject(err);
      },
    );
  }

  async function runOne(job: ClaimedJob): Promise<void> {
    const jobLog = log.child({
      job_id: job.id,
      job_kind: job.kind,
      delivery_id: job.deliveryId,
      attempt: job.attempts,
    });
    const handler = o.handlers[job.kind]!;
    const started = Date.now();
    try {
      await handler(job.payload, { job, log: jobLog });
      let ours: boolean;
      try {
        ours = await markDone(job.id);
      } catch (err) {
        jobLog.error({ err }, 'could not mark the job done; the lease will expire and it will run again');
        return;
      }
      if (ours) jobLog.info({ ms: Date.now() - started }, 'job done');
      else jobLog.warn('job finished after its lease was taken over; its result stands, the other run is idempotent');
    } catch (err) {
      const permanent = isPermanent(err);
      const text =
        permanent && err instanceof GitLabError
          ? `permanent: ${permanentReason(err)}. ${errorMessage(err)}`
          : errorMessage(err);
      const message = scrubSecrets(text, o.secrets).slice(0, 2000);
      const last = job.attempts >= job.maxAttempts || permanent;
      const delayMs = last ? null : retryDelayMs(job.attempts, err, o, o.random);
      await failJob(o.db, job.id, id, { error: message, delayMs }).catch((e) =>
        jobLog.error({ err: e }, 'could not record the job failure; the lease will expire and it will run again'),
      );
      if (last) jobLog.error({ err }, `job dead-lettered after ${job.attempts} attempt(s)`);
      else jobLog.warn({ err, retry_in_ms: delayMs }, 'job failed; will retry');
    }
  }

  async function claimLoop(): Promise<void> {
    if (claiming) {
      wakeAgain = true;
      return;
    }
    claiming = true;
    try {
      do {
        wakeAgain = false;
        if (Date.now() - lastBury > o.leaseMs) {
          lastBury = Date.now();
          const buried = await buryAbandonedJobs(o.db);
          if (buried) log.warn({ count: buried }, 'dead-lettered jobs whose worker died during their last attempt');
        }
        // one statement claims as many jobs as there are free slots
        for (;;) {
          const { cap, busy } = capacity();
          if (stopping || inFlight.size >= cap || (busy && Date.now() < restUntil)) break;
          const free = cap - inFlight.size;
          const jobs = await claimJobs(o.db, { workerId: id, kinds, leaseMs: o.leaseMs, limit: free });
          for (const job of jobs) {
            const jobStarted = Date.now();
            const p = runOne(job).finally(() => {
              inFlight.delete(job.id);
              afterJob(Date.now() - jobStarted);
            });
            inFlight.set(job.id, p);
          }
          if (jobs.length < free) break;
        }
      } while (wakeAgain && !stopping);
      if (claimFailures > 0) {
        log.info({ failed_polls: claimFailures }, 'database reachable again: claiming jobs');
        claimFailures = 0;
      }
    } catch (err) {
      claimFailures++;
      if (claimFailures === 1 || Date.now() - lastFailureLog > 60_000) {
        lastFailureLog = Date.now();
        log.error({ err, failed_polls: claimFailures }, 'claiming jobs failed; will keep trying with backoff');
      }
    } finally {
      claiming = false;
    }
  }

  // During an outage the poll backs off (to 15 s at most) instead of hammering the database; the
  // first successful claim resets it.
  function schedulePoll(): void {
    if (stopping) return;
    const delay = claimFailures ? Math.min(15_000, o.pollMs * 2 ** Math.min(claimFailures, 10)) : o.pollMs;
    pollTimer = setTimeout(async () => {
      await claimLoop();
      schedulePoll();
    }, delay);
    pollTimer.unref?.();
  }

  return {
    id,
    start() {
      if (started) return;
      started = true;
      log.info({ kinds, concurrency: o.concurrency }, 'worker started');
      leaseTimer = setInterval(
        () => {
          extendLeases(o.db, id, [...inFlight.keys()], o.leaseMs).catch((err) =>
            log.warn({ err }, 'could not renew job leases'),
          );
        },
        Math.max(50, Math.floor(o.leaseMs / 3)),
      );
      leaseTimer.unref?.();
      void claimLoop();
      schedulePoll();
    },
    wake() {
      if (started && !stopping) void claimLoop();
    },
    async drain() {
      stopping = true;
      if (pollTimer) clearTimeout(pollTimer);
      if (restTimer) clearTimeout(restTimer);
      while (claiming) await new Promise((r) => setTimeout(r, 5));
      if (inFlight.size) log.info({ running: inFlight.size }, 'draining: waiting for running jobs');
      while (inFlight.size) await Promise.allSettled([...inFlight.values()]);
      if (leaseTimer) clearInterval(leaseTimer);
      log.info('worker stopped');
    },
    running: () => inFlight.size,
  };
}
