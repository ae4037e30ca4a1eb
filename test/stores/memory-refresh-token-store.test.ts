import { expect } from 'chai';
import { MemoryRefreshTokenStore } from '../../lib/index.js';
import type { RefreshTokenFamily } from '../../lib/index.js';
import { rotateFamily, testFamily, testToken } from '../support/refresh-families.js';

const T0 = Date.UTC(2026, 0, 1);

const family = (id: string, fields: Partial<RefreshTokenFamily> = {}) => testFamily(id, T0, fields);
const token = (hash: string, familyId: string, generation = 0) =>
  testToken(hash, familyId, T0, generation);

// The RefreshTokenStore contract itself runs in test/stores/memory-contracts.test.ts.

describe('MemoryRefreshTokenStore: bounds and expiry', () => {
  it('drops a family and its tokens once it ended (absolute or idle), on the next sweep', async () => {
    let now = T0;
    const store = new MemoryRefreshTokenStore({ now: () => now });
    await store.create(
      family('rtf_abs', { expires_at: T0 + 1000, idle_lifetime: null }),
      token('a', 'rtf_abs'),
    );
    await store.create(
      family('rtf_idle', { expires_at: null, idle_lifetime: 120 }),
      token('i', 'rtf_idle'),
    );
    await store.create(
      family('rtf_inf', { expires_at: null, idle_lifetime: null }),
      token('n', 'rtf_inf'),
    );
    // Sweeps run at most once a minute: right after the end the family is still there.
    now = T0 + 1000;
    expect(await store.find('a')).not.to.equal(undefined);
    now = T0 + 60_000;
    expect(await store.find('a')).to.equal(undefined);
    expect(await store.find('i')).not.to.equal(undefined);
    now = T0 + 120_000;
    expect(await store.find('i')).to.equal(undefined);
    expect(await store.find('n')).not.to.equal(undefined);
    expect(store.size).to.equal(1);
    expect(await store.listFamilies('auth0|alice')).to.have.length(1);
  });

  it('counts the idle lifetime from the last use a compare-and-set recorded', async () => {
    let now = T0;
    const store = new MemoryRefreshTokenStore({ now: () => now });
    await store.create(
      family('rtf_1', { expires_at: null, idle_lifetime: 120 }),
      token('h', 'rtf_1'),
    );
    now = T0 + 100_000;
    expect(await store.compareAndSet('rtf_1', 0, { last_used_at: now })).to.equal(true);
    now = T0 + 200_000;
    expect(await store.find('h')).not.to.equal(undefined);
    // Ended at T0 + 220 s; the next sweep is due a minute after the last one.
    now = T0 + 260_000;
    expect(await store.find('h')).to.equal(undefined);
  });

  it('keeps a revoked family until it ends, so its tokens are still recognised', async () => {
    let now = T0;
    const store = new MemoryRefreshTokenStore({ now: () => now });
    await store.create(family('rtf_1'), token('h', 'rtf_1'));
    await store.revokeFamily('rtf_1', T0);
    now = T0 + 500_000;
    expect((await store.find('h'))!.family.revoked_at).to.equal(T0);
    now = T0 + 600_000;
    expect(await store.find('h')).to.equal(undefined);
  });

  it('makes room by forgetting revoked families first, the earliest revoked first', async () => {
    const store = new MemoryRefreshTokenStore({ maxFamilies: 3, now: () => T0 });
    await store.create(family('rtf_1'), token('h1', 'rtf_1'));
    await store.create(family('rtf_2', { user_id: 'auth0|bob' }), token('h2', 'rtf_2'));
    await store.create(family('rtf_3'), token('h3', 'rtf_3'));
    await store.revokeFamily('rtf_3', T0);
    await store.revokeFamily('rtf_1', T0);
    await store.create(family('rtf_4', { user_id: 'auth0|carol' }), token('h4', 'rtf_4'));
    expect(await store.find('h3')).to.equal(undefined);
    expect((await store.find('h1'))!.family.revoked_at).to.equal(T0);
    await store.create(family('rtf_5', { user_id: 'auth0|carol' }), token('h5', 'rtf_5'));
    expect(await store.find('h1')).to.equal(undefined);
    for (const hash of ['h2', 'h4', 'h5']) expect(await store.find(hash)).not.to.equal(undefined);
    expect(store.evicted).to.equal(0);
    expect(await store.listFamilies('auth0|alice')).to.deep.equal([]);
  });

  it('then forgets the new family’s user’s own oldest live family, and counts it', async () => {
    const store = new MemoryRefreshTokenStore({ maxFamilies: 3, now: () => T0 });
    await store.create(family('rtf_bob', { user_id: 'auth0|bob' }), token('hb', 'rtf_bob'));
    await store.create(family('rtf_1'), token('h1', 'rtf_1'));
    await store.create(family('rtf_2'), token('h2', 'rtf_2'));
    // A redemption of rtf_1 does not make it younger: the oldest goes.
    expect(await store.compareAndSet('rtf_1', 0, { last_used_at: T0 })).to.equal(true);
    await store.create(family('rtf_3'), token('h3', 'rtf_3'));
    expect(await store.find('h1')).to.equal(undefined);
    for (const hash of ['hb', 'h2', 'h3']) expect(await store.find(hash)).not.to.equal(undefined);
    expect(store.evicted).to.equal(1);
    expect(store.size).to.equal(3);
  });

  it('never forgets another user’s live family: full of those, create rejects and changes nothing', async () => {
    const store = new MemoryRefreshTokenStore({ maxFamilies: 2, now: () => T0 });
    await store.create(family('rtf_bob', { user_id: 'auth0|bob' }), token('hb', 'rtf_bob'));
    await store.create(family('rtf_carol', { user_id: 'auth0|carol' }), token('hc', 'rtf_carol'));
    let error: unknown;
    try {
      await store.create(family('rtf_1'), token('h1', 'rtf_1'));
    } catch (err) {
      error = err;
    }
    expect(error).to.be.instanceOf(Error);
    expect((error as Error).message).to.equal(
      'MemoryRefreshTokenStore.create: the store holds maxFamilies (2) live families of other ' +
        'users; raise maxFamilies or use a shared store',
    );
    expect(await store.find('h1')).to.equal(undefined);
    expect(await store.find('hb')).not.to.equal(undefined);
    expect(await store.find('hc')).not.to.equal(undefined);
    expect(store.evicted).to.equal(0);
  });

  it('keeps another user’s family through a loop of 1,100 creations by one user who revokes as they go', async () => {
    const store = new MemoryRefreshTokenStore({ maxFamilies: 1000, now: () => T0 });
    await store.create(family('rtf_bob', { user_id: 'auth0|bob' }), token('hb', 'rtf_bob'));
    for (let i = 0; i < 1100; i++) {
      await store.create(family(`rtf_${i}`), token(`h${i}`, `rtf_${i}`));
      if (i >= 200) await store.revokeFamily(`rtf_${i - 200}`, T0);
    }
    expect((await store.find('hb'))!.family.revoked_at).to.equal(null);
    expect(store.size).to.be.at.most(1000);
    expect(store.evicted).to.equal(0);
  });

  it('sweeps ended families before evicting a live one', async () => {
    let now = T0;
    const store = new MemoryRefreshTokenStore({ maxFamilies: 2, now: () => now });
    await store.create(family('rtf_old', { expires_at: T0 + 10 }), token('h1', 'rtf_old'));
    await store.create(family('rtf_live'), token('h2', 'rtf_live'));
    now = T0 + 20;
    await store.create(family('rtf_new', { created_at: now }), token('h3', 'rtf_new'));
    expect(store.evicted).to.equal(0);
    expect(await store.find('h2')).not.to.equal(undefined);
  });

  it('keeps at most maxTokensPerFamily tokens, forgetting the oldest rotated ones', async () => {
    const store = new MemoryRefreshTokenStore({ maxTokensPerFamily: 3, now: () => T0 });
    await store.create(family('rtf_1'), token('g0', 'rtf_1'));
    await rotateFamily(store, 'rtf_1', 4, token, () => T0);
    expect(await store.find('g0')).to.equal(undefined);
    expect(await store.find('g1')).to.equal(undefined);
    for (const hash of ['g2', 'g3', 'g4']) expect(await store.find(hash)).not.to.equal(undefined);
  });

  it('refuses a token of another family, a duplicate family, and bad options', async () => {
    const store = new MemoryRefreshTokenStore({ now: () => T0 });
    let error: unknown;
    await store
      .create(family('rtf_1'), token('h1', 'rtf_2'))
      .catch((err: unknown) => (error = err));
    expect(error).to.be.instanceOf(TypeError);
    await store.create(family('rtf_1'), token('h1', 'rtf_1'));
    error = undefined;
    await store
      .create(family('rtf_1'), token('h2', 'rtf_1'))
      .catch((err: unknown) => (error = err));
    expect((error as Error).message).to.include('exists already');
    expect(() => new MemoryRefreshTokenStore({ maxFamilies: 0 })).to.throw(
      TypeError,
      'maxFamilies',
    );
    expect(() => new MemoryRefreshTokenStore({ maxTokensPerFamily: 1 })).to.throw(
      TypeError,
      'maxTokensPerFamily',
    );
  });
});
