import type { AttemptBucket, AttemptPolicy, AttemptStore, AttemptTake } from './attempt-store.js';

/** Options of {@link MemoryAttemptStore}. */
export interface MemoryAttemptStoreOptions {
  /**
   * Most buckets remembered at once; default 100 000 (a few MB). Refilled buckets are dropped as
   * soon as they are seen; when the store is still full, the bucket taken from least recently is
   * forgotten (that key gets its attempts back early).
   */
  maxKeys?: number;
  /** Clock in milliseconds since the epoch; default `Date.now`. Tests pass a fake one. */
  now?: () => number;
}

/** A bucket that is not full; full buckets are not stored. */
interface StoredBucket {
  attempts: number;
  /** When `attempts` was last brought up to date: the next attempt comes back `rate` later. */
  refilledAt: number;
}

/**
 * An in-process {@link AttemptStore}. Correct for a single process only: other router instances
 * do not see its buckets, so use a shared store when several instances serve.
 *
 * Everything is synchronous inside each call, so `take` is atomic within the process. No timers:
 * buckets are brought up to date when they are read, so nothing keeps the process alive.
 */
export class MemoryAttemptStore implements AttemptStore {
  readonly #maxKeys: number;
  readonly #now: () => number;
  /** Insertion order is the order of the last take: the first key is the least recently used. */
  readonly #buckets = new Map<string, StoredBucket>();

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

  /** {@inheritDoc AttemptStore.peek} */
  async peek(key: string, policy: AttemptPolicy): Promise<AttemptBucket> {
    checkKey(key);
    checkPolicy(policy);
    const bucket = this.#current(key, policy);
    return view(bucket, policy);
  }

  /** {@inheritDoc AttemptStore.take} */
  async take(key: string, policy: AttemptPolicy): Promise<AttemptTake> {
    checkKey(key);
    checkPolicy(policy);
    const bucket = this.#current(key, policy) ?? {
      attempts: policy.maxAttempts,
      refilledAt: this.#now(),
    };
    const taken = bucket.attempts >= 1;
    if (taken) {
      // A full bucket starts refilling from its first take.
      if (bucket.attempts === policy.maxAttempts) bucket.refilledAt = this.#now();
      bucket.attempts -= 1;
    }
    this.#buckets.delete(key);
    if (bucket.attempts < policy.maxAttempts) {
      if (this.#buckets.size >= this.#maxKeys) this.#evictOne();
      this.#buckets.set(key, bucket);
    }
    return { ...view(bucket, policy), taken };
  }

  /** {@inheritDoc AttemptStore.reset} */
  async reset(key: string): Promise<void> {
    checkKey(key);
    this.#buckets.delete(key);
  }

  /** Forgets every bucket. */
  async resetAll(): Promise<void> {
    this.#buckets.clear();
  }

  /**
   * The bucket of `key` brought up to the current time, or `undefined` when it is full (and then
   * forgotten). Attempts come back whole, one per `rate`; `refilledAt` advances by the time they
   * account for, so the fraction towards the next one is kept.
   */
  #current(key: string, policy: AttemptPolicy): StoredBucket | undefined {
    const bucket = this.#buckets.get(key);
    if (!bucket) return undefined;
    const now = this.#now();
    // A clock that stepped back regains nothing rather than a negative number of attempts.
    const gained = Math.max(0, Math.floor((now - bucket.refilledAt) / policy.rate));
    bucket.attempts = Math.min(policy.maxAttempts, bucket.attempts + gained);
    bucket.refilledAt += gained * policy.rate;
    if (bucket.attempts >= policy.maxAttempts) {
      this.#buckets.delete(key);
      return undefined;
    }
    return bucket;
  }

  /** Drops the least recently taken bucket: the one most likely to have refilled by now. */
  #evictOne(): void {
    const oldest = this.#buckets.keys().next();
    if (!oldest.done) this.#buckets.delete(oldest.value);
  }
}

function view(bucket: StoredBucket | undefined, policy: AttemptPolicy): AttemptBucket {
  if (!bucket) return { remaining: policy.maxAttempts, nextAttemptAt: undefined };
  return {
    remaining: bucket.attempts,
    nextAttemptAt: new Date(bucket.refilledAt + policy.rate),
  };
}

function checkKey(key: string): void {
  if (typeof key !== 'string' || key === '') {
    throw new TypeError('MemoryAttemptStore: key must be a non-empty string');
  }
}

function checkPolicy(policy: AttemptPolicy): void {
  const { maxAttempts, rate } = policy ?? {};
  if (!Number.isSafeInteger(maxAttempts) || maxAttempts < 1) {
    throw new TypeError('MemoryAttemptStore: policy.maxAttempts must be a positive integer');
  }
  if (!Number.isSafeInteger(rate) || rate < 1) {
    throw new TypeError('MemoryAttemptStore: policy.rate must be a positive integer');
  }
}
