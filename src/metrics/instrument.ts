import { isRetryable, RetryableError } from '../errors.js';
import { CallBudgetExhausted } from '../gitlab/callBudget.js';
import type { GitLab } from '../gitlab/GitLab.js';
import type { JobHandlers } from '../jobs/Worker.js';
import type { ServiceMetrics } from './ServiceMetrics.js';
import { inSpan, takeTraceparent } from './spans.js';

/**
 * Each job in a span `job <kind>` whose parent is the webhook that queued it (the traceparent its
 * payload carries, taken off before the handler sees the payload). Applied whether or not this
 * process traces: a traceparent written by another process is always removed.
 */
export function traceHandlers(handlers: JobHandlers): JobHandlers {
  return Object.fromEntries(
    Object.entries(handlers).map(([kind, handle]) => [
      kind,
      async (raw, ctx) => {
        const { payload, parent } = takeTraceparent(raw);
        await inSpan(
          `job ${kind}`,
          { 'job.id': ctx.job.id, 'job.kind': kind, 'job.attempt': ctx.job.attempts },
          () => handle(payload, ctx),
          parent,
        );
      },
    ]),
  );
}

/** Times every job handler and counts its failures by kind; the worker's behaviour is unchanged. */
export function instrumentHandlers(handlers: JobHandlers, metrics: ServiceMetrics): JobHandlers {
  return Object.fromEntries(
    Object.entries(handlers).map(([kind, handle]) => [
      kind,
      async (payload, ctx) => {
        const end = metrics.jobSeconds.startTimer({ kind });
        try {
          await handle(payload, ctx);
          end({ result: 'ok' });
        } catch (err) {
          const reason = isRetryable(err) ? 'retryable' : 'permanent';
          end({ result: reason === 'retryable' ? 'retry' : 'failed' });
          metrics.jobFailures.inc({ kind, reason });
          throw err;
        }
      },
    ]),
  );
}

function statusOf(err: unknown): string {
  // the shared call budget refused to wait that long: no request went out
  if (err instanceof CallBudgetExhausted) return 'budget';
  const e = err as { status?: unknown; cause?: { status?: unknown; name?: unknown; code?: unknown }; name?: unknown };
  const status = e.status ?? e.cause?.status;
  if (typeof status === 'number') return String(status);
  if (
    e.name === 'TimeoutError' ||
    e.cause?.name === 'TimeoutError' ||
    /timed? ?out/i.test(String((err as Error).message))
  )
    return 'timeout';
  return 'network';
}

/**
 * The GitLab port with every call counted and timed under its operation name (a fixed set, so
 * label cardinality is bounded); 429 waits GitLab asked for are summed.
 */
export function instrumentGitLab(gitlab: GitLab, metrics: ServiceMetrics): GitLab {
  return new Proxy(gitlab, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver);
      if (typeof value !== 'function' || typeof prop !== 'string') return value;
      const endpoint: string = prop;
      const call = async (args: unknown[]) => {
        const end = metrics.gitlabSeconds.startTimer({ endpoint });
        try {
          const result = await value.apply(target, args);
          metrics.gitlabCalls.inc({ endpoint, status: 'ok' });
          return result;
        } catch (err) {
          metrics.gitlabCalls.inc({ endpoint, status: statusOf(err) });
          if (err instanceof RetryableError && err.retryAfterMs)
            metrics.gitlabRetryAfterSeconds.inc({ endpoint }, err.retryAfterMs / 1000);
          throw err;
        } finally {
          end();
        }
      };
      return (...args: unknown[]) => inSpan(`gitlab.${endpoint}`, { 'gitlab.operation': endpoint }, () => call(args));
    },
  });
}
