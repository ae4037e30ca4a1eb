import { expect } from 'chai';
import { MemoryAttemptStore } from '../../lib/index.js';
import type { AttemptPolicy } from '../../lib/index.js';

const START = Date.parse('2026-03-01T12:00:00.000Z');
const POLICY: AttemptPolicy = { maxAttempts: 3, rate: 1000 };

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

  it('drops buckets whose holds lapsed when it has doubled, so holds never released cost nothing', async () => {
    let now = START;
    const store = new MemoryAttemptStore({ now: () => now });
    // One blocked key (an attempt back per minute) stays, whatever the sweeps.
    const slow = { maxAttempts: 3, rate: 60_000 };
    for (let i = 0; i < 3; i++) await store.take('blocked', slow);
    for (let i = 0; i < 1500; i++) {
      const hold = { id: 'h', ttlMs: 1000 };
      expect((await store.reserve(`10.0.${i >> 8}.${i & 255}`, POLICY, hold)).reserved).to.equal(
        true,
      );
    }
    expect(store.size).to.equal(1501);
    now = START + 1000;
    for (let i = 0; i < 600; i++) {
      await store.reserve(`10.9.${i >> 8}.${i & 255}`, POLICY, { id: 'h', ttlMs: 1000 });
    }
    expect(store.size).to.be.below(700);
    expect(await store.peek('blocked', slow)).to.include({ remaining: 0 });
  });

  it('drops a full bucket when its last hold is released', async () => {
    const store = new MemoryAttemptStore({ now: () => START });
    await store.reserve('k', POLICY, { id: 'a', ttlMs: 1000 });
    await store.reserve('k', POLICY, { id: 'b', ttlMs: 1000 });
    await store.release('k', 'a');
    expect(store.size).to.equal(1);
    await store.release('k', 'b');
    expect(store.size).to.equal(0);
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
      [
        () => store.reserve('k', POLICY, { id: '', ttlMs: 1000 }),
        'MemoryAttemptStore: the hold id must be a non-empty string',
      ],
      [
        () => store.reserve('k', POLICY, { id: 'h', ttlMs: 0 }),
        'MemoryAttemptStore: hold.ttlMs must be a positive integer',
      ],
      [
        () => store.take('k', POLICY, 42 as never),
        'MemoryAttemptStore: the hold id must be a non-empty string',
      ],
      [() => store.release('', 'h'), 'MemoryAttemptStore: key must be a non-empty string'],
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
