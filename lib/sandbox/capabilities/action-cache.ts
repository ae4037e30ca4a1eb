/** One cached value of an action. */
export interface CacheEntry {
  value: string;
  /** Epoch ms after which the entry is gone. */
  expires_at: number;
}

/** A change an execution made to its action's cache, applied after the execution. */
export type CacheChange =
  { op: 'set'; key: string; entry: CacheEntry } | { op: 'delete'; key: string };

/** What `api.cache.set` / `api.cache.delete` return (Auth0's `CacheWriteResult`). */
export type CacheWriteResult = { type: 'success' } | { type: 'error'; code: CacheErrorCode };

/**
 * `INVALID_KEY`: not a non-empty string of at most 64 bytes. `INVALID_VALUE`: not a string of at
 * most 4 kB. `INVALID_OPTIONS`: `ttl` / `expires_at` not positive numbers, or an `expires_at`
 * already past. `CACHE_LIMIT_EXCEEDED`: more than 20 entries, or more than 8 kB of keys and
 * values, for the action.
 */
export type CacheErrorCode =
  'CACHE_LIMIT_EXCEEDED' | 'INVALID_KEY' | 'INVALID_VALUE' | 'INVALID_OPTIONS';

/** Auth0's `api.cache` limits, per action. Sizes are UTF-8 bytes. */
export const ACTION_CACHE_LIMITS = Object.freeze({
  /** Lifetime of an entry set without `ttl` or `expires_at`: 15 minutes. */
  defaultTtlMs: 15 * 60 * 1000,
  /** Longest lifetime; longer requests are clamped: 24 hours. */
  maxTtlMs: 24 * 60 * 60 * 1000,
  maxEntries: 20,
  maxKeyBytes: 64,
  maxValueBytes: 4096,
  /** Keys plus values of all live entries. */
  maxTotalBytes: 8192,
});

/** Whether `key` is one an action may cache under: a non-empty string of at most 64 bytes. */
export function isValidCacheKey(key: unknown): key is string {
  return (
    typeof key === 'string' &&
    key.length > 0 &&
    Buffer.byteLength(key, 'utf8') <= ACTION_CACHE_LIMITS.maxKeyBytes
  );
}

/** Whether `value` is one an action may cache: a string of at most 4 kB. */
export function isValidCacheValue(value: unknown): value is string {
  return (
    typeof value === 'string' &&
    Buffer.byteLength(value, 'utf8') <= ACTION_CACHE_LIMITS.maxValueBytes
  );
}

/**
 * Where action caches live between executions. `api.cache` is synchronous inside an action (as in
 * Auth0), so a runner `load`s the action's entries before an execution and `apply`s its
 * {@link ActionCache.changes} after it. Implementations drop expired entries and keep each action
 * within {@link ACTION_CACHE_LIMITS} even when concurrent executions' changes add up beyond them.
 */
export interface ActionCacheStore {
  /** The action's live entries. */
  load(actionId: string): Promise<Record<string, CacheEntry>>;
  /** Applies one execution's changes in order (last write wins per key). */
  apply(actionId: string, changes: ReadonlyArray<CacheChange>): Promise<void>;

  /**
   * Resolves when the store can answer calls and rejects when it cannot (its server is
   * unreachable): `cte.health()` reports the store `up` or `down`. Optional: a store without it
   * is reported `unknown`.
   */
  ping?(): Promise<void>;
}

/**
 * In-memory {@link ActionCacheStore}. When concurrent executions' changes add up beyond the
 * limits, the least recently written entries are evicted (Auth0: entries "may be evicted earlier").
 */
export class MemoryActionCacheStore implements ActionCacheStore {
  readonly #now: () => number;
  readonly #actions = new Map<string, Map<string, CacheEntry>>();

  /** @param options.now clock in epoch ms; default `Date.now` (tests inject a fake one). */
  constructor(options: { now?: () => number } = {}) {
    this.#now = options.now ?? Date.now;
  }

  /** Always resolves: memory is always reachable. */
  ping(): Promise<void> {
    return Promise.resolve();
  }

  async load(actionId: string): Promise<Record<string, CacheEntry>> {
    const entries = this.#live(actionId);
    return Object.fromEntries(
      [...(entries ?? [])].map(([key, entry]) => [
        key,
        { value: entry.value, expires_at: entry.expires_at },
      ]),
    );
  }

  async apply(actionId: string, changes: ReadonlyArray<CacheChange>): Promise<void> {
    const now = this.#now();
    const entries = this.#live(actionId) ?? new Map<string, CacheEntry>();
    for (const change of changes) {
      if (!isValidCacheKey(change.key)) continue;
      entries.delete(change.key);
      if (change.op !== 'set' || typeof change.entry !== 'object' || change.entry === null)
        continue;
      const { value, expires_at: expiresAt } = change.entry;
      if (!isValidCacheValue(value) || typeof expiresAt !== 'number' || !(expiresAt > now))
        continue;
      entries.set(change.key, {
        value,
        expires_at: Math.min(expiresAt, now + ACTION_CACHE_LIMITS.maxTtlMs),
      });
    }
    let total = 0;
    for (const [key, entry] of entries) total += entryBytes(key, entry.value);
    for (const [key, entry] of entries) {
      if (
        entries.size <= ACTION_CACHE_LIMITS.maxEntries &&
        total <= ACTION_CACHE_LIMITS.maxTotalBytes
      ) {
        break;
      }
      entries.delete(key);
      total -= entryBytes(key, entry.value);
    }
    if (entries.size === 0) this.#actions.delete(actionId);
    else this.#actions.set(actionId, entries);
  }

