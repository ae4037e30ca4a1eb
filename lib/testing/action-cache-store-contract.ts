import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import {
  ACTION_CACHE_LIMITS,
  type ActionCacheStore,
  type CacheChange,
} from '../sandbox/capabilities/action-cache.js';
import { testApi, type ContractOptions, type StoreFactory } from './contract-api.js';

/**
 * Registers the tests every {@link ActionCacheStore} must pass: entries round-trip, changes
 * apply in order, expired and invalid entries are never loaded, and the limits of `api.cache`
 * hold whatever executions write, the least recently written entries evicted first. `makeStore`
 * may answer stores over one shared backend: each test uses action ids of its own.
 */
export function actionCacheStoreContract(
  makeStore: StoreFactory<ActionCacheStore>,
  options: ContractOptions = {},
): void {
  const { describe, it } = testApi(options);
  const action = () => `act_${randomUUID()}`;
  const set = (key: string, value: string, ttlMs = 60_000): CacheChange => ({
    op: 'set',
    key,
    entry: { value, expires_at: Date.now() + ttlMs },
  });
  const keysOf = async (store: ActionCacheStore, id: string) =>
    Object.keys(await store.load(id)).sort();

  describe(options.name ?? 'ActionCacheStore contract', () => {
    it('loads nothing for an action that never wrote', async () => {
      const store = await makeStore();
      assert.deepEqual(await store.load(action()), {});
    });

    it('loads what was set, value and expiry exactly, per action', async () => {
      const store = await makeStore();
      const [a, b] = [action(), action()];
      const expiresAt = Date.now() + 90_000.5;
      await store.apply(a, [
        { op: 'set', key: 'token', entry: { value: 'v\u00e9:1:\n{x}', expires_at: expiresAt } },
        set('other', ''),
      ]);
      const loaded = await store.load(a);
      assert.deepEqual(loaded.token, { value: 'v\u00e9:1:\n{x}', expires_at: expiresAt });
      assert.equal(loaded.other?.value, '');
      assert.deepEqual(await store.load(b), {});
    });

    it('applies changes in order: the last change of a key wins, a delete removes it', async () => {
      const store = await makeStore();
      const id = action();
      await store.apply(id, [set('a', '1'), set('b', '1'), set('c', '1')]);
      await store.apply(id, [set('a', '2'), { op: 'delete', key: 'b' }, set('b', '3')]);
      await store.apply(id, [
        { op: 'delete', key: 'c' },
        { op: 'delete', key: 'missing' },
      ]);
      const loaded = await store.load(id);
      assert.deepEqual(
        Object.fromEntries(Object.entries(loaded).map(([key, entry]) => [key, entry.value])),
        { a: '2', b: '3' },
      );
    });

    it('never loads an expired entry, and an expired write replaces the entry', async () => {
      const store = await makeStore();
      const id = action();
      await store.apply(id, [set('kept', 'x'), set('gone', 'x'), set('stale', 'x', -1)]);
      await store.apply(id, [set('gone', 'y', -1000)]);
      assert.deepEqual(await keysOf(store, id), ['kept']);
    });

    it('ignores invalid keys and values, and clamps expiry to 24 hours', async () => {
      const store = await makeStore();
      const id = action();
      const longKey = 'k'.repeat(ACTION_CACHE_LIMITS.maxKeyBytes + 1);
      const longValue = 'v'.repeat(ACTION_CACHE_LIMITS.maxValueBytes + 1);
      const before = Date.now();
      await store.apply(id, [
        set('', 'x'),
        set(longKey, 'x'),
        set('big', longValue),
        set('k'.repeat(ACTION_CACHE_LIMITS.maxKeyBytes), 'x'),
        { op: 'set', key: 'year', entry: { value: 'x', expires_at: before + 365 * 86_400_000 } },
        { op: 'set', key: 'odd', entry: { value: 42 as unknown as string, expires_at: before } },
      ]);
      const loaded = await store.load(id);
      assert.deepEqual(Object.keys(loaded).sort(), [
        'k'.repeat(ACTION_CACHE_LIMITS.maxKeyBytes),
        'year',
      ]);
      assert.ok(loaded.year!.expires_at <= Date.now() + ACTION_CACHE_LIMITS.maxTtlMs);
      assert.ok(loaded.year!.expires_at >= before + ACTION_CACHE_LIMITS.maxTtlMs);
    });

    it('keeps the most recently written entries within the entry limit', async () => {
      const store = await makeStore();
      const id = action();
      const count = ACTION_CACHE_LIMITS.maxEntries + 5;
      await store.apply(
        id,
        Array.from({ length: count }, (_, i) => set(`k${i}`, 'x')),
      );
      const expected = Array.from({ length: count }, (_, i) => `k${i}`)
        .slice(5)
        .sort();
      assert.deepEqual(await keysOf(store, id), expected);
    });

    it('evicts the least recently written entries when the bytes exceed the limit', async () => {
      const store = await makeStore();
      const id = action();
      const value = 'v'.repeat(3000);
      await store.apply(id, [set('a', value), set('b', value)]);
      // Writing a again makes b the least recently written.
      await store.apply(id, [set('a', value), set('c', value)]);
      assert.deepEqual(await keysOf(store, id), ['a', 'c']);
    });

    it('holds the limits when concurrent executions write more than fits', async () => {
      const store = await makeStore();
      const id = action();
      await Promise.all(
        Array.from({ length: 6 }, (_, execution) =>
          store.apply(
            id,
            Array.from({ length: 8 }, (_, i) => set(`e${execution}-${i}`, 'x'.repeat(100))),
          ),
        ),
      );
      const loaded = await store.load(id);
      const keys = Object.keys(loaded);
      assert.equal(keys.length, ACTION_CACHE_LIMITS.maxEntries);
      const bytes = keys.reduce(
        (total, key) => total + Buffer.byteLength(key) + Buffer.byteLength(loaded[key]!.value),
        0,
      );
      assert.ok(bytes <= ACTION_CACHE_LIMITS.maxTotalBytes);
    });
  });
}
