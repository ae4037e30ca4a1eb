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
  /** Attempts left, `0`–`maxAttempts`; `0` means the key is blocked. Holds do not lower it. */
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
 * A hold on one of a bucket's attempts while an exchange whose outcome is not known yet runs,
 * placed by {@link AttemptStore.reserve}.
 */
export interface AttemptHold {
  /** Unique among the key's holds (the router draws 128 random bits). */
  readonly id: string;
  /**
   * Milliseconds the hold lasts, counted by the store's clock from the call that places or
   * renews it; it then lapses by itself, so the holds of a process that died are freed.
   */
  readonly ttlMs: number;
}

/** The bucket after {@link AttemptStore.reserve}. */
export interface AttemptReservation extends AttemptBucket {
  /**
   * `true` when the hold is in place (placed now, or renewed). `false` when no attempt was free:
   * the key is blocked (`remaining` is 0), or every attempt left is held by other exchanges.
   */
  reserved: boolean;
}

/**
 * Token buckets of failed attempts, one per key (the suspicious IP throttle's key is a client IP
 * or IPv6 network). In the spirit of express-rate-limit's `Store`: small, async, and implemented
 * once per backend; `MemoryAttemptStore` is the single-process default.
 *
 * A bucket starts full (`maxAttempts`); every `rate` milliseconds one attempt comes back, never
 * beyond `maxAttempts`. A key the store does not know is a full bucket without holds, so a store
 * may forget a bucket that has refilled and holds nothing (a TTL of `maxAttempts × rate` after the
 * last take, and at least the longest hold's `ttlMs` after the last reserve, is enough).
 *
 * Holds make the throttle exact under concurrency: before an exchange runs its action, the
 * router holds one attempt ({@link reserve}); an invalid subject token then takes it
 * ({@link take} with the hold's id), any other outcome gives it back ({@link release}). A hold is
 * only placed while holds are fewer than the attempts left, so however many exchanges from one
 * key run at once, at most `remaining` of them can be answered by an action's rejection.
 *
 * Every method on one key must be atomic against every other method on that key: the refill,
 * the dropping of lapsed holds, the check and the change in one step (one Lua script in Redis,
 * one transaction with the key's row locked in SQL), so two instances never both take or hold
 * the last attempt, and a key's bucket is the same on every instance. Times are the store's own
 * clock (Redis `TIME`, the database's `now()`), so instances' clocks need not agree. Every method
 * rejects when the backend cannot answer; the router then applies
 * `attackProtection.onStoreError`.
 */
export interface AttemptStore {
  /**
   * The bucket of `key` now, refilled to the current time. Changes nothing observable; holds do
   * not show.
   */
  peek(key: string, policy: AttemptPolicy): Promise<AttemptBucket>;
  /**
   * Refills the bucket of `key` to the current time and drops its lapsed holds; removes the hold
   * `holdId` when given (whether or not it is still live); then takes one attempt if any is left.
   */
  take(key: string, policy: AttemptPolicy, holdId?: string): Promise<AttemptTake>;
  /**
   * Holds one attempt of `key`, in one atomic step:
   * 1. refill the bucket to the current time, and drop the holds whose time is up;
   * 2. if a live hold has `hold.id`, extend it to `hold.ttlMs` from now: `reserved` is `true`;
   * 3. otherwise, if `remaining` minus the number of live holds is at least 1, add the hold,
   *    lasting `hold.ttlMs` from now: `reserved` is `true`;
   * 4. otherwise change nothing: `reserved` is `false`.
   *
   * Answers the bucket as {@link peek} would (holds do not lower `remaining`).
   */
  reserve(key: string, policy: AttemptPolicy, hold: AttemptHold): Promise<AttemptReservation>;
  /** Removes the hold `holdId` of `key` (nothing when it lapsed or never was). */
  release(key: string, holdId: string): Promise<void>;
  /** Refills the bucket of `key` completely and drops its holds (forgets it). */
  reset(key: string): Promise<void>;
  /** Releases timers or connections the store owns. Optional. */
  shutdown?(): Promise<void> | void;

  /**
   * Resolves when the store can answer calls and rejects when it cannot (its server is
   * unreachable): `cte.health()` reports the store `up` or `down`. Optional: a store without it
   * is reported `unknown`.
   */
  ping?(): Promise<void>;
}
