import { expect } from 'chai';
import { MemoryAttemptStore } from '../../lib/index.js';
import type { AttemptPolicy, AttemptStore } from '../../lib/index.js';

const START = Date.parse('2026-03-01T12:00:00.000Z');
const POLICY: AttemptPolicy = { maxAttempts: 3, rate: 1000 };

/** What a store under contract test is built with: a fake clock it must read the time from. */
type StoreFactory = (clock: { now: number }) => AttemptStore;

/**
 * The AttemptStore contract, for every implementation: a shared store (Redis, SQL) runs the same
 * cases with a clock it controls.
 */
function attemptStoreContract(name: string, makeStore: StoreFactory): void {
  describe(`AttemptStore contract: ${name}`, () => {
    let clock: { now: number };
    let store: AttemptStore;
    beforeEach(() => {
      clock = { now: START };
      store = makeStore(clock);
    });

    it('starts every key with a full bucket', async () => {
      expect(await store.peek('203.0.113.1', POLICY)).to.deep.equal({
        remaining: 3,
        nextAttemptAt: undefined,
      });
    });

    it('takes one attempt per take until the bucket is empty, then takes none', async () => {
      const results = [];
      for (let i = 0; i < 4; i++) results.push(await store.take('203.0.113.1', POLICY));
      const next = new Date(START + 1000);
      expect(results).to.deep.equal([
        { taken: true, remaining: 2, nextAttemptAt: next },
        { taken: true, remaining: 1, nextAttemptAt: next },
        { taken: true, remaining: 0, nextAttemptAt: next },
        { taken: false, remaining: 0, nextAttemptAt: next },
      ]);
      expect(await store.peek('203.0.113.1', POLICY)).to.deep.equal({
        remaining: 0,
        nextAttemptAt: next,
      });
    });

    it('keeps keys apart', async () => {
      await store.take('203.0.113.1', POLICY);
      expect(await store.peek('203.0.113.2', POLICY)).to.include({ remaining: 3 });
    });

    it('gives one attempt back per rate ms, keeping the fraction towards the next one', async () => {
      for (let i = 0; i < 3; i++) await store.take('k', POLICY);
      clock.now = START + 999;
      expect(await store.peek('k', POLICY)).to.deep.equal({
        remaining: 0,
        nextAttemptAt: new Date(START + 1000),
      });
      clock.now = START + 1500;
      expect(await store.peek('k', POLICY)).to.deep.equal({
        remaining: 1,
        nextAttemptAt: new Date(START + 2000),
      });
      expect(await store.take('k', POLICY)).to.deep.equal({
        taken: true,
        remaining: 0,
        nextAttemptAt: new Date(START + 2000),
      });
      clock.now = START + 2000;
      expect(await store.peek('k', POLICY)).to.include({ remaining: 1 });
    });

    it('never refills beyond maxAttempts', async () => {
      await store.take('k', POLICY);
      clock.now = START + 60_000;
      expect(await store.peek('k', POLICY)).to.deep.equal({
        remaining: 3,
        nextAttemptAt: undefined,
      });
      // A refilled bucket starts refilling afresh from its next take.
      expect(await store.take('k', POLICY)).to.deep.equal({
        taken: true,
        remaining: 2,
        nextAttemptAt: new Date(START + 61_000),
      });
    });

    it('does not change a bucket on peek', async () => {
      await store.take('k', POLICY);
      for (let i = 0; i < 5; i++) await store.peek('k', POLICY);
      expect(await store.peek('k', POLICY)).to.include({ remaining: 2 });
    });

    it('gives every attempt back on reset', async () => {
      for (let i = 0; i < 3; i++) await store.take('k', POLICY);
      await store.reset('k');
      expect(await store.peek('k', POLICY)).to.deep.equal({
        remaining: 3,
        nextAttemptAt: undefined,
      });
      await store.reset('never-seen');
    });

    it('lets exactly maxAttempts of many concurrent takes through', async () => {
      const results = await Promise.all(
        Array.from({ length: 20 }, () => store.take('k', { maxAttempts: 10, rate: 1000 })),
      );
      expect(results.filter((result) => result.taken)).to.have.length(10);
      expect(results.filter((result) => result.taken && result.remaining === 0)).to.have.length(1);
    });
  });
}

attemptStoreContract(
  'MemoryAttemptStore',
  (clock) => new MemoryAttemptStore({ now: () => clock.now }),
);

describe('MemoryAttemptStore', () => {
  it('forgets a bucket once it has refilled', async () => {
    let now = START;
    const store = new MemoryAttemptStore({ now: () => now });
    await store.take('a', POLICY);
    await store.take('b', POLICY);
    expect(store.size).to.equal(2);
    now = START + 1000;
    await store.peek('a', POLICY);
    expect(store.size).to.equal(1);
  });

  it('stays within maxKeys by forgetting the bucket taken from least recently', async () => {
    const store = new MemoryAttemptStore({ maxKeys: 2 });
    await store.take('a', POLICY);
    await store.take('b', POLICY);
    await store.take('a', POLICY);
    await store.take('c', POLICY);
    expect(store.size).to.equal(2);
    expect(await store.peek('b', POLICY)).to.include({ remaining: 3 });
    expect(await store.peek('a', POLICY)).to.include({ remaining: 1 });
    expect(await store.peek('c', POLICY)).to.include({ remaining: 2 });
  });

  it('keeps memory bounded under a flood of distinct keys', async () => {
    const store = new MemoryAttemptStore({ maxKeys: 1000 });
    for (let i = 0; i < 20_000; i++)
      await store.take(`10.${i >> 16}.${(i >> 8) & 255}.${i & 255}`, POLICY);
    expect(store.size).to.equal(1000);
  });

  it('regains nothing when the clock steps back', async () => {
    let now = START;
    const store = new MemoryAttemptStore({ now: () => now });
    for (let i = 0; i < 3; i++) await store.take('k', POLICY);
    now = START - 3_600_000;
    expect(await store.peek('k', POLICY)).to.include({ remaining: 0 });
    now = START + 1000;
    expect(await store.peek('k', POLICY)).to.include({ remaining: 1 });
  });

  it('rejects bad keys and policies, and bad options at construction', async () => {
    const store = new MemoryAttemptStore();
    const cases: Array<[() => Promise<unknown>, string]> = [
      [() => store.take('', POLICY), 'MemoryAttemptStore: key must be a non-empty string'],
      [
        () => store.peek('k', { maxAttempts: 0, rate: 1 }),
        'MemoryAttemptStore: policy.maxAttempts must be a positive integer',
      ],
      [
        () => store.take('k', { maxAttempts: 1, rate: 0.5 }),
        'MemoryAttemptStore: policy.rate must be a positive integer',
      ],
    ];
    for (const [call, message] of cases) {
      let error: unknown;
      try {
        await call();
      } catch (err) {
        error = err;
      }
      expect(error).to.be.instanceOf(TypeError);
      expect((error as Error).message).to.equal(message);
    }
    expect(() => new MemoryAttemptStore({ maxKeys: 0 })).to.throw(
      TypeError,
      'MemoryAttemptStore: options.maxKeys must be a positive integer',
    );
    expect(() => new MemoryAttemptStore({ now: 5 as never })).to.throw(
      TypeError,
      'MemoryAttemptStore: options.now must be a function',
    );
  });
});
