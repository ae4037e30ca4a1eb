import { TemporarilyUnavailable } from '../errors.js';
import { settlesWithin } from '../logs/settles-within.js';

/**
 * `Retry-After` of a request refused because the router is shutting down, in seconds: behind a
 * load balancer another instance answers the retry.
 */
export const SHUTDOWN_RETRY_AFTER_SECONDS = 1;

/**
 * The router's own requests in flight (token requests and revocations, from the moment a request
 * is known to be ours until it is answered), and whether new ones are still taken. `close()`
 * stops taking them, so the router can wait for those in flight before it stops the sandboxes
 * and stores they use.
 */
export class ShutdownGate {
  #inFlight = 0;
  #closing = false;
  #drained: (() => void) | undefined;

  /** Requests of ours not yet answered. */
  get inFlight(): number {
    return this.#inFlight;
  }

  /**
   * Admits one request of ours. Returns the function to call once it is answered (further calls
   * do nothing).
   *
   * @throws TemporarilyUnavailable once `close()` began: `503` with `Retry-After`.
   */
  enter(): () => void {
    if (this.#closing) {
      throw new TemporarilyUnavailable(
        SHUTDOWN_RETRY_AFTER_SECONDS,
        'the router is shutting down (close() was called)',
      );
    }
    this.#inFlight += 1;
    let answered = false;
    return () => {
      if (answered) return;
      answered = true;
      this.#inFlight -= 1;
      if (this.#inFlight === 0) this.#drained?.();
    };
  }

  /**
   * Stops admitting requests, then waits until those in flight are answered or `timeoutMs` has
   * passed. Resolves to the number still in flight (0 when every one was answered).
   */
  async close(timeoutMs: number): Promise<number> {
    this.#closing = true;
    if (this.#inFlight > 0) {
      const drained = new Promise<void>((resolve) => {
        this.#drained = resolve;
      });
      await settlesWithin(drained, timeoutMs);
    }
    return this.#inFlight;
  }
}
