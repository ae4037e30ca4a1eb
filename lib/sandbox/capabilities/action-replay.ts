import type { ReplayStore } from '../../stores/replay-store.js';
import { CapabilityError, invalidArgument } from './capability-error.js';

/** Limits of `api.replay.consume`. */
export const ACTION_REPLAY_LIMITS = Object.freeze({
  /** Characters of a key (a `jti` is usually 16 to 64). */
  maxKeyLength: 256,
  /**
   * Shortest time a key is remembered, in seconds, whatever `expiresAt` says: a token a verifier
   * accepted with some clock tolerance after its `exp` must not be accepted again a moment later.
   */
  minRememberSeconds: 300,
  /**
   * Furthest `expiresAt`, in seconds from now: a value beyond it is almost always milliseconds
   * given for seconds, which would keep the key for ever.
   */
  maxLifetimeSeconds: 366 * 24 * 3600,
  /** Calls of one execution. */
  maxCallsPerExecution: 10,
});

/**
 * `api.replay.consume(key, { expiresAt })` for one execution of one action: remembers `key` in
 * the router's replay store (`stores.replay`, shared by every instance that shares it) until
 * `expiresAt` (seconds since the epoch, a JWT's `exp`), and resolves `true` the first time a key
 * is consumed and `false` for every later call, on any instance, while it is remembered. Keys are
 * the action's own: another action's `key` is another key.
 *
 * A store that cannot answer (down, timed out, full) rejects the call inside the action and is
 * remembered in {@link failure}: the router then fails the exchange with `503` even if the action
 * caught the error, so a replay never passes because the store was away.
 */
export class ActionReplay {
  readonly #store: ReplayStore;
  readonly #actionId: string;
  readonly #now: () => number;
  #calls = 0;
  #failure: unknown;

  constructor(store: ReplayStore, actionId: string, now: () => number = Date.now) {
    this.#store = store;
    this.#actionId = actionId;
    this.#now = now;
  }

  /** What the store failed with, if it failed during the execution. */
  get failure(): unknown {
    return this.#failure;
  }

  /** Rejects with a {@link CapabilityError} for bad arguments, the call cap or a store failure. */
  async consume(key: unknown, options: unknown): Promise<boolean> {
    const { maxKeyLength, minRememberSeconds, maxLifetimeSeconds, maxCallsPerExecution } =
      ACTION_REPLAY_LIMITS;
    if (typeof key !== 'string' || key.length === 0 || key.length > maxKeyLength) {
      throw invalidArgument(
        `api.replay.consume: key must be a string of 1 to ${maxKeyLength} characters`,
      );
    }
    const expiresAt = (options as { expiresAt?: unknown } | null | undefined)?.expiresAt;
    if (typeof expiresAt !== 'number' || !Number.isFinite(expiresAt)) {
      throw invalidArgument(
        'api.replay.consume: options.expiresAt must be a number of seconds since the epoch (a JWT exp)',
      );
    }
    const nowSeconds = this.#now() / 1000;
    if (expiresAt > nowSeconds + maxLifetimeSeconds) {
      throw invalidArgument(
        'api.replay.consume: options.expiresAt is more than 366 days away; give it in seconds since the epoch (a JWT exp), not milliseconds',
      );
    }
    if (this.#calls >= maxCallsPerExecution) {
      throw new CapabilityError(
        'ERR_REPLAY_LIMIT',
        `api.replay.consume: at most ${maxCallsPerExecution} calls per execution`,
      );
    }
    this.#calls += 1;
    const until = Math.ceil(Math.max(expiresAt, nowSeconds + minRememberSeconds));
    try {
      return await this.#store.consume(`action-replay:${this.#actionId}:${key}`, until);
    } catch (err) {
      this.#failure ??= err;
      throw new CapabilityError(
        'ERR_REPLAY_STORE_UNAVAILABLE',
        'api.replay.consume: the replay store failed; the exchange fails whatever the action does next',
      );
    }
  }
}
