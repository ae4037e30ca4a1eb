import { expect } from 'chai';
import {
  ACTION_CACHE_LIMITS,
  ActionCache,
  MemoryActionCacheStore,
  isValidCacheKey,
  isValidCacheValue,
} from '../../../lib/sandbox/capabilities/action-cache.js';
import type { CacheEntry } from '../../../lib/sandbox/capabilities/action-cache.js';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const T0 = Date.UTC(2030, 0, 1);

/** A clock the test moves by hand. */
function fakeClock(start = T0): { now: () => number; advance: (ms: number) => void } {
  let current = start;
  return {
    now: () => current,
    advance: (ms) => {
      current += ms;
    },
  };
}

describe('ActionCache', () => {
  describe('lifetimes', () => {
    it('defaults to 15 minutes and expires invisibly', () => {
      const clock = fakeClock();
      const cache = new ActionCache({}, { now: clock.now });
      expect(cache.set('k', 'v')).to.deep.equal({ type: 'success' });
      expect(cache.get('k')).to.deep.equal({ value: 'v', expires_at: T0 + 15 * MINUTE });
      clock.advance(15 * MINUTE - 1);
      expect(cache.get('k')).to.deep.equal({ value: 'v', expires_at: T0 + 15 * MINUTE });
      clock.advance(1);
      expect(cache.get('k')).to.equal(undefined);
    });

    it('uses ttl (ms) and expires_at (epoch ms), the earlier of both, at most 24 hours', () => {
      const clock = fakeClock();
      const cache = new ActionCache({}, { now: clock.now });
      cache.set('ttl', 'v', { ttl: 5 * MINUTE });
      cache.set('at', 'v', { expires_at: T0 + 2 * HOUR });
      cache.set('ttl-first', 'v', { ttl: MINUTE, expires_at: T0 + HOUR });
      cache.set('at-first', 'v', { ttl: HOUR, expires_at: T0 + MINUTE });
      cache.set('clamped-ttl', 'v', { ttl: 48 * HOUR });
      cache.set('clamped-at', 'v', { expires_at: T0 + 30 * HOUR });
      const expiry = (key: string) => cache.get(key)?.expires_at;
      expect(expiry('ttl')).to.equal(T0 + 5 * MINUTE);
      expect(expiry('at')).to.equal(T0 + 2 * HOUR);
      expect(expiry('ttl-first')).to.equal(T0 + MINUTE);
      expect(expiry('at-first')).to.equal(T0 + MINUTE);
      expect(expiry('clamped-ttl')).to.equal(T0 + ACTION_CACHE_LIMITS.maxTtlMs);
      expect(expiry('clamped-at')).to.equal(T0 + 24 * HOUR);
    });

    it('refuses lifetimes that are not positive numbers or already past (INVALID_OPTIONS)', () => {
      const cache = new ActionCache({}, { now: () => T0 });
      for (const options of [
        { ttl: 0 },
        { ttl: -1 },
        { ttl: Number.NaN },
        { ttl: '60' },
        { expires_at: T0 },
        { expires_at: T0 - 1 },
        { expires_at: Number.POSITIVE_INFINITY },
        'soon',
        [60],
      ]) {
        expect(cache.set('k', 'v', options), JSON.stringify(options)).to.deep.equal({
          type: 'error',
          code: 'INVALID_OPTIONS',
        });
      }
      expect(cache.changes()).to.deep.equal([]);
    });

    it('drops expired and malformed entries it is given', () => {
      const cache = new ActionCache(
        {
          live: { value: 'a', expires_at: T0 + 1 },
          expired: { value: 'b', expires_at: T0 },
          malformed: { value: 42, expires_at: T0 + MINUTE } as unknown as CacheEntry,
        },
        { now: () => T0 },
      );
      expect(cache.get('live')).to.deep.equal({ value: 'a', expires_at: T0 + 1 });
      expect(cache.get('expired')).to.equal(undefined);
      expect(cache.get('malformed')).to.equal(undefined);
    });
  });

  describe('limits', () => {
    it('keys: non-empty strings of at most 64 bytes (INVALID_KEY)', () => {
      const cache = new ActionCache({}, { now: () => T0 });
      expect(cache.set('k'.repeat(64), 'v')).to.deep.equal({ type: 'success' });
      for (const key of ['k'.repeat(65), 'é'.repeat(33), '', 42, null, undefined]) {
        expect(cache.set(key, 'v'), String(key)).to.deep.equal({
          type: 'error',
          code: 'INVALID_KEY',
        });
      }
      expect(cache.delete('')).to.deep.equal({ type: 'error', code: 'INVALID_KEY' });
      expect(cache.get('k'.repeat(65))).to.equal(undefined);
    });

    it('values: strings of at most 4 kB (INVALID_VALUE)', () => {
      const cache = new ActionCache({}, { now: () => T0 });
      expect(cache.set('a', 'v'.repeat(4096))).to.deep.equal({ type: 'success' });
      expect(cache.set('e', '')).to.deep.equal({ type: 'success' });
      for (const value of ['v'.repeat(4097), 'é'.repeat(2049), 42, { v: 1 }, null, undefined]) {
        expect(cache.set('b', value), typeof value).to.deep.equal({
          type: 'error',
          code: 'INVALID_VALUE',
        });
      }
      expect(cache.get('b')).to.equal(undefined);
    });

    it('at most 20 entries; replacing one or setting after a delete or expiry is fine', () => {
      const clock = fakeClock();
      const cache = new ActionCache({}, { now: clock.now });
      for (let i = 0; i < 19; i += 1) cache.set(`k${i}`, 'v');
      cache.set('short', 'v', { ttl: 1000 });
      expect(cache.set('k20', 'v')).to.deep.equal({ type: 'error', code: 'CACHE_LIMIT_EXCEEDED' });
      expect(cache.get('k20')).to.equal(undefined);
      expect(cache.set('k0', 'replaced')).to.deep.equal({ type: 'success' });
      expect(cache.delete('k1')).to.deep.equal({ type: 'success' });
      expect(cache.set('k20', 'v')).to.deep.equal({ type: 'success' });
      expect(cache.set('k21', 'v')).to.deep.equal({ type: 'error', code: 'CACHE_LIMIT_EXCEEDED' });
      clock.advance(1000);
      expect(cache.set('k21', 'v')).to.deep.equal({ type: 'success' });
    });

    it('keys and values at most 8 kB in all', () => {
      const cache = new ActionCache({}, { now: () => T0 });
      expect(cache.set('a', 'x'.repeat(4095))).to.deep.equal({ type: 'success' }); // 4096 bytes
      expect(cache.set('b', 'x'.repeat(4095))).to.deep.equal({ type: 'success' }); // 8192 bytes
      expect(cache.set('c', '')).to.deep.equal({ type: 'error', code: 'CACHE_LIMIT_EXCEEDED' });
      expect(cache.set('b', 'x'.repeat(4096))).to.deep.equal({
        type: 'error',
        code: 'CACHE_LIMIT_EXCEEDED',
      });
      expect(cache.get('b')?.value).to.have.length(4095);
      expect(cache.set('b', 'small')).to.deep.equal({ type: 'success' });
      expect(cache.set('c', 'fits now')).to.deep.equal({ type: 'success' });
    });
  });

  describe('changes', () => {
    it('records the last change per key, in the order the keys were last written', () => {
      const cache = new ActionCache(
        { old: { value: 'o', expires_at: T0 + HOUR } },
        { now: () => T0 },
      );
      cache.set('a', '1');
      cache.set('b', '2', { ttl: MINUTE });
      cache.set('a', '3');
      cache.delete('old');
      cache.set('c', '4');
      cache.delete('c');
      expect(cache.changes()).to.deep.equal([
        { op: 'set', key: 'b', entry: { value: '2', expires_at: T0 + MINUTE } },
        { op: 'set', key: 'a', entry: { value: '3', expires_at: T0 + 15 * MINUTE } },
        { op: 'delete', key: 'old' },
        { op: 'delete', key: 'c' },
      ]);
      expect(cache.get('old')).to.equal(undefined);
    });

    it('hands out copies: mutating a result changes nothing inside', () => {
      const cache = new ActionCache({}, { now: () => T0 });
      cache.set('a', '1');
      const got = cache.get('a') as CacheEntry;
      got.value = 'mutated';
      const changes = cache.changes();
      (changes[0] as { entry: CacheEntry }).entry.value = 'mutated';
      expect(cache.get('a')?.value).to.equal('1');
      expect(cache.changes()).to.deep.equal([
        { op: 'set', key: 'a', entry: { value: '1', expires_at: T0 + 15 * MINUTE } },
      ]);
    });

    it('treats __proto__ and constructor as ordinary keys', () => {
      const cache = new ActionCache({}, { now: () => T0 });
      expect(cache.set('__proto__', 'p')).to.deep.equal({ type: 'success' });
      expect(cache.set('constructor', 'c')).to.deep.equal({ type: 'success' });
      expect(cache.get('__proto__')?.value).to.equal('p');
      expect(cache.get('toString')).to.equal(undefined);
    });
  });
});

