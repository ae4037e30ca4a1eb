/**
 * The policy of an attempt bucket, sent with every call so a shared store needs no configuration
 * of its own (and two routers with different policies can share one store under different
 * prefixes).
 */
export interface AttemptPolicy {
  /** Capacity of the bucket: the attempts a key has when it has used none. */
  readonly maxAttempts: number;
  /** Milliseconds per attempt regained, one at a time, until the bucket is full again. */
  readonly rate: number;
}

/** What a bucket holds now. */
export interface AttemptBucket {
  /** Attempts left, `0`–`maxAttempts`; `0` means the key is blocked. */
  remaining: number;
  /** When the next attempt comes back; `undefined` when the bucket is full. */
  nextAttemptAt: Date | undefined;
}

/** The bucket after {@link AttemptStore.take}. */
export interface AttemptTake extends AttemptBucket {
  /** `true` when an attempt was taken; `false` when the bucket was already empty. */
  taken: boolean;
}

/**
 * Token buckets of failed attempts, one per key (the suspicious IP throttle's key is a client IP
 * or IPv6 network). In the spirit of express-rate-limit's `Store`: small, async, and implemented
 * once per backend; `MemoryAttemptStore` is the single-process default.
 *
 * A bucket starts full (`maxAttempts`); every `rate` milliseconds one attempt comes back, never
 * beyond `maxAttempts`. A key the store does not know is a full bucket, so a store may forget
 * any bucket that has refilled (a TTL of `maxAttempts × rate` after the last take is enough).
 *
 * A shared implementation (Redis, a database row) must make {@link take} atomic: the refill, the
 * check and the decrement in one step (a Lua script, a transaction), so two instances taking at
 * once never both take the last attempt, and a key's bucket is the same on every instance.
 * Every method rejects when the backend cannot answer; the router then applies
 * `attackProtection.onStoreError`.
 */
export interface AttemptStore {
  /** The bucket of `key` now, refilled to the current time. Changes nothing observable. */
  peek(key: string, policy: AttemptPolicy): Promise<AttemptBucket>;
  /** Refills the bucket of `key` to the current time, then takes one attempt if any is left. */
  take(key: string, policy: AttemptPolicy): Promise<AttemptTake>;
  /** Refills the bucket of `key` completely (forgets it). */
  reset(key: string): Promise<void>;
  /** Releases timers or connections the store owns. Optional. */
  shutdown?(): Promise<void> | void;
}
