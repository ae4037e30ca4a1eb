import { expect } from 'chai';
import type { UserOutcome } from '../../lib/actions/action-outcome.js';
import type { SetUserByConnectionOptions, UserAttributes } from '../../lib/sandbox/action-types.js';
import { OAuthError } from '../../lib/errors.js';
import { MemoryUserStore, type SeedUser } from '../../lib/users/memory-user-store.js';
import { resolveUser } from '../../lib/users/set-user.js';
import type { NewConnectionUser, User, UserStore, UserUpdate } from '../../lib/users/user-store.js';
import { rejectionAs } from '../support/rejections.js';

const T0 = Date.parse('2025-01-01T00:00:00.000Z');
const AT_T0 = '2025-01-01T00:00:00.000Z';
const AT_T1 = '2025-01-01T00:00:01.000Z';

/** A store whose clock reads T0 while seeding and T0 + 1 s afterwards. */
function storeWith(users: SeedUser[] = []): MemoryUserStore {
  let now = T0;
  const store = new MemoryUserStore(users, { now: () => now });
  now = T0 + 1000;
  return store;
}

const partnerIdentity = {
  connection: 'partner',
  user_id: 'p1',
  provider: 'partner',
  isSocial: false,
};

/** Grace's id and the attributes an update of her profile never changes (immutable). */
const GRACE_IMMUTABLE = {
  user_id: 'partner|p1',
  email: 'grace@example.com',
  email_verified: true,
  username: 'grace',
  phone_number: '+14155550100',
  phone_verified: false,
};

/** An existing user of the `partner` connection. */
const grace: SeedUser = {
  ...GRACE_IMMUTABLE,
  name: 'Grace Hopper',
  nickname: 'amazing grace',
  identities: [{ connection: 'partner', user_id: 'p1' }],
  app_metadata: { plan: 'gold', region: 'eu' },
  user_metadata: { lang: 'en' },
  logins_count: 4,
};

const byId = (user_id: string, extra: Partial<UserOutcome> = {}): UserOutcome => ({
  kind: 'user',
  selection: { type: 'id', user_id },
  app_metadata: {},
  user_metadata: {},
  ...extra,
});

const byConnection = (
  attributes: UserAttributes,
  options: SetUserByConnectionOptions,
  extra: Partial<UserOutcome> = {},
): UserOutcome => ({
  kind: 'user',
  selection: { type: 'connection', connection: 'partner', attributes, options },
  app_metadata: {},
  user_metadata: {},
  ...extra,
});

const rejection = (promise: Promise<unknown>) => rejectionAs(promise, OAuthError);

/** Grace as stored after one more login at T0 + 1 s, with `changes`. */
function graceAfterLogin(changes: Partial<User> = {}): User {
  return {
    ...GRACE_IMMUTABLE,
    name: 'Grace Hopper',
    nickname: 'amazing grace',
    identities: [partnerIdentity],
    app_metadata: { plan: 'gold', region: 'eu' },
    user_metadata: { lang: 'en' },
    created_at: AT_T0,
    updated_at: AT_T1,
    logins_count: 5,
    ...changes,
  };
}