describe('MemoryActionCacheStore', () => {
  it('round-trips an execution: load, change, apply, load', async () => {
    const clock = fakeClock();
    const store = new MemoryActionCacheStore({ now: clock.now });
    expect(await store.load('act_1')).to.deep.equal({});
    const first = new ActionCache(await store.load('act_1'), { now: clock.now });
    first.set('token', 'abc', { ttl: 10 * MINUTE });
    first.set('gone', 'x');
    first.delete('gone');
    await store.apply('act_1', first.changes());
    expect(await store.load('act_1')).to.deep.equal({
      token: { value: 'abc', expires_at: T0 + 10 * MINUTE },
    });
    expect(await store.load('act_2')).to.deep.equal({});

    const second = new ActionCache(await store.load('act_1'), { now: clock.now });
    expect(second.get('token')?.value).to.equal('abc');
    second.delete('token');
    await store.apply('act_1', second.changes());
    expect(await store.load('act_1')).to.deep.equal({});
  });

  it('purges expired entries with the injected clock', async () => {
    const clock = fakeClock();
    const store = new MemoryActionCacheStore({ now: clock.now });
    await store.apply('act_1', [
      { op: 'set', key: 'short', entry: { value: 's', expires_at: T0 + MINUTE } },
      { op: 'set', key: 'long', entry: { value: 'l', expires_at: T0 + HOUR } },
    ]);
    clock.advance(MINUTE);
    expect(await store.load('act_1')).to.deep.equal({
      long: { value: 'l', expires_at: T0 + HOUR },
    });
    clock.advance(HOUR);
    expect(await store.load('act_1')).to.deep.equal({});
  });

  it('keeps each action within the limits when concurrent executions add up beyond them', async () => {
    const store = new MemoryActionCacheStore({ now: () => T0 });
    const a = new ActionCache(await store.load('act_1'), { now: () => T0 });
    const b = new ActionCache(await store.load('act_1'), { now: () => T0 });
    for (let i = 0; i < 15; i += 1) {
      a.set(`a${i}`, 'v');
      b.set(`b${i}`, 'v');
    }
    await store.apply('act_1', a.changes());
    await store.apply('act_1', b.changes());
    const keys = Object.keys(await store.load('act_1'));
    expect(keys).to.have.length(ACTION_CACHE_LIMITS.maxEntries);
    // The least recently written go first.
    expect(keys).to.deep.equal([
      ...Array.from({ length: 5 }, (_, i) => `a${i + 10}`),
      ...Array.from({ length: 15 }, (_, i) => `b${i}`),
    ]);

    const big = new MemoryActionCacheStore({ now: () => T0 });
    await big.apply('act_1', [
      { op: 'set', key: 'x', entry: { value: 'x'.repeat(4000), expires_at: T0 + HOUR } },
      { op: 'set', key: 'y', entry: { value: 'y'.repeat(4000), expires_at: T0 + HOUR } },
      { op: 'set', key: 'z', entry: { value: 'z'.repeat(4000), expires_at: T0 + HOUR } },
    ]);
    expect(Object.keys(await big.load('act_1'))).to.deep.equal(['y', 'z']);
  });

  it('ignores invalid changes and clamps lifetimes to 24 hours', async () => {
    const store = new MemoryActionCacheStore({ now: () => T0 });
    await store.apply('act_1', [
      { op: 'set', key: '', entry: { value: 'v', expires_at: T0 + HOUR } },
      { op: 'set', key: 'big', entry: { value: 'v'.repeat(5000), expires_at: T0 + HOUR } },
      { op: 'set', key: 'past', entry: { value: 'v', expires_at: T0 } },
      { op: 'set', key: 'far', entry: { value: 'v', expires_at: T0 + 100 * HOUR } },
    ]);
    expect(await store.load('act_1')).to.deep.equal({
      far: { value: 'v', expires_at: T0 + 24 * HOUR },
    });
  });

  it('stores __proto__ as an ordinary key through load and apply', async () => {
    const store = new MemoryActionCacheStore({ now: () => T0 });
    const cache = new ActionCache(await store.load('act_1'), { now: () => T0 });
    cache.set('__proto__', 'p');
    await store.apply('act_1', cache.changes());
    const loaded = await store.load('act_1');
    expect(Object.keys(loaded)).to.deep.equal(['__proto__']);
    expect(Object.getPrototypeOf(loaded)).to.equal(Object.prototype);
    expect(new ActionCache(loaded, { now: () => T0 }).get('__proto__')?.value).to.equal('p');
  });

  it('returns copies from load', async () => {
    const store = new MemoryActionCacheStore({ now: () => T0 });
    await store.apply('act_1', [
      { op: 'set', key: 'k', entry: { value: 'v', expires_at: T0 + HOUR } },
    ]);
    const loaded = await store.load('act_1');
    (loaded.k as CacheEntry).value = 'mutated';
    expect((await store.load('act_1')).k?.value).to.equal('v');
  });
});

describe('isValidCacheKey and isValidCacheValue', () => {
  it('take keys of 1 to 64 UTF-8 bytes and values of at most 4096', () => {
    expect(isValidCacheKey('k')).to.equal(true);
    expect(isValidCacheKey('k'.repeat(64))).to.equal(true);
    expect(isValidCacheKey('é'.repeat(32))).to.equal(true);
    expect(isValidCacheValue('')).to.equal(true);
    expect(isValidCacheValue('v'.repeat(4096))).to.equal(true);
  });

  it('refuse empty or longer keys, longer values, and anything but strings', () => {
    expect(isValidCacheKey('')).to.equal(false);
    expect(isValidCacheKey('k'.repeat(65))).to.equal(false);
    expect(isValidCacheKey('é'.repeat(33))).to.equal(false);
    expect(isValidCacheValue('v'.repeat(4097))).to.equal(false);
    expect(isValidCacheValue('€'.repeat(1366))).to.equal(false);
    for (const other of [undefined, null, 1, {}, ['k']]) {
      expect(isValidCacheKey(other)).to.equal(false);
      expect(isValidCacheValue(other)).to.equal(false);
    }
  });
});
