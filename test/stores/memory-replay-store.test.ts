import { expect } from 'chai';
import { MemoryReplayStore } from '../../lib/stores/memory-replay-store.js';
import { ReplayStoreFullError } from '../../lib/stores/replay-store.js';

/** A clock the test moves by hand, in milliseconds. */
function fakeClock(startSeconds = 1_000_000) {
  let ms = startSeconds * 1000;
  return {
    now: () => ms,
    seconds: () => ms / 1000,
    advance(seconds: number) {
      ms += seconds * 1000;
    },
  };
}

describe('stores/MemoryReplayStore', () => {
  it('accepts a key the first time and refuses it while it is remembered', async () => {
    const clock = fakeClock();
    const store = new MemoryReplayStore({ now: clock.now });
    expect(await store.consume('client:a', clock.seconds() + 60)).to.equal(true);
    expect(await store.consume('client:a', clock.seconds() + 60)).to.equal(false);
    clock.advance(59);
    expect(await store.consume('client:a', clock.seconds() + 60)).to.equal(false);
    expect(await store.consume('client:b', clock.seconds() + 60)).to.equal(true);
    expect(store.size).to.equal(2);
  });

  it('forgets a key at its expiry, and drops expired keys on the next call', async () => {
    const clock = fakeClock();
    const store = new MemoryReplayStore({ now: clock.now });
    const exp = clock.seconds() + 10;
    expect(await store.consume('k', exp)).to.equal(true);
    clock.advance(10);
    expect(await store.consume('other', clock.seconds() + 10)).to.equal(true);
    expect(store.size).to.equal(1);
    expect(await store.consume('k', clock.seconds() + 10)).to.equal(true);
  });

  it('lets exactly one of many concurrent calls with one key win', async () => {
    const store = new MemoryReplayStore();
    const exp = Date.now() / 1000 + 60;
    const results = await Promise.all(Array.from({ length: 50 }, () => store.consume('race', exp)));
    expect(results.filter(Boolean)).to.have.length(1);
  });

  describe('bounded size', () => {
    it('evicts expired keys first to make room', async () => {
      const clock = fakeClock();
      const store = new MemoryReplayStore({ maxEntries: 2, now: clock.now });
      expect(await store.consume('short', clock.seconds() + 5)).to.equal(true);
      expect(await store.consume('long', clock.seconds() + 100)).to.equal(true);
      clock.advance(5);
      expect(await store.consume('new', clock.seconds() + 100)).to.equal(true);
      expect(store.size).to.equal(2);
      expect(await store.consume('long', clock.seconds() + 100)).to.equal(false);
    });

    it('refuses new keys with ReplayStoreFullError when full of unexpired keys, and never forgets one', async () => {
      const clock = fakeClock();
      const store = new MemoryReplayStore({ maxEntries: 2, now: clock.now });
      await store.consume('a', clock.seconds() + 30);
      await store.consume('b', clock.seconds() + 100);
      let caught: unknown;
      try {
        await store.consume('c', clock.seconds() + 100);
      } catch (err) {
        caught = err;
      }
      expect(caught).to.be.instanceOf(ReplayStoreFullError);
      expect((caught as ReplayStoreFullError).retryAfterSeconds).to.equal(30);
      expect((caught as ReplayStoreFullError).message).to.equal(
        'replay store full: 2 unexpired keys (maxEntries 2)',
      );
      // Replays of remembered keys are still refused, full or not.
      expect(await store.consume('a', clock.seconds() + 30)).to.equal(false);
      expect(await store.consume('b', clock.seconds() + 100)).to.equal(false);
      clock.advance(30);
      expect(await store.consume('c', clock.seconds() + 100)).to.equal(true);
      expect(await store.consume('b', clock.seconds() + 100)).to.equal(false);
    });
  });

  it('keeps exactly the unexpired keys as time passes (expiry order independent of insertion)', async () => {
    const clock = fakeClock();
    const store = new MemoryReplayStore({ now: clock.now });
    const start = clock.seconds();
    // A fixed pseudo-random sequence of lifetimes between 1 and 200 seconds.
    const lifetimes = Array.from({ length: 300 }, (_, i) => ((i * 7919) % 200) + 1);
    for (const [i, lifetime] of lifetimes.entries()) {
      expect(await store.consume(`key-${i}`, start + lifetime)).to.equal(true);
    }
    for (let elapsed = 0; elapsed <= 200; elapsed += 13) {
      clock.advance(elapsed === 0 ? 0 : 13);
      const t = clock.seconds() - start;
      // A probe key makes the store drop what has expired (the previous probe included); the
      // probe itself is stored until the next call, even though it expires at once.
      expect(await store.consume(`probe-${elapsed}`, clock.seconds())).to.equal(true);
      const alive = lifetimes.filter((lifetime) => lifetime > t).length;
      expect(store.size, `after ${t} s`).to.equal(alive + 1);
      for (const [i, lifetime] of lifetimes.entries()) {
        if (lifetime > t) expect(await store.consume(`key-${i}`, start + lifetime)).to.equal(false);
      }
    }
  });

  it('rejects invalid arguments and options with TypeError', async () => {
    const store = new MemoryReplayStore();
    let caught: unknown;
    try {
      await store.consume('', 10);
    } catch (err) {
      caught = err;
    }
    expect(caught).to.be.instanceOf(TypeError);
    caught = undefined;
    try {
      await store.consume('k', Number.NaN);
    } catch (err) {
      caught = err;
    }
    expect(caught).to.be.instanceOf(TypeError);
    expect(() => new MemoryReplayStore({ maxEntries: 0 })).to.throw(
      TypeError,
      'MemoryReplayStore: options.maxEntries must be a positive integer',
    );
    expect(() => new MemoryReplayStore({ maxEntries: 1.5 })).to.throw(TypeError);
  });
});
