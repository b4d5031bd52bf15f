/**
 * The one error type whose message a user sees as is (CLI stderr, API body, MR reply).
 * `exitCode` follows the CLI contract: 1 failure, 2 bad input.
 */
export class UserFacingError extends Error {
  constructor(
    message: string,
    readonly options: { exitCode?: 1 | 2; status?: number; code?: string } = {},
  ) {
    super(message);
    this.name = 'UserFacingError';
  }
  get exitCode(): 1 | 2 {
    return this.options.exitCode ?? 1;
  }
  get status(): number {
    return this.options.status ?? 400;
  }
}

/** A failure worth retrying later; the job worker honours `retryAfterMs` (GitLab's Retry-After). */
export class RetryableError extends Error {
  constructor(
    message: string,
    readonly retryAfterMs: number | null = null,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'RetryableError';
  }
}

export function isRetryable(err: unknown): err is RetryableError {
  return err instanceof RetryableError;
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
