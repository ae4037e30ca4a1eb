import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type { KeyStore, StoredSigningKey } from '../tokens/key-store.js';
import { testApi, type ContractOptions, type StoreFactory } from './contract-api.js';

/**
 * Registers the tests every {@link KeyStore} must pass: a saved schedule is loaded back whole and
 * in order (private JWKs and `null` times included), a save over a stale revision changes
 * nothing, of concurrent saves over one revision exactly one wins (also from separate store
 * objects on one backend), and a save replaces the whole schedule. A key store holds one
 * schedule, so the tests work from whatever revision they find: `makeStore` may answer stores
 * over one backend, as long as nothing else saves to it while they run.
 */
export function keyStoreContract(
  makeStore: StoreFactory<KeyStore>,
  options: ContractOptions = {},
): void {
  const { describe, it } = testApi(options);
  const key = (fields: Partial<StoredSigningKey> = {}): StoredSigningKey => ({
    kid: `kid-${randomUUID()}`,
    alg: 'ES256',
    public_jwk: {
      crv: 'P-256',
      kty: 'EC',
      x: 'f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU',
      y: 'x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0',
    },
    published_at: Date.UTC(2030, 0, 1),
    signs_from: null,
    retired_at: null,
    expires_at: null,
    ...fields,
  });

  describe(options.name ?? 'KeyStore contract', () => {
    it('loads a saved schedule back whole and in order, with a new revision', async () => {
      const store = await makeStore();
      const { revision } = await store.load();
      assert.ok(Number.isSafeInteger(revision) && revision >= 0);
      const keys = [
        key({
          alg: 'EdDSA',
          public_jwk: {
            crv: 'Ed25519',
            kty: 'OKP',
            x: '11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo',
          },
          private_jwk: {
            crv: 'Ed25519',
            d: 'nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A',
            kty: 'OKP',
            x: '11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo',
          },
          signs_from: Date.UTC(2030, 0, 1),
          retired_at: Date.UTC(2030, 1, 1),
          expires_at: Date.UTC(2030, 1, 2),
        }),
        key({ signs_from: Date.UTC(2030, 1, 1) }),
        key(),
      ];
      assert.equal(await store.save(revision, keys), true);
      assert.deepEqual(await store.load(), { revision: revision + 1, keys });
    });

    it('changes nothing on a save over a stale revision', async () => {
      const store = await makeStore();
      const { revision } = await store.load();
      const saved = [key()];
      assert.equal(await store.save(revision, saved), true);
      assert.equal(await store.save(revision, [key(), key()]), false);
      assert.deepEqual(await store.load(), { revision: revision + 1, keys: saved });
    });

    it('replaces the whole schedule, down to no key at all', async () => {
      const store = await makeStore();
      const { revision } = await store.load();
      assert.equal(await store.save(revision, [key(), key()]), true);
      const kept = [key()];
      assert.equal(await store.save(revision + 1, kept), true);
      assert.deepEqual((await store.load()).keys, kept);
      assert.equal(await store.save(revision + 2, []), true);
      assert.deepEqual(await store.load(), { revision: revision + 3, keys: [] });
    });

    it('lets exactly one of concurrent saves over one revision win', async () => {
      const stores = await Promise.all([makeStore(), makeStore()]);
      const { revision } = await stores[0]!.load();
      const candidates = Array.from({ length: 6 }, () => [key(), key()]);
      const results = await Promise.all(
        candidates.map((keys, i) => stores[i % 2]!.save(revision, keys)),
      );
      assert.equal(results.filter(Boolean).length, 1);
      assert.deepEqual(await stores[1]!.load(), {
        revision: revision + 1,
        keys: candidates[results.indexOf(true)],
      });
    });

    it('answers copies: changing an answer changes nothing stored', async () => {
      const store = await makeStore();
      const { revision } = await store.load();
      const saved = [key()];
      await store.save(revision, saved);
      const loaded = await store.load();
      (loaded.keys as StoredSigningKey[]).pop();
      assert.deepEqual((await store.load()).keys, saved);
    });
  });
}
