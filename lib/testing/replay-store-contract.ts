import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type { ReplayStore } from '../stores/replay-store.js';
import { rejectionOf, testApi, type ContractOptions, type StoreFactory } from './contract-api.js';

/**
 * Registers the tests every {@link ReplayStore} must pass. `makeStore` may answer stores over one
 * shared backend: each test uses keys of its own.
 *
 * @example
 * replayStoreContract(() => new MyReplayStore(pool));
 */
export function replayStoreContract(
  makeStore: StoreFactory<ReplayStore>,
  options: ContractOptions = {},
): void {
  const { describe, it } = testApi(options);
  const inOneMinute = () => Math.floor(Date.now() / 1000) + 60;

  describe(options.name ?? 'ReplayStore contract', () => {
    it('accepts a key once, then refuses it while it is remembered', async () => {
      const store = await makeStore();
      const key = `jti:${randomUUID()}`;
      assert.equal(await store.consume(key, inOneMinute()), true);
      assert.equal(await store.consume(key, inOneMinute()), false);
      assert.equal(await store.consume(key, inOneMinute() + 3600), false);
    });

    it('keeps keys apart, whatever characters they hold', async () => {
      const store = await makeStore();
      const base = randomUUID();
      const keys = [
        base,
        `${base} `,
        `${base}:x`,
        `{${base}}`,
        `${base}\u00e9\u{1F600}`,
        `${base}${'x'.repeat(1000)}`,
      ];
      for (const key of keys) assert.equal(await store.consume(key, inOneMinute()), true, key);
      for (const key of keys) assert.equal(await store.consume(key, inOneMinute()), false, key);
    });

    it('lets exactly one of many concurrent first uses of a key succeed', async () => {
      const store = await makeStore();
      const key = `race:${randomUUID()}`;
      const results = await Promise.all(
        Array.from({ length: 25 }, () => store.consume(key, inOneMinute())),
      );
      assert.equal(results.filter((first) => first).length, 1);
    });

    it('accepts again a key whose expiry has passed', async () => {
      const store = await makeStore();
      const key = `past:${randomUUID()}`;
      const past = Math.floor(Date.now() / 1000) - 10;
      assert.equal(await store.consume(key, past), true);
      assert.equal(await store.consume(key, inOneMinute()), true);
      assert.equal(await store.consume(key, inOneMinute()), false);
    });

    it('rejects an empty key and an expiry that is not a finite number', async () => {
      const store = await makeStore();
      assert.ok((await rejectionOf(() => store.consume('', inOneMinute()))) instanceof TypeError);
      for (const expiry of [Number.NaN, Infinity, '60' as unknown as number]) {
        const error = await rejectionOf(() => store.consume(randomUUID(), expiry));
        assert.ok(error instanceof TypeError, String(expiry));
      }
    });
  });
}
