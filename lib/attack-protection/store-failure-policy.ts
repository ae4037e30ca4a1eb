import { TemporarilyUnavailable } from '../errors.js';
import type { OAuthError } from '../errors.js';

/**
 * What a request does when an attack-protection store throws or rejects:
 * - `'fail-closed'` (default): the request ends with `503 temporarily_unavailable` and
 *   `Retry-After`; the store's error is the cause in the `fecte` entry. An attacker cannot
 *   switch the protection off by overloading its store.
 * - `'fail-open'`: the request goes on as if the protection had let it through; the failure is
 *   printed with `console.warn`, at most once a minute.
 */
export type StoreErrorMode = 'fail-closed' | 'fail-open';

/** Seconds a client is asked to wait when a store is down (fail-closed). */
export const STORE_RETRY_AFTER_SECONDS = 5;

/** Options of {@link StoreFailurePolicy}. */
export interface StoreFailurePolicyOptions {
  mode: StoreErrorMode;
  /** Where fail-open warnings go; default `console.warn`. */
  warn?: (message: string) => void;
  /** Clock in milliseconds; default `Date.now`. */
  now?: () => number;
  /** Least time between two warnings; default 60 000 ms. */
  warnIntervalMs?: number;
}

/** Applies `attackProtection.onStoreError` to one store failure. */
export class StoreFailurePolicy {
  readonly mode: StoreErrorMode;
  readonly #warn: (message: string) => void;
  readonly #now: () => number;
  readonly #interval: number;
  #lastWarning = -Infinity;
  #suppressed = 0;

  constructor(options: StoreFailurePolicyOptions) {
    this.mode = options.mode;
    this.#warn = options.warn ?? ((message) => console.warn(message));
    this.#now = options.now ?? Date.now;
    this.#interval = options.warnIntervalMs ?? 60_000;
  }

  /**
   * Fail-closed: the `503` to end the request with. Fail-open: `undefined` (the request goes
   * on), after a warning unless one was printed less than a minute ago.
   *
   * @param what the store that failed, for the log and the warning.
   */
  failure(what: string, error: unknown): OAuthError | undefined {
    const reason = describe(error);
    if (this.mode === 'fail-closed') {
      return new TemporarilyUnavailable(STORE_RETRY_AFTER_SECONDS, `${what} failed: ${reason}`);
    }
    const now = this.#now();
    if (now - this.#lastWarning < this.#interval) {
      this.#suppressed += 1;
      return undefined;
    }
    const suppressed =
      this.#suppressed === 0
        ? ''
        : ` (${this.#suppressed} more store failures since the last warning)`;
    this.#lastWarning = now;
    this.#suppressed = 0;
    this.#warn(
      `customTokenExchange: ${what} failed; onStoreError is 'fail-open', so requests proceed ` +
        `without this protection: ${reason}${suppressed}`,
    );
    return undefined;
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}
