import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type { AttemptPolicy, AttemptStore } from '../stores/attempt-store.js';
import { testApi, type ContractOptions } from './contract-api.js';

/**
 * The time a store under contract test sees. A store with an injectable clock gets a fake one
 * (`advance` moves it); a store reading its backend's clock (Redis `TIME`, SQL `now()`) gets one
 * whose `advance` sleeps. With `exact` false the tests use longer rates and hold times, assert
 * well away from their edges, and skip the edge cases, so real time can pass them.
 */
export interface ContractClock {
  advance(ms: number): Promise<void>;
  /** True when `advance` moves time exactly (a fake clock): edge cases are then tested too. */
  readonly exact: boolean;
}

/**
 * Makes the store one test runs against, reading its time from `clock.now` (milliseconds since
 * the epoch) when it can; a store on its backend's clock ignores it.
 */
export type AttemptStoreFactory = (clock: { now: number }) => AttemptStore | Promise<AttemptStore>;

/** Options of {@link attemptStoreContract}. */
export interface AttemptStoreContractOptions extends ContractOptions {
  /**
   * For a store on a real clock: a clock whose `advance` sleeps (see {@link sleepingClock}).
   * Default: a fake clock, moved by changing the `now` given to the factory.
   */
  clock?: ContractClock;
}

/** A {@link ContractClock} for stores on a real clock: `advance` sleeps. */
export function sleepingClock(): ContractClock {
  return {
    exact: false,
    advance: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
  };
}

const START = Date.parse('2026-03-01T12:00:00.000Z');

/**
 * Registers the tests every {@link AttemptStore} must pass: buckets, refill, holds, and exactly
 * `maxAttempts` winners among concurrent takes and reserves. Each test uses keys of its own, so
 * `makeStore` may answer stores over one shared backend.
 *
 * @example
 * attemptStoreContract((clock) => new MyAttemptStore({ now: () => clock.now }));
 * attemptStoreContract(() => new MyAttemptStore(), { clock: sleepingClock() });
 */
