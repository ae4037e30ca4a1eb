import assert from 'node:assert/strict';
import type { ConfigStore } from '../stores/config-store.js';
import { testApi, type ContractOptions, type StoreFactory } from './contract-api.js';

const ALL = ['action', 'action_version', 'profile', 'settings'] as const;

/**
 * Registers the tests every {@link ConfigStore} must pass. `makeStore` answers a store over an
 * empty configuration each time (revision 0, no documents): the revision is the whole store's.
 *
 * @example
 * configStoreContract(async () => {
 *   await pool.query('TRUNCATE my_config');
 *   return new MyConfigStore(pool);
 * });
 */
export function configStoreContract(
  makeStore: StoreFactory<ConfigStore>,
  options: ContractOptions = {},
): void {
  const { describe, it } = testApi(options);

  describe(options.name ?? 'ConfigStore contract', () => {
    it('starts empty at revision 0', async () => {
      const store = await makeStore();
      assert.deepEqual(await store.load(ALL), { revision: 0, documents: [] });
      assert.deepEqual(await store.changes(0, ALL), { revision: 0, changes: [] });
      assert.equal(await store.read('action', 'a1'), undefined);
      await store.close();
    });

    it('commits only from the current revision, each commit one revision on', async () => {
      const store = await makeStore();
      assert.equal(await store.commit([{ kind: 'action', id: 'a1', data: { n: 1 } }], 0), 1);
      assert.equal(
        await store.commit([{ kind: 'action', id: 'a1', data: { n: 2 } }], 0),
        undefined,
      );
      assert.deepEqual(await store.read('action', 'a1'), {
        kind: 'action',
        id: 'a1',
        parent: null,
        revision: 1,
        data: { n: 1 },
      });
      assert.equal(
        await store.commit(
          [
            { kind: 'action', id: 'a1', data: { n: 3 } },
            { kind: 'action_version', id: 'v1', parent: 'a1', data: { number: 1 } },
          ],
          1,
        ),
        2,
      );
      const { revision, documents } = await store.load(ALL);
      assert.equal(revision, 2);
      assert.deepEqual(
        documents.map((d) => [d.kind, d.id, d.parent, d.revision, d.data]),
        [
          ['action', 'a1', null, 2, { n: 3 }],
          ['action_version', 'v1', 'a1', 2, { number: 1 }],
        ],
      );
      await store.close();
    });

    it('lets one of concurrent commits from one revision through', async () => {
      const store = await makeStore();
      const results = await Promise.all(
        Array.from({ length: 8 }, (_, i) =>
          store.commit([{ kind: 'profile', id: `p${i}`, data: { i } }], 0),
        ),
      );
      assert.deepEqual(
        results.filter((r) => r !== undefined),
        [1],
      );
      assert.equal((await store.load(ALL)).documents.length, 1);
      await store.close();
    });

    it('reports changes after a revision, deletions included, and forgets deleted documents', async () => {
      const store = await makeStore();
      await store.commit([{ kind: 'profile', id: 'p1', data: { name: 'one' } }], 0);
      await store.commit([{ kind: 'profile', id: 'p2', data: { name: 'two' } }], 1);
      await store.commit([{ kind: 'profile', id: 'p1', data: null }], 2);
      const { revision, changes } = await store.changes(1, ['profile']);
      assert.equal(revision, 3);
      assert.deepEqual(
        changes.map((d) => [d.id, d.revision, d.data]),
        [
          ['p2', 2, { name: 'two' }],
          ['p1', 3, null],
        ],
      );
      assert.equal(await store.read('profile', 'p1'), undefined);
      assert.deepEqual(
        (await store.load(['profile'])).documents.map((d) => d.id),
        ['p2'],
      );
      assert.deepEqual((await store.changes(0, ['action'])).changes, []);
      await store.close();
    });

    it('keeps creation order, a document created again going last', async () => {
      const store = await makeStore();
      await store.commit(
        ['v1', 'v2', 'v3'].map((id) => ({ kind: 'action_version', id, parent: 'a', data: { id } })),
        0,
      );
      await store.commit([{ kind: 'action_version', id: 'v1', parent: 'a', data: null }], 1);
      await store.commit(
        [{ kind: 'action_version', id: 'v2', parent: 'a', data: { id: 'v2b' } }],
        2,
      );
      await store.commit(
        [{ kind: 'action_version', id: 'v1', parent: 'a', data: { id: 'v1' } }],
        3,
      );
      assert.deepEqual(
        (await store.children('action_version', 'a')).map((d) => d.data),
        [{ id: 'v2b' }, { id: 'v3' }, { id: 'v1' }],
      );
      assert.deepEqual(await store.children('action_version', 'b'), []);
      await store.close();
    });

    it('gives back the JSON it was given, whatever characters it holds', async () => {
      const store = await makeStore();
      const data = {
        code: 'exports.x = () => "\\u0000 \u00e9 \u{1F600}";\n',
        nested: { list: [1, 2.5, null, true, 'x'], empty: {} },
      };
      await store.commit([{ kind: 'action', id: 'weird id/é', data }], 0);
      assert.deepEqual((await store.read('action', 'weird id/é'))?.data, data);
      await store.close();
    });

    it('calls subscribers soon after a commit, until they unsubscribe', async () => {
      const store = await makeStore();
      let calls = 0;
      const stop = store.subscribe(() => {
        calls += 1;
      });
      // A store that listens over a connection may need a moment to start.
      await new Promise((resolve) => setTimeout(resolve, 200));
      await store.commit([{ kind: 'settings', id: 's', data: { on: true } }], 0);
      const deadline = Date.now() + 2000;
      while (calls === 0 && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      assert.ok(calls > 0, 'the subscriber was called');
      stop();
      const before = calls;
      await store.commit([{ kind: 'settings', id: 's', data: { on: false } }], 1);
      await new Promise((resolve) => setTimeout(resolve, 200));
      assert.equal(calls, before);
      await store.close();
    });
  });
}