  /** The action's entries with the expired ones purged. */
  #live(actionId: string): Map<string, CacheEntry> | undefined {
    const entries = this.#actions.get(actionId);
    if (!entries) return undefined;
    const now = this.#now();
    for (const [key, entry] of entries) if (entry.expires_at <= now) entries.delete(key);
    if (entries.size === 0) {
      this.#actions.delete(actionId);
      return undefined;
    }
    return entries;
  }
}

/**
 * The per-execution view behind `api.cache`: synchronous reads and writes over the entries the
 * runner loaded, checked against {@link ACTION_CACHE_LIMITS}, recording the changes the runner
 * applies to the store afterwards. Writes that would break a limit return an error result and
 * change nothing; nothing here throws. Expired entries are invisible and purged.
 */
export class ActionCache {
  readonly #now: () => number;
  readonly #entries = new Map<string, CacheEntry>();
  readonly #changes = new Map<string, CacheChange>();

  /**
   * @param entries what {@link ActionCacheStore.load} returned (invalid or expired ones are skipped).
   * @param options.now clock in epoch ms; default `Date.now`.
   */
  constructor(entries: Readonly<Record<string, CacheEntry>>, options: { now?: () => number } = {}) {
    this.#now = options.now ?? Date.now;
    const now = this.#now();
    for (const [key, entry] of Object.entries(entries ?? {})) {
      if (
        isValidCacheKey(key) &&
        typeof entry === 'object' &&
        entry !== null &&
        isValidCacheValue(entry.value) &&
        typeof entry.expires_at === 'number' &&
        entry.expires_at > now
      ) {
        this.#entries.set(key, { value: entry.value, expires_at: entry.expires_at });
      }
    }
  }

  /** `api.cache.get(key)`: a copy of the live entry, or `undefined`. */
  get(key: unknown): CacheEntry | undefined {
    if (!isValidCacheKey(key)) return undefined;
    this.#purgeExpired();
    const entry = this.#entries.get(key);
    return entry && { value: entry.value, expires_at: entry.expires_at };
  }

  /**
   * `api.cache.set(key, value, { ttl, expires_at })`: `ttl` in ms from now, `expires_at` in epoch
   * ms; the earlier wins when both are given; neither: 15 minutes; never beyond 24 hours.
   */
  set(key: unknown, value: unknown, options?: unknown): CacheWriteResult {
    if (!isValidCacheKey(key)) return error('INVALID_KEY');
    if (!isValidCacheValue(value)) return error('INVALID_VALUE');
    const now = this.#now();
    const expiresAt = expiryFrom(options, now);
    if (expiresAt === undefined) return error('INVALID_OPTIONS');
    this.#purgeExpired();
    const replaced = this.#entries.get(key);
    const entries = this.#entries.size + (replaced ? 0 : 1);
    let total = entryBytes(key, value);
    for (const [otherKey, entry] of this.#entries) {
      if (otherKey !== key) total += entryBytes(otherKey, entry.value);
    }
    if (entries > ACTION_CACHE_LIMITS.maxEntries || total > ACTION_CACHE_LIMITS.maxTotalBytes) {
      return error('CACHE_LIMIT_EXCEEDED');
    }
    const entry = { value, expires_at: expiresAt };
    this.#entries.set(key, entry);
    this.#record({ op: 'set', key, entry: { ...entry } });
    return { type: 'success' };
  }

  /** `api.cache.delete(key)`: succeeds whether or not the key exists. */
  delete(key: unknown): CacheWriteResult {
    if (!isValidCacheKey(key)) return error('INVALID_KEY');
    this.#entries.delete(key);
    this.#record({ op: 'delete', key });
    return { type: 'success' };
  }

  /** The last change per key, in the order the keys were last written. */
  changes(): CacheChange[] {
    return [...this.#changes.values()].map((change) =>
      change.op === 'set'
        ? { op: 'set', key: change.key, entry: { ...change.entry } }
        : { ...change },
    );
  }

  #record(change: CacheChange): void {
    this.#changes.delete(change.key);
    this.#changes.set(change.key, change);
  }

  #purgeExpired(): void {
    const now = this.#now();
    for (const [key, entry] of this.#entries)
      if (entry.expires_at <= now) this.#entries.delete(key);
  }
}

function expiryFrom(options: unknown, now: number): number | undefined {
  if (options === undefined || options === null) return now + ACTION_CACHE_LIMITS.defaultTtlMs;
  if (typeof options !== 'object' || Array.isArray(options)) return undefined;
  const { ttl, expires_at: expiresAt } = options as { ttl?: unknown; expires_at?: unknown };
  if (ttl !== undefined && !(typeof ttl === 'number' && Number.isFinite(ttl) && ttl > 0)) {
    return undefined;
  }
  if (
    expiresAt !== undefined &&
    !(typeof expiresAt === 'number' && Number.isFinite(expiresAt) && expiresAt > now)
  ) {
    return undefined;
  }
  let expiry =
    ttl === undefined && expiresAt === undefined
      ? now + ACTION_CACHE_LIMITS.defaultTtlMs
      : Infinity;
  if (ttl !== undefined) expiry = Math.min(expiry, now + ttl);
  if (expiresAt !== undefined) expiry = Math.min(expiry, expiresAt);
  return Math.min(expiry, now + ACTION_CACHE_LIMITS.maxTtlMs);
}

function entryBytes(key: string, value: string): number {
  return Buffer.byteLength(key, 'utf8') + Buffer.byteLength(value, 'utf8');
}

function error(code: CacheErrorCode): CacheWriteResult {
  return { type: 'error', code };
}
