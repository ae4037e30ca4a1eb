import { RevokedTokenStoreFullError, type RevokedTokenStore } from './revoked-token-store.js';
import { checkExpiringEntry } from './expiring-key-arguments.js';

/** Options of {@link MemoryRevokedTokenStore}. */
export interface MemoryRevokedTokenStoreOptions {
  /**
   * Most revocations remembered at once; default 100 000. When the store is full of unexpired
   * ones a new revocation is refused with {@link RevokedTokenStoreFullError} (never by forgetting
   * an unexpired one, which would make that token active again).
   */
  maxEntries?: number;
  /** Clock in milliseconds since the epoch; default `Date.now`. Tests pass a fake one. */
  now?: () => number;
}

/** Expired entries are looked for at most this often (and whenever the store is full). */
const SWEEP_INTERVAL_MS = 60_000;

/**
 * An in-process {@link RevokedTokenStore}. Correct for a single process only: router instances
 * in other processes do not see its revocations, so use a shared store when several serve.
 *
 * Nothing runs from a timer (nothing keeps the process alive): expired entries are swept during
 * calls, at most once a minute, in one pass; a lookup compares the expiry itself, so an entry
 * past it reads as not revoked whether or not it was swept yet.
 */
export class MemoryRevokedTokenStore implements RevokedTokenStore {
  readonly #maxEntries: number;
  readonly #now: () => number;
  /** jti → expiry in seconds. */
  readonly #expiries = new Map<string, number>();
  #lastSweep = -Infinity;

  constructor(options: MemoryRevokedTokenStoreOptions = {}) {
    const { maxEntries = 100_000, now = Date.now } = options;
    if (!Number.isSafeInteger(maxEntries) || maxEntries < 1) {
      throw new TypeError('MemoryRevokedTokenStore: options.maxEntries must be a positive integer');
    }
    if (typeof now !== 'function') {
      throw new TypeError('MemoryRevokedTokenStore: options.now must be a function');
    }
    this.#maxEntries = maxEntries;
    this.#now = now;
  }

  /** Revocations held (expired ones are dropped by the next sweep). */
  get size(): number {
    return this.#expiries.size;
  }

  /** Always resolves: memory is always reachable. */
  ping(): Promise<void> {
    return Promise.resolve();
  }

  /** {@inheritDoc RevokedTokenStore.revoke} */
  revoke(jti: string, expiresAtSeconds: number): Promise<void> {
    try {
      this.#revokeNow(jti, expiresAtSeconds);
      return Promise.resolve();
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /** {@inheritDoc RevokedTokenStore.isRevoked} */
  isRevoked(jti: string): Promise<boolean> {
    if (typeof jti !== 'string' || jti === '') {
      return Promise.reject(
        new TypeError('MemoryRevokedTokenStore.isRevoked: jti must be a non-empty string'),
      );
    }
    const nowSeconds = this.#now() / 1000;
    this.#sweepIfDue(nowSeconds);
    const expiry = this.#expiries.get(jti);
    return Promise.resolve(expiry !== undefined && nowSeconds < expiry);
  }

  #revokeNow(jti: string, expiresAtSeconds: number): void {
    checkExpiringEntry('MemoryRevokedTokenStore.revoke', 'jti', jti, expiresAtSeconds);
    const nowSeconds = this.#now() / 1000;
    this.#sweepIfDue(nowSeconds);
    const known = this.#expiries.get(jti);
    if (known !== undefined) {
      this.#expiries.set(jti, Math.max(known, expiresAtSeconds));
      return;
    }
    if (expiresAtSeconds <= nowSeconds) return;
    if (this.#expiries.size >= this.#maxEntries) this.#sweep(nowSeconds);
    if (this.#expiries.size >= this.#maxEntries) {
      let soonest = Infinity;
      for (const expiry of this.#expiries.values()) soonest = Math.min(soonest, expiry);
      throw new RevokedTokenStoreFullError(
        `revoked token store full: ${this.#expiries.size} unexpired revocations (maxEntries ${this.#maxEntries})`,
        soonest - nowSeconds,
      );
    }
    this.#expiries.set(jti, expiresAtSeconds);
  }

  #sweepIfDue(nowSeconds: number): void {
    if (nowSeconds * 1000 - this.#lastSweep >= SWEEP_INTERVAL_MS) this.#sweep(nowSeconds);
  }

  #sweep(nowSeconds: number): void {
    this.#lastSweep = nowSeconds * 1000;
    for (const [jti, expiry] of this.#expiries) {
      if (expiry <= nowSeconds) this.#expiries.delete(jti);
    }
  }
}
