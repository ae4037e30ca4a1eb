import { StoreFullError } from './store-full-error.js';

/**
 * Remembers one-time values (a `private_key_jwt` assertion's `jti`, ...) so that the same value
 * cannot be accepted twice while it is still valid (RFC 7523 section 3, RFC 8725 section 3.10).
 *
 * Implement it over a store every instance of the router shares (Redis `SET key 1 NX EXAT exp`,
 * a database row with a unique key, ...): a replay store kept per process lets an attacker
 * replay an assertion by round-robin across replicas. `MemoryReplayStore` is the single-process
 * default.
 */
export interface ReplayStore {
  /**
   * Records `key` as used until `expiresAtSeconds` (a Unix time in seconds).
   *
   * Resolves `true` the first time a key is consumed and `false` for every later call while the
   * key is remembered. After `expiresAtSeconds` the store may forget the key; callers only ever
   * consume values that cannot be valid any more by then.
   *
   * Check-and-set must be atomic: two concurrent calls with the same key must never both resolve
   * `true`, also when they reach different router instances. A store that cannot remember a new
   * key (full, unreachable) must reject rather than resolve `true`: forgetting a key is exactly
   * the replay this store exists to prevent. Reject with {@link ReplayStoreFullError} when the
   * store is at capacity, so the router answers `503` instead of `500`.
   */
  consume(key: string, expiresAtSeconds: number): Promise<boolean>;

  /**
   * Resolves when the store can answer calls and rejects when it cannot (its server is
   * unreachable): `cte.health()` reports the store `up` or `down`. Optional: a store without it
   * is reported `unknown`.
   */
  ping?(): Promise<void>;
}

/**
 * Thrown by a {@link ReplayStore} that is full of unexpired keys and so cannot remember a new
 * one. The router turns it into `503 temporarily_unavailable` with `Retry-After`.
 */
export class ReplayStoreFullError extends StoreFullError {}
