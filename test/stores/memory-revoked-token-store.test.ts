import { expect } from 'chai';
import { MemoryRevokedTokenStore } from '../../lib/stores/memory-revoked-token-store.js';
import { RevokedTokenStoreFullError } from '../../lib/stores/revoked-token-store.js';
import { revokedTokenStoreContract } from '../../lib/testing/index.js';

revokedTokenStoreContract(() => new MemoryRevokedTokenStore(), {
  name: 'MemoryRevokedTokenStore: the RevokedTokenStore contract',
});

describe('MemoryRevokedTokenStore', () => {
  const T0 = Date.UTC(2026, 0, 1);
  let now: number;
  beforeEach(() => {
    now = T0;
  });
  const seconds = (ms: number) => ms / 1000;

  it('forgets a revocation at its expiry, by the clock it is given', async () => {
    const store = new MemoryRevokedTokenStore({ now: () => now });
    await store.revoke('a', seconds(T0 + 10_000));
    now = T0 + 9_999;
    expect(await store.isRevoked('a')).to.equal(true);
    now = T0 + 10_000;
    expect(await store.isRevoked('a')).to.equal(false);
    now = T0 + 70_000;
    expect(await store.isRevoked('a')).to.equal(false);
    expect(store.size).to.equal(0);
  });

  it('records nothing for a token that has already expired', async () => {
    const store = new MemoryRevokedTokenStore({ now: () => now });
    await store.revoke('gone', seconds(T0 - 1));
    expect(store.size).to.equal(0);
  });

  it('when full of unexpired revocations, refuses a new one with the time until room', async () => {
    const store = new MemoryRevokedTokenStore({ maxEntries: 2, now: () => now });
    await store.revoke('a', seconds(T0 + 30_000));
    await store.revoke('b', seconds(T0 + 90_000));
    const error = await store.revoke('c', seconds(T0 + 90_000)).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(error).to.be.instanceOf(RevokedTokenStoreFullError);
    expect(error).to.include({
      message: 'revoked token store full: 2 unexpired revocations (maxEntries 2)',
      retryAfterSeconds: 30,
    });
    expect(await store.isRevoked('a')).to.equal(true);
    expect(await store.isRevoked('c')).to.equal(false);
    // Revoking a jti it holds needs no room.
    await store.revoke('a', seconds(T0 + 60_000));
    now = T0 + 60_000;
    await store.revoke('c', seconds(T0 + 120_000));
    expect(await store.isRevoked('c')).to.equal(true);
    expect(await store.isRevoked('b')).to.equal(true);
    expect(store.size).to.equal(2);
  });

  it('refuses invalid options with a TypeError naming them', () => {
    expect(() => new MemoryRevokedTokenStore({ maxEntries: 0 })).to.throw(
      TypeError,
      'MemoryRevokedTokenStore: options.maxEntries must be a positive integer',
    );
    expect(() => new MemoryRevokedTokenStore({ now: 5 as unknown as () => number })).to.throw(
      TypeError,
      'MemoryRevokedTokenStore: options.now must be a function',
    );
  });
});
