import { AsyncLocalStorage } from 'node:async_hooks';
import { RetryableError } from '../errors.js';

/**
 * The GitLab call budget (issue 10 item 3), as the GitLab client sees it: a limiter every HTTP attempt
 * goes through, and call counting per unit of work (one job) for the logs and metrics.
 */

/** What a take decided. `remaining` is the bucket after it (negative: calls are queued behind a refill). */
export interface CallPermit {
  /** ms the caller waited (or is about to wait) for its token */
  waitMs: number;
  remaining: number;
}

/** A client-side rate limiter shared by every worker that calls one GitLab instance. */
export interface CallLimiter {
  /**
   * Takes one call's token, waiting for it when the bucket is empty. When the wait would exceed the
   * limiter's maximum, takes nothing and throws a RetryableError whose `retryAfterMs` says when to retry.
   */
  take(): Promise<CallPermit>;
  /** GitLab answered 429: nobody calls again for `retryAfterMs` (the bucket is drained until then). */
  rateLimited(retryAfterMs: number): Promise<void>;
  /** the bucket as last seen by this process, null before the first take */
  remaining(): number | null;
}

/** The budget would make a call wait longer than allowed: no request went out; retry after `retryAfterMs`. */
export class CallBudgetExhausted extends RetryableError {
  constructor(message: string, retryAfterMs: number) {
    super(message, retryAfterMs);
    this.name = 'CallBudgetExhausted';
  }
}

/** Counts the GitLab HTTP calls made inside a scope; scopes nest (an outer scope counts its inner ones). */
export class CallCount {
  calls = 0;
  constructor(readonly parent: CallCount | null = null) {}
}

const scope = new AsyncLocalStorage<CallCount>();

/** Runs `fn` with a fresh counter of the GitLab calls it makes (nested inside any current one). */
export async function countGitLabCalls<T>(fn: () => Promise<T>): Promise<{ result: T; calls: number }> {
  const counter = new CallCount(scope.getStore() ?? null);
  const result = await scope.run(counter, fn);
  return { result, calls: counter.calls };
}

/** Called by the GitLab client for every HTTP attempt it makes. */
export function noteGitLabCall(): void {
  for (let c = scope.getStore() ?? null; c; c = c.parent) c.calls++;
}
