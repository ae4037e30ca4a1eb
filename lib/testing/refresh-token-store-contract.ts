import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type {
  RefreshTokenFamily,
  RefreshTokenRecord,
  RefreshTokenStore,
} from '../stores/refresh-token-store.js';
import { rejectionOf, testApi, type ContractOptions, type StoreFactory } from './contract-api.js';

/**
 * Registers the tests every {@link RefreshTokenStore} must pass: a token found by its hash with
 * its family, copies that cannot change the store, the compare-and-set of a rotation (over the
 * expected revision only, with its successor, exactly one winner among concurrent calls, also
 * from separate store objects on one backend), revocation, and a user's families listed in
 * creation order. Families live for a day from now, so a store that forgets ended families keeps
 * them through the tests. `makeStore` may answer stores over one shared backend: each test uses
 * ids of its own.
 */
export function refreshTokenStoreContract(
  makeStore: StoreFactory<RefreshTokenStore>,
  options: ContractOptions = {},
): void {
  const { describe, it } = testApi(options);

  /** Ids of one test: its families, tokens and user are its own. */
  const ids = () => {
    const run = randomUUID();
    return {
      user: `auth0|${run}`,
      family: (name: string) => `rtf_${name}_${run}`,
      hash: (name: string) => `hash-${name}-${run}`,
    };
  };
  const t0 = () => Date.now();

  const family = (
    id: string,
    userId: string,
    createdAt: number,
    fields: Partial<RefreshTokenFamily> = {},
  ): RefreshTokenFamily => ({
    family_id: id,
    client_id: 'app',
    user_id: userId,
    audience: 'https://api.example.com/',
    scope: ['openid', 'offline_access'],
    rotating: true,
    leeway: 0,
    created_at: createdAt,
    expires_at: createdAt + 86_400_000,
    idle_lifetime: 43_200,
    last_used_at: createdAt,
    generation: 0,
    rotated_at: null,
    revoked_at: null,
    revision: 0,
    ...fields,
  });
  const token = (
    hash: string,
    familyId: string,
    createdAt: number,
    generation = 0,
  ): RefreshTokenRecord => ({
    token_hash: hash,
    family_id: familyId,
    generation,
    created_at: createdAt,
  });

  describe(options.name ?? 'RefreshTokenStore contract', () => {
    it('finds a token by its hash, with its family; an unknown hash is undefined', async () => {
      const store = await makeStore();
      const { user, family: f, hash } = ids();
      const now = t0();
      await store.create(family(f('1'), user, now), token(hash('1'), f('1'), now));
      assert.deepEqual(await store.find(hash('1')), {
        token: token(hash('1'), f('1'), now),
        family: family(f('1'), user, now),
      });
      assert.equal(await store.find(hash('unknown')), undefined);
    });

    it('keeps lifetimes of null (no absolute or idle end) as null', async () => {
      const store = await makeStore();
      const { user, family: f, hash } = ids();
      const now = t0();
      const endless = family(f('1'), user, now, { expires_at: null, idle_lifetime: null });
      await store.create(endless, token(hash('1'), f('1'), now));
      assert.deepEqual((await store.find(hash('1')))?.family, endless);
    });

    it('answers copies: changing an answer changes nothing stored', async () => {
      const store = await makeStore();
      const { user, family: f, hash } = ids();
      const now = t0();
      await store.create(family(f('1'), user, now), token(hash('1'), f('1'), now));
      const found = (await store.find(hash('1')))!;
      (found.family.scope as string[]).push('admin');
      (found.family as { revision: number }).revision = 42;
      const listed = await store.listFamilies(user);
      (listed[0]!.scope as string[]).push('admin');
      assert.deepEqual((await store.find(hash('1')))!.family, family(f('1'), user, now));
    });

    it('refuses to create a family or a token that exists, and changes nothing', async () => {
      const store = await makeStore();
      const { user, family: f, hash } = ids();
      const now = t0();
      await store.create(family(f('1'), user, now), token(hash('1'), f('1'), now));
      const again = await rejectionOf(() =>
        store.create(
          family(f('1'), user, now, { client_id: 'other' }),
          token(hash('2'), f('1'), now),
        ),
      );
      assert.ok(again instanceof Error);
      const takenHash = await rejectionOf(() =>
        store.create(family(f('2'), user, now), token(hash('1'), f('2'), now)),
      );
      assert.ok(takenHash instanceof Error);
      assert.equal(await store.find(hash('2')), undefined);
      assert.deepEqual(
        (await store.listFamilies(user)).map((listed) => listed.family_id),
        [f('1')],
      );
      assert.equal((await store.find(hash('1')))?.family.client_id, 'app');
    });

    it('compare-and-set writes over the expected revision only, adding the successor', async () => {
      const store = await makeStore();
      const { user, family: f, hash } = ids();
      const now = t0();
      await store.create(family(f('1'), user, now), token(hash('g0'), f('1'), now));
      const update = { last_used_at: now + 5, generation: 1, rotated_at: now + 5 };
      const successor = token(hash('g1'), f('1'), now + 5, 1);
      assert.equal(await store.compareAndSet(f('1'), 1, update, successor), false);
      assert.equal(await store.find(hash('g1')), undefined);
      assert.equal(await store.compareAndSet(f('1'), 0, update, successor), true);
      const after = family(f('1'), user, now, { ...update, revision: 1 });
      assert.deepEqual(await store.find(hash('g1')), { token: successor, family: after });
      assert.deepEqual(await store.find(hash('g0')), {
        token: token(hash('g0'), f('1'), now),
        family: after,
      });
      // The same revision again: the write already happened.
      assert.equal(await store.compareAndSet(f('1'), 0, update), false);
      assert.equal(await store.compareAndSet(f('missing'), 0, update), false);
    });

    it('compare-and-set without a successor records the use only', async () => {
      const store = await makeStore();
      const { user, family: f, hash } = ids();
      const now = t0();
      await store.create(
        family(f('1'), user, now, { rotating: false }),
        token(hash('1'), f('1'), now),
      );
      assert.equal(await store.compareAndSet(f('1'), 0, { last_used_at: now + 9 }), true);
      assert.deepEqual(
        (await store.find(hash('1')))?.family,
        family(f('1'), user, now, { rotating: false, last_used_at: now + 9, revision: 1 }),
      );
    });

    it('lets exactly one of many concurrent compare-and-sets on one revision win', async () => {
      const stores = await Promise.all([makeStore(), makeStore()]);
      const { user, family: f, hash } = ids();
      const now = t0();
      await stores[0]!.create(family(f('1'), user, now), token(hash('g0'), f('1'), now));
      const results = await Promise.all(
        Array.from({ length: 10 }, (_, i) =>
          stores[i % 2]!.compareAndSet(
            f('1'),
            0,
            { last_used_at: now + i, generation: 1, rotated_at: now + i },
            token(hash(`s${i}`), f('1'), now + i, 1),
          ),
        ),
      );
      assert.equal(results.filter(Boolean).length, 1);
      const winner = results.indexOf(true);
      for (let i = 0; i < 10; i += 1) {
        const found = await stores[0]!.find(hash(`s${i}`));
        if (i === winner) assert.equal(found?.family.last_used_at, now + i);
        else assert.equal(found, undefined);
      }
    });

    it('revokes a family once, with a new revision, so a compare-and-set in flight fails', async () => {
      const store = await makeStore();
      const { user, family: f, hash } = ids();
      const now = t0();
      await store.create(family(f('1'), user, now), token(hash('1'), f('1'), now));
      assert.equal(await store.revokeFamily(f('1'), now + 7), true);
      assert.equal(await store.revokeFamily(f('1'), now + 8), false);
      assert.equal(await store.revokeFamily(f('missing'), now), false);
      const revoked = (await store.find(hash('1')))!.family;
      assert.equal(revoked.revoked_at, now + 7);
      assert.notEqual(revoked.revision, 0);
      assert.equal(await store.compareAndSet(f('1'), 0, { last_used_at: now + 9 }), false);
      assert.equal(
        await store.compareAndSet(f('1'), revoked.revision, { last_used_at: now + 9 }),
        false,
      );
      assert.equal((await store.find(hash('1')))!.family.last_used_at, now);
    });

    it('lists a user’s families in creation order, revoked ones included, also within one millisecond', async () => {
      const store = await makeStore();
      const { user, family: f, hash } = ids();
      const other = ids();
      const now = t0();
      for (const name of ['c', 'a', 'b']) {
        await store.create(family(f(name), user, now), token(hash(name), f(name), now));
      }
      await store.create(
        family(other.family('x'), other.user, now),
        token(other.hash('x'), other.family('x'), now),
      );
      await store.revokeFamily(f('a'), now);
      const listed = await store.listFamilies(user);
      assert.deepEqual(
        listed.map((listedFamily) => listedFamily.family_id),
        [f('c'), f('a'), f('b')],
      );
      assert.equal(listed[1]!.revoked_at, now);
      assert.deepEqual(listed[0], family(f('c'), user, now));
      assert.deepEqual(await store.listFamilies(`auth0|${randomUUID()}`), []);
    });
  });
}
