import type {
  AttemptBucket,
  AttemptHold,
  AttemptPolicy,
  AttemptReservation,
  AttemptStore,
  AttemptTake,
} from './attempt-store.js';
import {
  checkAttemptKey,
  checkBucketArguments,
  checkReleaseArguments,
  checkReserveArguments,
  checkTakeArguments,
} from './attempt-checks.js';

const NAME = 'MemoryAttemptStore';

/** Options of {@link MemoryAttemptStore}. */
export interface MemoryAttemptStoreOptions {
  /**
   * Most buckets remembered at once; default 100 000 (a few MB). Refilled buckets without holds
   * are dropped as soon as they are seen; when the store is still full, the bucket changed least
   * recently is forgotten (that key gets its attempts back early, and its holds are lost).
   */
  maxKeys?: number;
  /** Clock in milliseconds since the epoch; default `Date.now`. Tests pass a fake one. */
  now?: () => number;
}

/** A bucket that is not full, or that has holds; others are not stored. */
interface StoredBucket {
  attempts: number;
  /** When `attempts` was last brought up to date: the next attempt comes back `rate` later. */
  refilledAt: number;
  /** Live holds: id → when the hold lapses. */
  holds: Map<string, number>;
  /** The policy of the last call on the bucket, to bring it up to date during a sweep. */
  policy: AttemptPolicy;
}

/** Buckets held before the first sweep (see `#store`). */
const MIN_SWEEP_SIZE = 1024;

/**
 * An in-process {@link AttemptStore}. Correct for a single process only: other router instances
 * do not see its buckets, so use a shared store when several instances serve.
 *
 * Everything is synchronous inside each call, so every method is atomic within the process. No
 * timers: buckets and holds are brought up to date when they are read, and all of them whenever
 * the store doubled in size; nothing keeps the process alive.
 */
export class MemoryAttemptStore implements AttemptStore {
  readonly #maxKeys: number;
  readonly #now: () => number;
  /** Insertion order is the order of the last change: the first key is the least recently changed. */
  readonly #buckets = new Map<string, StoredBucket>();
  /** Size at which the next change sweeps. */
  #sweepAt = MIN_SWEEP_SIZE;

  constructor(options: MemoryAttemptStoreOptions = {}) {
    const { maxKeys = 100_000, now = Date.now } = options;
    if (!Number.isSafeInteger(maxKeys) || maxKeys < 1) {
      throw new TypeError('MemoryAttemptStore: options.maxKeys must be a positive integer');
    }
    if (typeof now !== 'function') {
      throw new TypeError('MemoryAttemptStore: options.now must be a function');
    }
    this.#maxKeys = maxKeys;
    this.#now = now;
  }

  /** Buckets currently remembered (buckets that refilled since are dropped when next seen). */
  get size(): number {
    return this.#buckets.size;
  }

  /** Always resolves: memory is always reachable. */
  ping(): Promise<void> {
    return Promise.resolve();
  }

