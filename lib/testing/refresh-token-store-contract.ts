import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type {
  RefreshTokenFamily,
  RefreshTokenRecord,
  RefreshTokenStore,
} from '../stores/refresh-token-store.js';
import { rejectionOf, testApi, type ContractOptions, type StoreFactory } from './contract-api.js';

/**
 * Registers the tests every {@link RefreshTokenStore} must pass: a token found with its family,
 * copies that cannot change the store, compare-and-set that writes over the expected revision
 * only (exactly one winner among concurrent ones), revocation, and each user's families listed
 * in creation order. `makeStore` may answer stores over one shared backend: each test uses
 * families and users of its own, with lifetimes counted from now. Optional family fields
 * (`auth_time`, `dpop_jkt`, `organization_id`) must survive every write: a store that drops
 * `dpop_jkt` unbinds a DPoP-bound refresh token, one that drops `organization_id` lets a token
 * outlive the user's membership.
 *
 * @example
 * refreshTokenStoreContract(() => new MyRefreshTokenStore(pool));
 */
export function refreshTokenStoreContract(
  makeStore: StoreFactory<RefreshTokenStore>,
  options: ContractOptions = {},
): void {
  const { describe, it } = testApi(options);

  /** Ids and a user of one test, and families and tokens over them. */
  function fixture() {
    const run = randomUUID();
    const now = Date.now();
    const user = `auth0|${run}`;
    const id = (name: string) => `rtf_${name}_${run}`;
    const family = (
      name: string,
      fields: Partial<RefreshTokenFamily> = {},
    ): RefreshTokenFamily => ({
      family_id: id(name),
      client_id: 'app',
      user_id: user,
      audience: 'https://api.example.com/',
      scope: ['openid', 'offline_access'],
      rotating: true,
      leeway: 0,
      created_at: now,
      expires_at: now + 3_600_000,
      idle_lifetime: 600,
      last_used_at: now,
      generation: 0,
      rotated_at: null,
      revoked_at: null,
      revision: 0,
      ...fields,
    });
    const token = (hash: string, name: string, generation = 0): RefreshTokenRecord => ({
      token_hash: `${hash}_${run}`,
      family_id: id(name),
      generation,
      created_at: now,
    });
    return { now, user, id, family, token };
  }

  describe(options.name ?? 'RefreshTokenStore contract', () => {
    it('finds a token by its hash, with its family; an unknown hash is undefined', async () => {
      const store = await makeStore();
      const { family, token, id } = fixture();
      await store.create(family('a'), token('h1', 'a'));
      assert.deepEqual(await store.find(token('h1', 'a').token_hash, id('a')), {
        token: token('h1', 'a'),
        family: family('a'),
      });
      assert.equal(await store.find(token('nope', 'a').token_hash, id('a')), undefined);
    });

    it('keeps every field as given: nulls, an empty scope, characters of any kind', async () => {
      const store = await makeStore();
      const { family, token, id } = fixture();
      const odd = family('odd', {
        client_id: 'app {1}:é',
        user_id: `{user}:${randomUUID()}:\u00e9\u{1F600}`,
        audience: 'urn:api:{x}',
        scope: [],
        rotating: false,
        leeway: 30,
        expires_at: null,
        idle_lifetime: null,
      });
      await store.create(odd, token('h1', 'odd'));
      assert.deepEqual((await store.find(token('h1', 'odd').token_hash, id('odd')))?.family, odd);
      assert.deepEqual(await store.listFamilies(odd.user_id), [odd]);
    });

    it('keeps the optional fields of a family: its auth_time, DPoP key thumbprint and organization', async () => {
      const store = await makeStore();
      const { family, token, id, now } = fixture();
      const bound = family('bound', {
        auth_time: Math.floor(now / 1000) - 5,
        dpop_jkt: 'NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs',
        organization_id: 'org_ABCDEFGHijklmnop',
      });
      await store.create(bound, token('h1', 'bound'));
      assert.deepEqual(
        (await store.find(token('h1', 'bound').token_hash, id('bound')))?.family,
        bound,
      );
      await store.compareAndSet(id('bound'), 0, { last_used_at: now + 1 });
      const after = (await store.find(token('h1', 'bound').token_hash, id('bound')))!.family;
      assert.equal(after.auth_time, bound.auth_time);
      assert.equal(after.dpop_jkt, bound.dpop_jkt);
      assert.equal(after.organization_id, bound.organization_id);
      assert.deepEqual(await store.listFamilies(bound.user_id), [after]);
    });

    it('hands out copies: changing an answer does not change the store', async () => {
      const store = await makeStore();
      const { family, token, id } = fixture();
      await store.create(family('a'), token('h1', 'a'));
      const hash = token('h1', 'a').token_hash;
      const found = (await store.find(hash, id('a')))!;
      (found.family.scope as string[]).push('admin');
      (found.family as { revision: number }).revision = 42;
      assert.deepEqual((await store.find(hash, id('a')))!.family, family('a'));
    });

    it('refuses to create a family twice', async () => {
      const store = await makeStore();
      const { family, token, id } = fixture();
      await store.create(family('a'), token('h1', 'a'));
      const error = await rejectionOf(() => store.create(family('a'), token('h2', 'a')));
      assert.ok(error instanceof Error, 'a second create of one family must reject');
      assert.equal(await store.find(token('h2', 'a').token_hash, id('a')), undefined);
    });

    it('compare-and-set writes over the expected revision only, adding the successor', async () => {
      const store = await makeStore();
      const { family, token, id, now } = fixture();
      await store.create(family('a'), token('h1', 'a'));
      const update = { last_used_at: now + 5, generation: 1, rotated_at: now + 5 };
      const successor = token('h2', 'a', 1);
      assert.equal(await store.compareAndSet(id('a'), 1, update, successor), false);
      assert.equal(await store.find(successor.token_hash, id('a')), undefined);
      assert.equal(await store.compareAndSet(id('a'), 0, update, successor), true);
      const after = family('a', { ...update, revision: 1 });
      assert.deepEqual(await store.find(successor.token_hash, id('a')), {
        token: successor,
        family: after,
      });
      assert.deepEqual((await store.find(token('h1', 'a').token_hash, id('a')))!.family, after);
      // The same revision again: the write already happened.
      assert.equal(await store.compareAndSet(id('a'), 0, update), false);
      assert.equal(await store.compareAndSet(id('missing'), 0, update), false);
    });

    it('records a use without rotating: only last_used_at changes, and the revision', async () => {
      const store = await makeStore();
      const { family, token, id, now } = fixture();
      const fixed = family('a', { rotating: false });
      await store.create(fixed, token('h1', 'a'));
      assert.equal(await store.compareAndSet(id('a'), 0, { last_used_at: now + 60_000 }), true);
      assert.deepEqual((await store.find(token('h1', 'a').token_hash, id('a')))!.family, {
        ...fixed,
        last_used_at: now + 60_000,
        revision: 1,
      });
    });

    it('lets exactly one of many concurrent compare-and-sets on one revision win', async () => {
      const store = await makeStore();
      const { family, token, id, now } = fixture();
      await store.create(family('a'), token('h1', 'a'));
      const results = await Promise.all(
        Array.from({ length: 10 }, (_, i) =>
          store.compareAndSet(
            id('a'),
            0,
            { last_used_at: now + i, generation: 1, rotated_at: now + i },
            token(`s${i}`, 'a', 1),
          ),
        ),
      );
      assert.equal(results.filter(Boolean).length, 1);
      const winner = results.indexOf(true);
      for (let i = 0; i < 10; i += 1) {
        const found = await store.find(token(`s${i}`, 'a').token_hash, id('a'));
        assert.equal(found !== undefined, i === winner, `successor ${i}`);
      }
      const { family: after } = (await store.find(token('h1', 'a').token_hash, id('a')))!;
      assert.deepEqual(
        after,
        family('a', {
          last_used_at: now + winner,
          generation: 1,
          rotated_at: now + winner,
          revision: 1,
        }),
      );
    });

    it('revokes a family once, bumping its revision so writes in flight fail', async () => {
      const store = await makeStore();
      const { family, token, id, now } = fixture();
      await store.create(family('a'), token('h1', 'a'));
      assert.equal(await store.revokeFamily(id('a'), now + 7), true);
      assert.equal(await store.revokeFamily(id('a'), now + 8), false);
      assert.equal(await store.revokeFamily(id('missing'), now), false);
      const { family: revoked } = (await store.find(token('h1', 'a').token_hash, id('a')))!;
      assert.deepEqual(revoked, family('a', { revoked_at: now + 7, revision: 1 }));
      assert.equal(await store.compareAndSet(id('a'), 1, { last_used_at: now + 9 }), false);
      assert.equal(await store.compareAndSet(id('a'), 0, { last_used_at: now + 9 }), false);
    });

    it('lists a user’s families, revoked ones included, and no one else’s', async () => {
      const store = await makeStore();
      const { family, token, id, user, now } = fixture();
      const bob = `auth0|bob-${randomUUID()}`;
      await store.create(family('a'), token('h1', 'a'));
      await store.create(family('b', { client_id: 'spa' }), token('h2', 'b'));
      await store.create(family('c', { user_id: bob }), token('h3', 'c'));
      await store.revokeFamily(id('b'), now);
      const listed = await store.listFamilies(user);
      assert.deepEqual(listed, [
        family('a'),
        family('b', { client_id: 'spa', revoked_at: now, revision: 1 }),
      ]);
      assert.deepEqual(
        (await store.listFamilies(bob)).map((f) => f.family_id),
        [id('c')],
      );
      assert.deepEqual(await store.listFamilies(`auth0|nobody-${randomUUID()}`), []);
    });

    it('lists a user’s families in the order they were created, also within one millisecond', async () => {
      const store = await makeStore();
      const { family, token, id, user, now } = fixture();
      for (const name of ['c', 'a', 'b']) await store.create(family(name), token(`h${name}`, name));
      await store.revokeFamily(id('a'), now);
      const listed = await store.listFamilies(user);
      assert.deepEqual(
        listed.map((f) => f.family_id),
        [id('c'), id('a'), id('b')],
      );
    });

    it('lists every family of many created at once for one user, each once', async () => {
      const store = await makeStore();
      const { family, token, id, user } = fixture();
      const names = Array.from({ length: 30 }, (_, i) => `f${i}`);
      await Promise.all(names.map((name) => store.create(family(name), token(`h${name}`, name))));
      const listed = (await store.listFamilies(user)).map((f) => f.family_id);
      assert.deepEqual([...listed].sort(), names.map(id).sort());
    });
  });
}
