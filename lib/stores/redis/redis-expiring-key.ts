import type { StoreFullError } from '../store-full-error.js';

/**
 * Writes a key that expires on its own at `expiresAtSeconds` (seconds since the epoch) with
 * `write`, which gets the expiry as `EXAT` takes it: whole seconds, rounded up so that a key is
 * never forgotten early, and at least 1. A server out of memory (`OOM`: `maxmemory` reached with
 * `noeviction`) rejects with the store's {@link StoreFullError} that `full` builds from the
 * server's message, so the router answers `503` with `Retry-After` instead of carrying on without
 * what the key was to remember.
 */
export async function writeExpiringKey<T>(
  expiresAtSeconds: number,
  write: (exat: number) => Promise<T>,
  full: (message: string) => StoreFullError,
): Promise<T> {
  try {
    return await write(Math.max(1, Math.ceil(expiresAtSeconds)));
  } catch (error) {
    if (isOutOfMemory(error)) throw full(`Redis ${error.message}`);
    throw error;
  }
}

/** Whether a Redis error is `OOM`: `maxmemory` reached with `noeviction` (see `StoreFullError`). */
function isOutOfMemory(error: unknown): error is Error {
  return error instanceof Error && error.message.startsWith('OOM');
}