describe('resolveUser', () => {
  describe('setUserById', () => {
    it('returns the existing user with one more login and the metadata merged', async () => {
      const store = storeWith([grace]);
      const user = await resolveUser(
        store,
        byId('partner|p1', {
          app_metadata: { plan: null, seats: 3 },
          user_metadata: { lang: 'fr' },
        }),
      );
      const expected = graceAfterLogin({
        app_metadata: { region: 'eu', seats: 3 },
        user_metadata: { lang: 'fr' },
      });
      expect(user).to.deep.equal(expected);
      expect(store.getById('partner|p1')).to.deep.equal(expected);
    });

    it('refuses a missing user with 400 invalid_request "user does not exist"', async () => {
      const error = await rejection(resolveUser(storeWith(), byId('auth0|nobody')));
      expect(error.status).to.equal(400);
      expect(error.toJSON()).to.deep.equal({
        error: 'invalid_request',
        error_description: 'user does not exist',
      });
      expect(error.privateCause).to.equal('setUserById: no user with user_id "auth0|nobody"');
    });

    it('refuses a blocked user with 401 unauthorized "user is blocked" and records no login', async () => {
      const store = storeWith([{ ...grace, blocked: true }]);
      const error = await rejection(
        resolveUser(store, byId('partner|p1', { app_metadata: { x: 1 } })),
      );
      expect(error.status).to.equal(401);
      expect(error.toJSON()).to.deep.equal({
        error: 'unauthorized',
        error_description: 'user is blocked',
      });
      expect(error.privateCause).to.equal('user "partner|p1" is blocked');
      expect(store.getById('partner|p1')).to.deep.include({
        logins_count: 4,
        app_metadata: { plan: 'gold', region: 'eu' },
      });
    });
  });

  describe('setUserByConnection, user missing', () => {
    it('with creationBehavior none: 400 invalid_request "user does not exist", nothing created', async () => {
      const store = storeWith();
      const error = await rejection(
        resolveUser(
          store,
          byConnection({ user_id: 'p9' }, { creationBehavior: 'none', updateBehavior: 'replace' }),
        ),
      );
      expect(error.status).to.equal(400);
      expect(error.toJSON()).to.deep.equal({
        error: 'invalid_request',
        error_description: 'user does not exist',
      });
      expect(error.privateCause).to.equal(
        'setUserByConnection: no user at connection "partner", user_id "p9" and creationBehavior is none',
      );
      expect(store.list()).to.deep.equal([]);
    });

    it('with create_if_not_exists: creates it from the attributes, verified flags default to false', async () => {
      const store = storeWith();
      const user = await resolveUser(
        store,
        byConnection(
          {
            user_id: 'p9',
            email: 'ada@example.com',
            name: 'Ada',
            picture: 'https://example.com/a.png',
            verify_email: false,
          },
          { creationBehavior: 'create_if_not_exists', updateBehavior: 'none' },
          { app_metadata: { plan: 'trial', gone: null }, user_metadata: { lang: 'en' } },
        ),
      );
      const expected: User = {
        user_id: 'partner|p9',
        email: 'ada@example.com',
        email_verified: false,
        phone_verified: false,
        name: 'Ada',
        picture: 'https://example.com/a.png',
        identities: [
          { connection: 'partner', user_id: 'p9', provider: 'partner', isSocial: false },
        ],
        app_metadata: { plan: 'trial' },
        user_metadata: { lang: 'en' },
        created_at: AT_T1,
        updated_at: AT_T1,
        logins_count: 1,
      };
      expect(user).to.deep.equal(expected);
      expect(store.getByIdentity('partner', 'p9')).to.deep.equal(expected);
    });

    it('keeps verified flags the action gave', async () => {
      const user = await resolveUser(
        storeWith(),
        byConnection(
          {
            user_id: 'p9',
            email: 'ada@example.com',
            email_verified: true,
            phone_number: '+33123456789',
            phone_verified: true,
          },
          { creationBehavior: 'create_if_not_exists', updateBehavior: 'replace' },
        ),
      );
      expect(user).to.deep.include({
        email_verified: true,
        phone_verified: true,
        phone_number: '+33123456789',
      });
    });

    it('creates, then writes metadata and the login in one update', async () => {
      const calls: string[] = [];
      const memory = storeWith();
      const store: UserStore = {
        getById: (id) => memory.getById(id),
        getByIdentity: (connection, id) => memory.getByIdentity(connection, id),
        create: (user: NewConnectionUser) => {
          calls.push(`create ${JSON.stringify(user)}`);
          return memory.create(user);
        },
        update: async (id: string, update: UserUpdate) => {
          calls.push(`update ${id} ${JSON.stringify(update)}`);
          return memory.update(id, update);
        },
      };
      await resolveUser(
        store,
        byConnection(
          { user_id: 'p9', name: 'Ada' },
          { creationBehavior: 'create_if_not_exists', updateBehavior: 'replace' },
          { app_metadata: { plan: 'trial' } },
        ),
      );
      expect(calls).to.deep.equal([
        'create {"connection":"partner","connection_user_id":"p9","profile":{"name":"Ada","email_verified":false,"phone_verified":false}}',
        'update partner|p9 {"recordLogin":true,"app_metadata":{"plan":"trial"}}',
      ]);
    });

    it('when another exchange created the user meanwhile, treats it as existing (replace applies)', async () => {
      const memory = storeWith([grace]);
      let firstLookup = true;
      const racing: UserStore = {
        getById: (id) => memory.getById(id),
        // The first lookup misses, as if the other exchange's create landed right after it.
        getByIdentity: (connection, id) => {
          if (firstLookup) {
            firstLookup = false;
            return undefined;
          }
          return memory.getByIdentity(connection, id);
        },
        create: (user) => memory.create(user),
        update: (id, update) => memory.update(id, update),
      };
      const user = await resolveUser(
        racing,
        byConnection(
          { user_id: 'p1', name: 'Grace B. Hopper' },
          { creationBehavior: 'create_if_not_exists', updateBehavior: 'replace' },
        ),
      );
      // nickname was not given to replace: removed.
      const { nickname: _removed, ...expected } = graceAfterLogin({ name: 'Grace B. Hopper' });
      expect(user).to.deep.equal(expected);
    });

    it('rethrows the store error when create fails and the user still does not exist', async () => {
      const memory = storeWith();
      const failing: UserStore = {
        getById: (id) => memory.getById(id),
        getByIdentity: (connection, id) => memory.getByIdentity(connection, id),
        create: () => {
          throw new Error('database unavailable');
        },
        update: (id, update) => memory.update(id, update),
      };
      try {
        await resolveUser(
          failing,
          byConnection(
            { user_id: 'p9' },
            { creationBehavior: 'create_if_not_exists', updateBehavior: 'none' },
          ),
        );
        expect.fail('expected the store error');
      } catch (err) {
        expect(err).to.be.instanceOf(Error).with.property('message', 'database unavailable');
      }
    });
  });

  describe('setUserByConnection, user existing', () => {
    it('with replace: the profile becomes the attributes, immutable ones kept when absent', async () => {
      const store = storeWith([grace]);
      const user = await resolveUser(
        store,
        byConnection(
          { user_id: 'p1', given_name: 'Grace', family_name: 'Hopper', verify_email: true },
          { creationBehavior: 'none', updateBehavior: 'replace' },
          { user_metadata: { lang: null } },
        ),
      );
      const expected: User = {
        // Immutable attributes, absent from the call: kept.
        ...GRACE_IMMUTABLE,
        // name and nickname were not given: removed. verify_email is never stored.
        given_name: 'Grace',
        family_name: 'Hopper',
        identities: [partnerIdentity],
        app_metadata: { plan: 'gold', region: 'eu' },
        user_metadata: {},
        created_at: AT_T0,
        updated_at: AT_T1,
        logins_count: 5,
      };
      expect(user).to.deep.equal(expected);
      expect(store.getById('partner|p1')).to.deep.equal(expected);
    });

    it('with replace: immutable attributes given with the stored values are accepted', async () => {
      const user = await resolveUser(
        storeWith([grace]),
        byConnection(
          {
            user_id: 'p1',
            email: 'grace@example.com',
            email_verified: true,
            username: 'grace',
            phone_number: '+14155550100',
            phone_verified: false,
            name: 'Grace',
          },
          { creationBehavior: 'none', updateBehavior: 'replace' },
        ),
      );
      const { nickname: _removed, ...expected } = graceAfterLogin({ name: 'Grace' });
      expect(user).to.deep.equal(expected);
    });

    const changes: Array<[string, Partial<UserAttributes>]> = [
      ['email', { email: 'other@example.com' }],
      ['email_verified', { email_verified: false }],
      ['phone_number', { phone_number: '+14155550199' }],
      ['phone_verified', { phone_verified: true }],
      ['username', { username: 'gracie' }],
    ];
    for (const [attribute, change] of changes) {
      it(`with replace: changing ${attribute} fails closed with server_error naming it, nothing written`, async () => {
        const store = storeWith([grace]);
        const error = await rejection(
          resolveUser(
            store,
            byConnection(
              { user_id: 'p1', ...change },
              { creationBehavior: 'none', updateBehavior: 'replace' },
              { app_metadata: { x: 1 } },
            ),
          ),
        );
        expect(error.status).to.equal(500);
        expect(error.error).to.equal('server_error');
        expect(error.privateCause).to.equal(
          `setUserByConnection with updateBehavior replace may not change ${attribute} of the existing user (connection "partner", user_id "p1")`,
        );
        expect(store.getById('partner|p1')).to.deep.equal(
          graceAfterLogin({ updated_at: AT_T0, logins_count: 4 }),
        );
      });
    }

    it('with replace: giving an email to a user who had none is a change too', async () => {
      const store = storeWith([
        { user_id: 'partner|p2', identities: [{ connection: 'partner', user_id: 'p2' }] },
      ]);
      const error = await rejection(
        resolveUser(
          store,
          byConnection(
            { user_id: 'p2', email: 'new@example.com' },
            { creationBehavior: 'none', updateBehavior: 'replace' },
          ),
        ),
      );
      expect(error.privateCause).to.contain('may not change email');
    });

    it('with none: the profile is left alone, even with different attributes', async () => {
      const store = storeWith([grace]);
      const user = await resolveUser(
        store,
        byConnection(
          { user_id: 'p1', email: 'other@example.com', name: 'Someone Else' },
          { creationBehavior: 'create_if_not_exists', updateBehavior: 'none' },
          { app_metadata: { seats: 1 } },
        ),
      );
      expect(user).to.deep.equal(
        graceAfterLogin({ app_metadata: { plan: 'gold', region: 'eu', seats: 1 } }),
      );
    });

    for (const updateBehavior of ['replace', 'none'] as const) {
      it(`refuses a blocked user with 401 (updateBehavior ${updateBehavior}), before checking attributes`, async () => {
        const store = storeWith([{ ...grace, blocked: true }]);
        const error = await rejection(
          resolveUser(
            store,
            byConnection(
              { user_id: 'p1', email: 'changed@example.com' },
              { creationBehavior: 'none', updateBehavior },
            ),
          ),
        );
        expect(error.status).to.equal(401);
        expect(error.toJSON()).to.deep.equal({
          error: 'unauthorized',
          error_description: 'user is blocked',
        });
        expect(store.getById('partner|p1')?.logins_count).to.equal(4);
      });
    }

    it('finds the user only within the given connection', async () => {
      const store = storeWith([grace]);
      const outcome: UserOutcome = {
        kind: 'user',
        selection: {
          type: 'connection',
          connection: 'other',
          attributes: { user_id: 'p1' },
          options: { creationBehavior: 'none', updateBehavior: 'none' },
        },
        app_metadata: {},
        user_metadata: {},
      };
      const error = await rejection(resolveUser(store, outcome));
      expect(error.description).to.equal('user does not exist');
    });
  });
});
