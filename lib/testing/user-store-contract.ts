import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type { UserDecision } from '../users/user-selection.js';
import { resolveUser } from '../users/set-user.js';
import type { User, UserStore } from '../users/user-store.js';
import { rejectionOf, testApi, type ContractOptions, type StoreFactory } from './contract-api.js';

/**
 * Registers the tests every {@link UserStore} must pass: creation and both lookups, updates
 * (profile replaced, metadata merged with `null` removing a key, logins counted), copies that
 * cannot change the store, and one user for one new identity however many exchanges create it
 * at once. `makeStore` may answer stores over one shared backend: each test uses connections of
 * its own.
 */
export function userStoreContract(
  makeStore: StoreFactory<UserStore>,
  options: ContractOptions = {},
): void {
  const { describe, it } = testApi(options);
  const connection = () => `conn-${randomUUID()}`;

  describe(options.name ?? 'UserStore contract', () => {
    it('answers undefined for a user or identity it does not have', async () => {
      const store = await makeStore();
      assert.equal(await store.getById(`none|${randomUUID()}`), undefined);
      assert.equal(await store.getByIdentity(connection(), 'nobody'), undefined);
    });

    it('creates {connection}|{id} with one identity, found by id and by identity', async () => {
      const store = await makeStore();
      const conn = connection();
      const before = Date.now();
      const created = await store.create({
        connection: conn,
        connection_user_id: 'u1',
        profile: { email: 'ada@example.com', email_verified: false, name: 'Ada' },
        app_metadata: { plan: 'gold', gone: null },
        user_metadata: { lang: 'en', nested: { a: [1, 'two', true] } },
      });
      assert.equal(created.user_id, `${conn}|u1`);
      assert.deepEqual(created.identities, [
        { connection: conn, user_id: 'u1', provider: conn, isSocial: false },
      ]);
      assert.equal(created.email, 'ada@example.com');
      assert.equal(created.email_verified, false);
      assert.equal(created.name, 'Ada');
      assert.equal(created.username, undefined);
      assert.deepEqual(created.app_metadata, { plan: 'gold' });
      assert.deepEqual(created.user_metadata, { lang: 'en', nested: { a: [1, 'two', true] } });
      assert.equal(created.logins_count ?? 0, 0);
      assert.ok(created.blocked !== true);
      assert.ok(Date.parse(created.created_at) >= before - 1000);
      assert.equal(created.updated_at, created.created_at);
      assert.deepEqual(await store.getById(created.user_id), created);
      assert.deepEqual(await store.getByIdentity(conn, 'u1'), created);
    });

    it('refuses to create an identity that exists, and changes nothing', async () => {
      const store = await makeStore();
      const conn = connection();
      const first = await store.create({ connection: conn, connection_user_id: 'u1', profile: {} });
      const error = await rejectionOf(() =>
        store.create({ connection: conn, connection_user_id: 'u1', profile: { name: 'Eve' } }),
      );
      assert.ok(error instanceof Error);
      assert.deepEqual(await store.getById(first.user_id), first);
    });

    it('replaces the profile, merges metadata (null removes a key) and counts logins', async () => {
      const store = await makeStore();
      const conn = connection();
      const created = await store.create({
        connection: conn,
        connection_user_id: 'u1',
        profile: { email: 'a@example.com', nickname: 'a', picture: 'https://example.com/a.png' },
        app_metadata: { plan: 'gold', region: 'eu' },
        user_metadata: { lang: 'en' },
      });
      const updated = await store.update(created.user_id, {
        profile: { email: 'a@example.com', name: 'A' },
        app_metadata: { plan: null, tier: 2 },
        user_metadata: { lang: 'fr', theme: { dark: true } },
        recordLogin: true,
      });
      assert.equal(updated.name, 'A');
      assert.equal(updated.nickname, undefined);
      assert.equal(updated.picture, undefined);
      assert.deepEqual(updated.app_metadata, { region: 'eu', tier: 2 });
      assert.deepEqual(updated.user_metadata, { lang: 'fr', theme: { dark: true } });
      assert.equal(updated.logins_count, 1);
      assert.deepEqual(updated.identities, created.identities);
      assert.equal(updated.created_at, created.created_at);
      // Without a profile, the profile stays.
      const again = await store.update(created.user_id, { recordLogin: true });
      assert.equal(again.name, 'A');
      assert.equal(again.logins_count, 2);
      assert.deepEqual(await store.getByIdentity(conn, 'u1'), again);
    });

    it('rejects an update of a user it does not have', async () => {
      const store = await makeStore();
      const error = await rejectionOf(() =>
        store.update(`none|${randomUUID()}`, { recordLogin: true }),
      );
      assert.ok(error instanceof Error);
    });

    it('answers copies: changing what it answered changes nothing stored', async () => {
      const store = await makeStore();
      const conn = connection();
      const created = await store.create({
        connection: conn,
        connection_user_id: 'u1',
        profile: {},
        app_metadata: { list: [1] },
      });
      (created.app_metadata.list as number[]).push(2);
      created.identities.push({ connection: 'x', user_id: 'y', provider: 'x', isSocial: true });
      const read = (await store.getById(created.user_id))!;
      read.user_metadata.added = true;
      const again = (await store.getById(created.user_id))!;
      assert.deepEqual(again.app_metadata, { list: [1] });
      assert.deepEqual(again.user_metadata, {});
      assert.equal(again.identities.length, 1);
    });

    it('creates one user when many exchanges create the same new identity at once', async () => {
      const store = await makeStore();
      const conn = connection();
      const outcome: UserDecision = {
        selection: {
          type: 'connection',
          connection: conn,
          attributes: { user_id: 'new', email: 'new@example.com' },
          options: { creationBehavior: 'create_if_not_exists', updateBehavior: 'none' },
        },
        app_metadata: {},
        user_metadata: {},
      };
      const users: User[] = await Promise.all(
        Array.from({ length: 8 }, () => resolveUser(store, outcome)),
      );
      assert.deepEqual(new Set(users.map((user) => user.user_id)), new Set([`${conn}|new`]));
      const stored = (await store.getByIdentity(conn, 'new'))!;
      assert.equal(stored.logins_count, 8);
      assert.equal(stored.email, 'new@example.com');
    });

    it('lets exactly one of concurrent creates of one identity succeed', async () => {
      const store = await makeStore();
      const conn = connection();
      const results = await Promise.allSettled(
        Array.from({ length: 6 }, async () =>
          store.create({ connection: conn, connection_user_id: 'u1', profile: {} }),
        ),
      );
      assert.equal(results.filter((result) => result.status === 'fulfilled').length, 1);
    });
  });
}