export function attemptStoreContract(
  makeStore: AttemptStoreFactory,
  options: AttemptStoreContractOptions = {},
): void {
  const { describe, it } = testApi(options);
  const exact = options.clock === undefined || options.clock.exact;
  // Real time passes between calls: longer periods keep the assertions away from their edges.
  const RATE = exact ? 400 : 1000;
  const TTL = exact ? 300 : 800;
  const POLICY: AttemptPolicy = { maxAttempts: 3, rate: RATE };
  const hold = (id: string, ttlMs = TTL) => ({ id, ttlMs });

  async function setup(): Promise<{ store: AttemptStore; clock: ContractClock; key: string }> {
    const fake = { now: START };
    const clock = options.clock ?? {
      exact: true,
      advance: async (ms: number) => {
        fake.now += ms;
      },
    };
    return { store: await makeStore(fake), clock, key: `203.0.113.${randomUUID()}` };
  }

  describe(options.name ?? 'AttemptStore contract', () => {
    it('starts every key with a full bucket', async () => {
      const { store, key } = await setup();
      assert.deepEqual(await store.peek(key, POLICY), { remaining: 3, nextAttemptAt: undefined });
    });

    it('takes one attempt per take until the bucket is empty, then takes none', async () => {
      const { store, key } = await setup();
      const results = [];
      for (let i = 0; i < 4; i++) results.push(await store.take(key, POLICY));
      assert.deepEqual(
        results.map(({ taken, remaining }) => ({ taken, remaining })),
        [
          { taken: true, remaining: 2 },
          { taken: true, remaining: 1 },
          { taken: true, remaining: 0 },
          { taken: false, remaining: 0 },
        ],
      );
      const next = results[0]!.nextAttemptAt!;
      assert.ok(next instanceof Date);
      for (const result of results) assert.deepEqual(result.nextAttemptAt, next);
      if (exact) assert.deepEqual(next, new Date(START + RATE));
      else assert.ok(Math.abs(next.getTime() - (Date.now() + RATE)) < RATE / 2, String(next));
      assert.deepEqual(await store.peek(key, POLICY), { remaining: 0, nextAttemptAt: next });
    });

    it('keeps keys apart', async () => {
      const { store, key } = await setup();
      await store.take(key, POLICY);
      assert.equal((await store.peek(`${key}:other`, POLICY)).remaining, 3);
    });

    it('gives one attempt back per rate ms, up to maxAttempts', async () => {
      const { store, clock, key } = await setup();
      for (let i = 0; i < 3; i++) await store.take(key, POLICY);
      if (exact) {
        await clock.advance(RATE - 1);
        assert.equal((await store.peek(key, POLICY)).remaining, 0);
        await clock.advance(1 + RATE / 2);
        assert.deepEqual(await store.peek(key, POLICY), {
          remaining: 1,
          nextAttemptAt: new Date(START + 2 * RATE),
        });
      } else {
        await clock.advance(RATE * 1.5);
        assert.equal((await store.peek(key, POLICY)).remaining, 1);
      }
      await clock.advance(RATE * 2);
      assert.deepEqual(await store.peek(key, POLICY), { remaining: 3, nextAttemptAt: undefined });
    });

    it('does not change a bucket on peek', async () => {
      const { store, key } = await setup();
      await store.take(key, POLICY);
      for (let i = 0; i < 5; i++) await store.peek(key, POLICY);
      assert.equal((await store.peek(key, POLICY)).remaining, 2);
    });

    it('lets exactly maxAttempts of many concurrent takes through', async () => {
      const { store, key } = await setup();
      const policy = { maxAttempts: 10, rate: 60_000 };
      const results = await Promise.all(Array.from({ length: 20 }, () => store.take(key, policy)));
      assert.equal(results.filter((result) => result.taken).length, 10);
      assert.equal(results.filter((r) => r.taken && r.remaining === 0).length, 1);
    });

    it('holds at most as many attempts as are left; holds do not lower remaining', async () => {
      const { store, key } = await setup();
      const results = [];
      for (let i = 0; i < 5; i++) results.push(await store.reserve(key, POLICY, hold(`h${i}`)));
      assert.deepEqual(
        results.map((r) => r.reserved),
        [true, true, true, false, false],
      );
      for (const result of results) assert.equal(result.remaining, 3);
      assert.deepEqual(await store.peek(key, POLICY), { remaining: 3, nextAttemptAt: undefined });
    });

    it('lets exactly the attempts left be held by many concurrent reserves', async () => {
      const { store, key } = await setup();
      const policy = { maxAttempts: 10, rate: 60_000 };
      await store.take(key, policy);
      const results = await Promise.all(
        Array.from({ length: 40 }, (_, i) => store.reserve(key, policy, hold(`h${i}`, 60_000))),
      );
      assert.equal(results.filter((result) => result.reserved).length, 9);
    });

    it('frees a hold on release, for the next reserve', async () => {
      const { store, key } = await setup();
      for (let i = 0; i < 3; i++) await store.reserve(key, POLICY, hold(`h${i}`, 60_000));
      assert.equal((await store.reserve(key, POLICY, hold('late'))).reserved, false);
      await store.release(key, 'h1');
      assert.equal((await store.reserve(key, POLICY, hold('late'))).reserved, true);
      await store.release(key, 'never-held');
      await store.release(`${key}:never-seen`, 'h1');
    });

    it('takes the attempt of a hold, removing the hold: the rest stay within what is left', async () => {
      const { store, key } = await setup();
      for (let i = 0; i < 3; i++) await store.reserve(key, POLICY, hold(`h${i}`, 60_000));
      const taken = await store.take(key, POLICY, 'h0');
      assert.equal(taken.taken, true);
      assert.equal(taken.remaining, 2);
      // Two attempts left, both held.
      assert.equal((await store.reserve(key, POLICY, hold('late'))).reserved, false);
      await store.take(key, POLICY, 'h1');
      await store.take(key, POLICY, 'h2');
      const blocked = await store.reserve(key, POLICY, hold('late'));
      assert.equal(blocked.reserved, false);
      assert.equal(blocked.remaining, 0);
      // A take with a hold that lapsed or never was still takes what is left.
      assert.equal((await store.take(key, POLICY, 'unknown')).taken, false);
    });

    it('renews a live hold reserved again with its id, without holding another attempt', async () => {
      const { store, key } = await setup();
      for (let i = 0; i < 3; i++) await store.reserve(key, POLICY, hold(`h${i}`, 60_000));
      assert.equal((await store.reserve(key, POLICY, hold('h0', 60_000))).reserved, true);
      await store.release(key, 'h0');
      assert.equal((await store.reserve(key, POLICY, hold('other'))).reserved, true);
      assert.equal((await store.reserve(key, POLICY, hold('more'))).reserved, false);
    });

    it('lets holds lapse after ttlMs (a process that died frees its holds); a renewal extends one', async () => {
      const { store, clock, key } = await setup();
      await store.reserve(key, POLICY, hold('a', TTL));
      await store.reserve(key, POLICY, hold('b', TTL));
      await store.reserve(key, POLICY, hold('c', 4 * TTL));
      assert.equal((await store.reserve(key, POLICY, hold('late'))).reserved, false);
      await clock.advance(TTL / 2);
      assert.equal((await store.reserve(key, POLICY, hold('a', TTL))).reserved, true);
      await clock.advance(TTL * 0.75);
      // b lapsed; a was renewed and c lasts longer.
      assert.equal((await store.reserve(key, POLICY, hold('d', TTL))).reserved, true);
      assert.equal((await store.reserve(key, POLICY, hold('e', TTL))).reserved, false);
      await clock.advance(TTL * 1.5);
      // a and d lapsed: two free again, c still held.
      assert.equal((await store.reserve(key, POLICY, hold('f', TTL))).reserved, true);
      assert.equal((await store.reserve(key, POLICY, hold('g', TTL))).reserved, true);
      assert.equal((await store.reserve(key, POLICY, hold('h', TTL))).reserved, false);
    });

    it('holds one regained attempt once: one more exchange, not a burst', async () => {
      const { store, clock, key } = await setup();
      for (let i = 0; i < 3; i++) await store.take(key, POLICY);
      assert.deepEqual(
        { ...(await store.reserve(key, POLICY, hold('early'))), nextAttemptAt: undefined },
        { reserved: false, remaining: 0, nextAttemptAt: undefined },
      );
      await clock.advance(RATE * 1.25);
      const results = await Promise.all(
        Array.from({ length: 10 }, (_, i) => store.reserve(key, POLICY, hold(`h${i}`, 60_000))),
      );
      assert.equal(results.filter((result) => result.reserved).length, 1);
      const winner = results.findIndex((result) => result.reserved);
      assert.equal((await store.take(key, POLICY, `h${winner}`)).remaining, 0);
      assert.equal((await store.reserve(key, POLICY, hold('after'))).reserved, false);
    });

    it('gives every attempt back on reset, and drops the holds', async () => {
      const { store, key } = await setup();
      for (let i = 0; i < 2; i++) await store.take(key, POLICY);
      await store.reserve(key, POLICY, hold('h0', 60_000));
      await store.reset(key);
      assert.deepEqual(await store.peek(key, POLICY), { remaining: 3, nextAttemptAt: undefined });
      for (let i = 1; i <= 3; i++) {
        assert.equal((await store.reserve(key, POLICY, hold(`h${i}`))).reserved, true);
      }
      await store.reset(`${key}:never-seen`);
    });
  });
}
