import { TemporarilyUnavailable } from '../errors.js';

/**
 * A store's refusal as the router answers it: an error that says when to retry
 * (`retryAfterSeconds`, as a full or unreachable store's errors do) is `503
 * temporarily_unavailable` with that `Retry-After`; anything else is left as it is (a
 * `server_error`).
 */
export function storeFailure(err: unknown): unknown {
  const retryAfter = (err as { retryAfterSeconds?: unknown } | null)?.retryAfterSeconds;
  if (!(err instanceof Error) || typeof retryAfter !== 'number' || !Number.isFinite(retryAfter)) {
    return err;
  }
  return new TemporarilyUnavailable(
    Math.max(1, Math.ceil(retryAfter)),
    `${err.name}: ${err.message}`,
  );
}