  /** {@inheritDoc AttemptStore.peek} */
  async peek(key: string, policy: AttemptPolicy): Promise<AttemptBucket> {
    checkBucketArguments(NAME, key, policy);
    return view(this.#current(key, policy), policy);
  }

  /** {@inheritDoc AttemptStore.take} */
  async take(key: string, policy: AttemptPolicy, holdId?: string): Promise<AttemptTake> {
    checkTakeArguments(NAME, key, policy, holdId);
    const bucket = this.#current(key, policy) ?? this.#full(policy);
    if (holdId !== undefined) bucket.holds.delete(holdId);
    const taken = bucket.attempts >= 1;
    if (taken) {
      // A full bucket starts refilling from its first take.
      if (bucket.attempts === policy.maxAttempts) bucket.refilledAt = this.#now();
      bucket.attempts -= 1;
    }
    this.#store(key, bucket, policy);
    return { ...view(bucket, policy), taken };
  }

  /** {@inheritDoc AttemptStore.reserve} */
  async reserve(
    key: string,
    policy: AttemptPolicy,
    hold: AttemptHold,
  ): Promise<AttemptReservation> {
    checkReserveArguments(NAME, key, policy, hold);
    const { id, ttlMs } = hold;
    const bucket = this.#current(key, policy) ?? this.#full(policy);
    const reserved = bucket.holds.has(id) || bucket.attempts - bucket.holds.size >= 1;
    if (reserved) bucket.holds.set(id, this.#now() + ttlMs);
    this.#store(key, bucket, policy);
    return { ...view(bucket, policy), reserved };
  }

  /** {@inheritDoc AttemptStore.release} */
  async release(key: string, holdId: string): Promise<void> {
    checkReleaseArguments(NAME, key, holdId);
    const bucket = this.#buckets.get(key);
    if (bucket?.holds.delete(holdId)) this.#current(key, bucket.policy);
  }

  /** {@inheritDoc AttemptStore.reset} */
  async reset(key: string): Promise<void> {
    checkAttemptKey(NAME, key);
    this.#buckets.delete(key);
  }

  /** Forgets every bucket. */
  async resetAll(): Promise<void> {
    this.#buckets.clear();
  }

  /**
   * The bucket of `key` brought up to the current time (lapsed holds dropped), or `undefined`
   * when it is full without holds (and then forgotten). Attempts come back whole, one per
   * `rate`; `refilledAt` advances by the time they account for, so the fraction towards the next
   * one is kept.
   */
  #current(key: string, policy: AttemptPolicy): StoredBucket | undefined {
    const bucket = this.#buckets.get(key);
    if (!bucket) return undefined;
    bucket.policy = policy;
    const now = this.#now();
    // A clock that stepped back regains nothing rather than a negative number of attempts.
    const gained = Math.max(0, Math.floor((now - bucket.refilledAt) / policy.rate));
    bucket.attempts = Math.min(policy.maxAttempts, bucket.attempts + gained);
    bucket.refilledAt += gained * policy.rate;
    for (const [id, lapsesAt] of bucket.holds) {
      if (lapsesAt <= now) bucket.holds.delete(id);
    }
    if (bucket.attempts >= policy.maxAttempts && bucket.holds.size === 0) {
      this.#buckets.delete(key);
      return undefined;
    }
    return bucket;
  }

  #full(policy: AttemptPolicy): StoredBucket {
    return { attempts: policy.maxAttempts, refilledAt: this.#now(), holds: new Map(), policy };
  }

  /**
   * Keeps `bucket` as the most recently changed, unless it is full without holds. When the store
   * has doubled since the last sweep, first brings every bucket up to date, dropping those that
   * refilled and hold nothing (holds that lapsed are never released): amortized over the changes
   * that doubled it, so a change stays constant time.
   */
  #store(key: string, bucket: StoredBucket, policy: AttemptPolicy): void {
    this.#buckets.delete(key);
    if (this.#buckets.size >= this.#sweepAt) {
      for (const [oldKey, old] of this.#buckets) this.#current(oldKey, old.policy);
      this.#sweepAt = Math.max(MIN_SWEEP_SIZE, 2 * this.#buckets.size);
    }
    if (bucket.attempts >= policy.maxAttempts && bucket.holds.size === 0) return;
    if (this.#buckets.size >= this.#maxKeys) this.#evictOne();
    this.#buckets.set(key, bucket);
  }

  /** Drops the least recently changed bucket: the one most likely to have refilled by now. */
  #evictOne(): void {
    const oldest = this.#buckets.keys().next();
    if (!oldest.done) this.#buckets.delete(oldest.value);
  }
}

function view(bucket: StoredBucket | undefined, policy: AttemptPolicy): AttemptBucket {
  if (!bucket || bucket.attempts >= policy.maxAttempts) {
    return { remaining: policy.maxAttempts, nextAttemptAt: undefined };
  }
  return {
    remaining: bucket.attempts,
    nextAttemptAt: new Date(bucket.refilledAt + policy.rate),
  };
}
