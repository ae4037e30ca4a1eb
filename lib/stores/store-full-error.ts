/**
 * Thrown by a store that is full of unexpired entries and so cannot record a new one. The router
 * turns it into `503 temporarily_unavailable` with `Retry-After`. Each store has its own subclass,
 * named after it.
 */
export class StoreFullError extends Error {
  /** Seconds until the store expects to have room again (at least 1). */
  readonly retryAfterSeconds: number;

  constructor(message: string, retryAfterSeconds: number) {
    super(message);
    this.name = new.target.name;
    this.retryAfterSeconds = Math.max(1, Math.ceil(retryAfterSeconds));
  }
}
