import { performance } from 'node:perf_hooks';
import { randomToken } from '../secure-random.js';
import type { AttemptBucket, AttemptPolicy, AttemptStore } from '../stores/attempt-store.js';
import type { AttemptLease, AttemptRefusal } from './attempt-lease.js';

/** Options of {@link AttemptGate}. */
export interface AttemptGateOptions {
  store: AttemptStore;
  policy: AttemptPolicy;
  /** Exchanges of one key that may wait for an attempt at once, in this process. */
  queueLimit: number;
  /** Milliseconds an exchange may wait for an attempt. */
  queueTimeoutMs: number;
  /** See {@link DEFAULT_HOLD_TTL_MS}. */
  holdTtlMs?: number;
  /** Milliseconds between two looks at the store while exchanges of a key wait. Default 100. */
  pollMs?: number;
  /** Monotonic clock in milliseconds; default `performance.now`. */
  now?: () => number;
}

/**
 * How long a hold lasts in the store unless renewed: 5 s. A hold in use is renewed once half of
 * it or less is left (looked at every quarter of it: only exchanges longer than 1.25 s can need
 * it), so this bounds how long the holds of a process that died keep attempts from others, and
 * how long a hold this process keeps for reuse (see {@link AttemptGate}) keeps it from other
 * instances.
 */
export const DEFAULT_HOLD_TTL_MS = 5000;

interface Hold {
  readonly id: string;
  /** When the hold lapses in the store, on this process's clock (a lower bound). */
  expiresAt: number;
  /** The bucket was full when the hold was placed: the hold may be kept for reuse. */
  keep: boolean;
  /** A renewal found the hold lapsed and no attempt free: it is no longer in the store. */
  lost: boolean;
}

interface Waiter {
  resolve(result: AttemptLease | AttemptRefusal): void;
  reject(error: unknown): void;
  timer: NodeJS.Timeout;
}

interface KeyState {
  /** Holds in the store that no exchange uses, kept for the next exchange of the key. */
  idle: Hold[];
  inUse: number;
  /** Admissions waiting for their first answer from the store. */
  pending: number;
  waiters: Waiter[];
  pumping: boolean;
  /** Ends the pump's wait early: an attempt of the key may have come free. */
  wake: (() => void) | undefined;
}

/** A hold in use by an exchange, renewed while the exchange runs. */
interface HoldInUse {
  readonly key: string;
  readonly state: KeyState;
  readonly hold: Hold;
  renewing: boolean;
}

/**
 * Admits the exchanges of each key (a client IP or IPv6 network) to run their action only while
 * an attempt of the key's bucket is held for them in the {@link AttemptStore}, so that at most
 * as many exchanges as the key has attempts left can end in a rejection, however many run at
 * once, on however many instances share the store.
 *
 * The hold goes back when the exchange ends any other way, so a burst of valid tokens from one
 * key is never refused for it: exchanges beyond the attempts left wait in a queue (at most
 * `queueLimit` per key in this process, each at most `queueTimeoutMs`; beyond either they are
 * refused) and take over the hold of an exchange that ends, or look at the store again every
 * `pollMs` for holds freed elsewhere. A key without attempts refuses every waiting exchange.
 *
 * Store round trips: while a key's bucket is full, a valid exchange costs one (the hold), as the
 * single look at the bucket did before holds: its hold is not given back but kept here, unused,
 * for the key's next exchange (which then costs none) until it lapses in the store. Otherwise an
 * exchange costs two: the hold, and its take or release.
 */
