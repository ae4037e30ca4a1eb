import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type { RevokedTokenStore } from '../stores/revoked-token-store.js';
import { rejectionOf, testApi, type ContractOptions, type StoreFactory } from './contract-api.js';

/**
 * Registers the tests every {@link RevokedTokenStore} must pass. `makeStore` may answer stores
 * over one shared backend: each test uses jtis of its own.
 *
 * @example
 * revokedTokenStoreContract(() => new MyRevokedTokenStore(pool));
 */
export function revokedTokenStoreContract(
  makeStore: StoreFactory<RevokedTokenStore>,
  options: ContractOptions = {},
): void {
  const { describe, it } = testApi(options);
  const inOneMinute = () => Math.floor(Date.now() / 1000) + 60;

  describe(options.name ?? 'RevokedTokenStore contract', () => {
    it('reports a jti revoked once it is, and not before', async () => {
      const store = await makeStore();
      const jti = `at:${randomUUID()}`;
      assert.equal(await store.isRevoked(jti), false);
      assert.equal(await store.isRevoked(jti), false, 'a lookup must not record the jti');
      await store.revoke(jti, inOneMinute());
      assert.equal(await store.isRevoked(jti), true);
      assert.equal(await store.isRevoked(jti), true);
    });

    it('keeps jtis apart, whatever characters they hold', async () => {
      const store = await makeStore();
      const base = randomUUID();
      const revoked = [`${base}`, `${base}:x`, `{${base}}`, `${base}\u00e9\u{1F600}`];
      const others = [`${base} `, `${base}:y`, `${base}${'x'.repeat(1000)}`];
      for (const jti of revoked) await store.revoke(jti, inOneMinute());
      for (const jti of revoked) assert.equal(await store.isRevoked(jti), true, jti);
      for (const jti of others) assert.equal(await store.isRevoked(jti), false, jti);
    });

    it('accepts the same revocation twice, and many at once', async () => {
      const store = await makeStore();
      const jti = `twice:${randomUUID()}`;
      await store.revoke(jti, inOneMinute());
      await store.revoke(jti, inOneMinute());
      await Promise.all(Array.from({ length: 25 }, () => store.revoke(jti, inOneMinute())));
      assert.equal(await store.isRevoked(jti), true);
    });

    it('keeps the later expiry when a jti is revoked again with an earlier one', async () => {
      const store = await makeStore();
      const jti = `later:${randomUUID()}`;
      await store.revoke(jti, inOneMinute());
      await store.revoke(jti, Math.floor(Date.now() / 1000) - 10);
      assert.equal(await store.isRevoked(jti), true);
    });

    it('does not report a jti whose expiry has passed', async () => {
      const store = await makeStore();
      const jti = `past:${randomUUID()}`;
      await store.revoke(jti, Math.floor(Date.now() / 1000) - 10);
      assert.equal(await store.isRevoked(jti), false);
    });

    it('rejects an empty jti and an expiry that is not a finite number', async () => {
      const store = await makeStore();
      assert.ok((await rejectionOf(() => store.revoke('', inOneMinute()))) instanceof TypeError);
      assert.ok((await rejectionOf(() => store.isRevoked(''))) instanceof TypeError);
      for (const expiry of [Number.NaN, Infinity, '60' as unknown as number]) {
        const error = await rejectionOf(() => store.revoke(randomUUID(), expiry));
        assert.ok(error instanceof TypeError, String(expiry));
      }
    });
  });
}
