/**
 * Thrown when a shared store's server did not answer in time, or cannot be reached at all. The
 * router treats it like any store failure (fail closed with `503`, or fail open, as configured);
 * a caller never waits longer than the store's deadline.
 */
export class StoreUnavailableError extends Error {
  /** Seconds a client is asked to wait before it retries: a reconnect usually takes a few. */
  readonly retryAfterSeconds = 5;

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'StoreUnavailableError';
  }
}

/**
 * `operation`, or a rejection with {@link StoreUnavailableError} once `timeoutMs` passed without
 * an answer. Clients of Redis and PostgreSQL queue commands while they reconnect and retry them
 * for as long as they are configured to (often forever), so every store call is raced against
 * this deadline. A late settlement of `operation` is ignored; `onLate` receives its value, so a
 * resource it holds (a pooled connection) can be given back. `budgetMs` is the whole deadline the
 * error names when `timeoutMs` is what is left of it after an earlier step.
 */
export function withDeadline<T>(
  operation: Promise<T>,
  timeoutMs: number,
  what: string,
  onLate?: (value: T) => void,
  budgetMs = timeoutMs,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let expired = false;
    const timer = setTimeout(() => {
      expired = true;
      reject(new StoreUnavailableError(`${what}: no answer within ${budgetMs} ms`));
    }, timeoutMs);
    operation.then(
      (value) => {
        clearTimeout(timer);
        if (!expired) resolve(value);
        else onLate?.(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        if (!expired) reject(error);
      },
    );
  });
}

/** Checks a deadline option: a positive integer of milliseconds, at most ten minutes. */
export function checkTimeout(value: unknown, path: string): number {
  return checkInteger(value, path, 1, 600_000);
}

/** Checks an integer option within `[min, max]`; the `TypeError` names its path. */
export function checkInteger(value: unknown, path: string, min: number, max: number): number {
  if (!Number.isSafeInteger(value) || (value as number) < min || (value as number) > max) {
    throw new TypeError(`${path} must be an integer from ${min} to ${max}`);
  }
  return value as number;
}