export class AttemptGate {
  readonly #store: AttemptStore;
  readonly #policy: AttemptPolicy;
  readonly #queueLimit: number;
  readonly #queueTimeoutMs: number;
  readonly #ttl: number;
  readonly #pollMs: number;
  readonly #now: () => number;
  readonly #keys = new Map<string, KeyState>();
  readonly #inUse = new Set<HoldInUse>();
  /** Renews holds in use and forgets kept holds that lapsed, while there are any. */
  #maintenance: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(options: AttemptGateOptions) {
    this.#store = options.store;
    this.#policy = options.policy;
    this.#queueLimit = options.queueLimit;
    this.#queueTimeoutMs = options.queueTimeoutMs;
    this.#ttl = options.holdTtlMs ?? DEFAULT_HOLD_TTL_MS;
    this.#pollMs = options.pollMs ?? 100;
    this.#now = options.now ?? (() => performance.now());
  }

  /**
   * A lease on one attempt of `key`, once one is free, or why there is none.
   *
   * @throws the store's error when it cannot answer.
   */
  async admit(key: string): Promise<AttemptLease | AttemptRefusal> {
    if (this.#closed) return { refused: 'closed' };
    const state = this.#state(key);
    if (state.waiters.length > 0) return this.#enqueue(key, state);
    const idle = state.idle.pop();
    if (idle && this.#fresh(idle)) return this.#lease(key, state, idle);
    state.pending += 1;
    let placed: Hold | AttemptBucket;
    try {
      placed = await this.#reserve(key, state, idle?.id);
    } catch (error) {
      state.pending -= 1;
      this.#cleanup(key, state);
      throw error;
    }
    state.pending -= 1;
    if ('id' in placed) return this.#lease(key, state, placed);
    if (placed.remaining < 1) {
      this.#cleanup(key, state);
      return { refused: 'blocked', bucket: placed };
    }
    return this.#enqueue(key, state);
  }

  /** Forgets the holds kept for `key` (its bucket was reset: they are gone from the store). */
  forget(key: string): void {
    const state = this.#keys.get(key);
    if (!state) return;
    state.idle = [];
    this.#cleanup(key, state);
  }

  /** Refuses every waiting exchange and stops every timer. Leases in use can still settle. */
  close(): void {
    this.#closed = true;
    this.#stopMaintenance();
    for (const [key, state] of this.#keys) {
      for (const waiter of state.waiters.splice(0)) {
        clearTimeout(waiter.timer);
        waiter.resolve({ refused: 'closed' });
      }
      state.idle = [];
      state.wake?.();
      this.#cleanup(key, state);
    }
  }

  #state(key: string): KeyState {
    let state = this.#keys.get(key);
    if (!state) {
      state = {
        idle: [],
        inUse: 0,
        pending: 0,
        waiters: [],
        pumping: false,
        wake: undefined,
      };
      this.#keys.set(key, state);
    }
    return state;
  }

  /** Whether `hold` lasts long enough to be used without renewing it first. */
  #fresh(hold: Hold): boolean {
    return hold.expiresAt - this.#now() >= this.#ttl / 2;
  }

  /**
   * Places a hold on `key` (or renews the hold `id`): the hold, or the bucket when no attempt
   * was free. A bucket seen not full gives back the holds kept for reuse: attempts are scarce.
   */
  async #reserve(key: string, state: KeyState, id?: string): Promise<Hold | AttemptBucket> {
    const holdId = id ?? randomToken(16);
    const sentAt = this.#now();
    const result = await this.#store.reserve(key, this.#policy, { id: holdId, ttlMs: this.#ttl });
    const full = result.remaining >= this.#policy.maxAttempts;
    if (!full) this.#releaseIdle(key, state);
    if (!result.reserved)
      return { remaining: result.remaining, nextAttemptAt: result.nextAttemptAt };
    return { id: holdId, expiresAt: sentAt + this.#ttl, keep: full, lost: false };
  }

  #lease(key: string, state: KeyState, hold: Hold): AttemptLease {
    state.inUse += 1;
    const use: HoldInUse = { key, state, hold, renewing: false };
    this.#inUse.add(use);
    this.#startMaintenance();
    let done = false;
    const end = (): void => {
      done = true;
      this.#inUse.delete(use);
      state.inUse -= 1;
    };
    return {
      spend: async () => {
        if (done) throw new Error('AttemptLease: spent or settled already');
        end();
        try {
          return await this.#store.take(key, this.#policy, hold.id);
        } finally {
          this.#releaseIdle(key, state);
          state.wake?.();
          this.#cleanup(key, state);
        }
      },
      settle: () => {
        if (done) return;
        end();
        this.#giveBack(key, state, hold);
      },
    };
  }

  /** Extends a hold in use; a hold that lapsed and found no attempt free is lost. */
  async #renew(use: HoldInUse): Promise<void> {
    use.renewing = true;
    try {
      const renewed = await this.#reserve(use.key, use.state, use.hold.id);
      if ('id' in renewed) use.hold.expiresAt = renewed.expiresAt;
      else use.hold.lost = true;
    } catch {
      // The store is down: the hold lapses by itself, as it would for a process that died.
    } finally {
      use.renewing = false;
    }
  }

  #startMaintenance(): void {
    if (this.#maintenance !== undefined || this.#closed) return;
    this.#maintenance = setInterval(() => this.#maintain(), this.#ttl / 4);
    this.#maintenance.unref();
  }

  #stopMaintenance(): void {
    if (this.#maintenance !== undefined) clearInterval(this.#maintenance);
    this.#maintenance = undefined;
  }

  /**
   * Every quarter of the hold time: renews the holds in use with half their time or less left,
   * and forgets the kept holds that lapsed in the store.
   */
  #maintain(): void {
    const now = this.#now();
    for (const use of this.#inUse) {
      if (!use.renewing && use.hold.expiresAt - now <= this.#ttl / 2) void this.#renew(use);
    }
    let kept = 0;
    for (const [key, state] of this.#keys) {
      if (state.idle.length === 0) continue;
      state.idle = state.idle.filter((hold) => hold.expiresAt > now);
      kept += state.idle.length;
      this.#cleanup(key, state);
    }
    if (kept === 0 && this.#inUse.size === 0) this.#stopMaintenance();
  }

  /** A hold no exchange uses any more: to the next waiting exchange, kept, or released. */
  #giveBack(key: string, state: KeyState, hold: Hold): void {
    if (!hold.lost) {
      const waiter = state.waiters.shift();
      if (waiter) {
        clearTimeout(waiter.timer);
        // The pump sleeps on: handing a hold over frees no attempt it could place for the rest.
        waiter.resolve(this.#lease(key, state, hold));
        return;
      }
      if (hold.keep && !this.#closed) {
        state.idle.push(hold);
        this.#startMaintenance();
        return;
      }
      this.#release(key, hold.id);
    }
    state.wake?.();
    this.#cleanup(key, state);
  }

  #release(key: string, holdId: string): void {
    // A release that fails leaves the hold to lapse by itself.
    this.#store.release(key, holdId).catch(() => undefined);
  }

  #releaseIdle(key: string, state: KeyState): void {
    for (const hold of state.idle.splice(0)) this.#release(key, hold.id);
  }

  #enqueue(key: string, state: KeyState): Promise<AttemptLease | AttemptRefusal> {
    if (this.#closed) {
      this.#cleanup(key, state);
      return Promise.resolve({ refused: 'closed' });
    }
    if (state.waiters.length >= this.#queueLimit) {
      this.#cleanup(key, state);
      return Promise.resolve({ refused: 'queue-full' });
    }
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        resolve,
        reject,
        timer: setTimeout(() => {
          const index = state.waiters.indexOf(waiter);
          if (index !== -1) state.waiters.splice(index, 1);
          resolve({ refused: 'timeout' });
          state.wake?.();
        }, this.#queueTimeoutMs),
      };
      waiter.timer.unref();
      state.waiters.push(waiter);
      void this.#pump(key, state);
    });
  }

  /**
   * Serves the key's waiting exchanges in order while the store grants holds; waits for an
   * exchange of the key to end (or `pollMs`) when every attempt left is held.
   */
  async #pump(key: string, state: KeyState): Promise<void> {
    if (state.pumping) return;
    state.pumping = true;
    try {
      while (state.waiters.length > 0 && !this.#closed) {
        const idle = state.idle.pop();
        if (idle && this.#fresh(idle)) {
          this.#giveBack(key, state, idle);
          continue;
        }
        let placed: Hold | AttemptBucket;
        try {
          placed = await this.#reserve(key, state, idle?.id);
        } catch (error) {
          for (const waiter of state.waiters.splice(0)) {
            clearTimeout(waiter.timer);
            waiter.reject(error);
          }
          break;
        }
        if ('id' in placed) {
          this.#giveBack(key, state, placed);
          continue;
        }
        if (placed.remaining < 1) {
          for (const waiter of state.waiters.splice(0)) {
            clearTimeout(waiter.timer);
            waiter.resolve({ refused: 'blocked', bucket: placed });
          }
          break;
        }
        await this.#sleep(state);
      }
    } finally {
      state.pumping = false;
      this.#cleanup(key, state);
    }
  }

  #sleep(state: KeyState): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, this.#pollMs);
      function done(): void {
        clearTimeout(timer);
        state.wake = undefined;
        resolve();
      }
      state.wake = done;
    });
  }

  #cleanup(key: string, state: KeyState): void {
    if (
      state.idle.length === 0 &&
      state.inUse === 0 &&
      state.pending === 0 &&
      state.waiters.length === 0 &&
      !state.pumping
    ) {
      if (this.#keys.get(key) === state) this.#keys.delete(key);
    }
  }
}
