import { expect } from 'chai';
import { MemoryUserStore, type SeedUser } from '../../lib/users/memory-user-store.js';
import type { User } from '../../lib/users/user-store.js';

const T0 = Date.parse('2025-01-01T00:00:00.000Z');

/** A store whose clock reads `T0 + seconds`; `tick()` advances it by one second. */
function storeAt(users: SeedUser[] = []) {
  let seconds = 0;
  const store = new MemoryUserStore(users, { now: () => T0 + seconds * 1000 });
  return {
    store,
    tick: () => void seconds++,
    iso: (s: number) => new Date(T0 + s * 1000).toISOString(),
  };
}

const ada: SeedUser = {
  user_id: 'auth0|ada',
  email: 'ada@example.com',
  email_verified: true,
  name: 'Ada',
  identities: [{ connection: 'Username-Password-Authentication', user_id: 'ada' }],
  app_metadata: { plan: 'gold' },
};

describe('MemoryUserStore', () => {
  describe('seed users', () => {
    it('fills the defaults', () => {
      const { store } = storeAt([ada, { user_id: 'bare' }]);
      expect(store.list()).to.deep.equal([
        {
          user_id: 'auth0|ada',
          email: 'ada@example.com',
          email_verified: true,
          name: 'Ada',
          identities: [
            {
              connection: 'Username-Password-Authentication',
              user_id: 'ada',
              provider: 'Username-Password-Authentication',
              isSocial: false,
            },
          ],
          app_metadata: { plan: 'gold' },
          user_metadata: {},
          created_at: '2025-01-01T00:00:00.000Z',
          updated_at: '2025-01-01T00:00:00.000Z',
          logins_count: 0,
        },
        {
          user_id: 'bare',
          identities: [],
          app_metadata: {},
          user_metadata: {},
          created_at: '2025-01-01T00:00:00.000Z',
          updated_at: '2025-01-01T00:00:00.000Z',
          logins_count: 0,
        },
      ]);
    });

    it('keeps given timestamps, logins, providers and blocked', () => {
      const { store } = storeAt([
        {
          user_id: 'google-oauth2|1',
          blocked: true,
          identities: [
            { connection: 'google-oauth2', user_id: '1', provider: 'google', isSocial: true },
          ],
          created_at: '2024-05-01T10:00:00Z',
          logins_count: 7,
        },
      ]);
      expect(store.getById('google-oauth2|1')).to.deep.equal({
        user_id: 'google-oauth2|1',
        blocked: true,
        identities: [
          { connection: 'google-oauth2', user_id: '1', provider: 'google', isSocial: true },
        ],
        app_metadata: {},
        user_metadata: {},
        created_at: '2024-05-01T10:00:00Z',
        updated_at: '2024-05-01T10:00:00Z',
        logins_count: 7,
      });
    });

    const invalid: Array<[string, unknown[], string]> = [
      ['not an object', [null], 'users[0] must be an object'],
      ['no user_id', [{}], 'users[0].user_id must be a non-empty string'],
      [
        'empty user_id',
        [{ user_id: 'a' }, { user_id: '' }],
        'users[1].user_id must be a non-empty string',
      ],
      ['a typo', [{ user_id: 'a', emial: 'x' }], 'users[0].emial is not a user field'],
      ['email a number', [{ user_id: 'a', email: 1 }], 'users[0].email must be a non-empty string'],
      [
        'email_verified a string',
        [{ user_id: 'a', email_verified: 'yes' }],
        'users[0].email_verified must be a boolean',
      ],
      [
        'blocked a string',
        [{ user_id: 'a', blocked: 'yes' }],
        'users[0].blocked must be a boolean',
      ],
      [
        'identities an object',
        [{ user_id: 'a', identities: {} }],
        'users[0].identities must be an array',
      ],
      [
        'identity without connection',
        [{ user_id: 'a', identities: [{ user_id: '1' }] }],
        'users[0].identities[0].connection must be a non-empty string',
      ],
      [
        'identity without user_id',
        [{ user_id: 'a', identities: [{ connection: 'c' }] }],
        'users[0].identities[0].user_id must be a non-empty string',
      ],
      [
        'identity isSocial a string',
        [{ user_id: 'a', identities: [{ connection: 'c', user_id: '1', isSocial: 'no' }] }],
        'users[0].identities[0].isSocial must be a boolean',
      ],
      [
        'an identity repeated in one user',
        [
          {
            user_id: 'a',
            identities: [
              { connection: 'c', user_id: '1' },
              { connection: 'c', user_id: '1' },
            ],
          },
        ],
        'users[0].identities[1] repeats an identity of the same user',
      ],
      [
        'app_metadata an array',
        [{ user_id: 'a', app_metadata: [] }],
        'users[0].app_metadata must be a plain object',
      ],
      [
        'user_metadata a Date',
        [{ user_id: 'a', user_metadata: new Date() }],
        'users[0].user_metadata must be a plain object',
      ],
      [
        'created_at not a date',
        [{ user_id: 'a', created_at: 'yesterday' }],
        'users[0].created_at must be an ISO 8601 date string',
      ],
      [
        'logins_count negative',
        [{ user_id: 'a', logins_count: -1 }],
        'users[0].logins_count must be a non-negative integer',
      ],
      [
        'a taken user_id',
        [{ user_id: 'a' }, { user_id: 'a' }],
        'users[1].user_id: a user with user_id "a" already exists',
      ],
      [
        'an identity of another user',
        [
          { user_id: 'a', identities: [{ connection: 'c', user_id: '1' }] },
          { user_id: 'b', identities: [{ connection: 'c', user_id: '1' }] },
        ],
        'users[1].identities[0]: identity "1" at connection "c" already belongs to "a"',
      ],
    ];
    for (const [name, users, message] of invalid) {
      it(`refuses ${name} with a TypeError naming the path`, () => {
        expect(() => new MemoryUserStore(users as SeedUser[])).to.throw(TypeError, message);
      });
    }

    it('does not keep a reference to the seed objects', () => {
      const seed = { user_id: 'a', app_metadata: { roles: ['x'] } };
      const { store } = storeAt([seed]);
      seed.app_metadata.roles.push('root');
      expect(store.getById('a')?.app_metadata).to.deep.equal({ roles: ['x'] });
    });
  });

  describe('lookups', () => {
    it('finds by id and by identity; misses resolve undefined', () => {
      const { store } = storeAt([ada]);
      expect(store.getById('auth0|ada')?.name).to.equal('Ada');
      expect(store.getByIdentity('Username-Password-Authentication', 'ada')?.user_id).to.equal(
        'auth0|ada',
      );
      expect(store.getById('nobody')).to.equal(undefined);
      expect(store.getByIdentity('Username-Password-Authentication', 'nobody')).to.equal(undefined);
      expect(store.getByIdentity('other-connection', 'ada')).to.equal(undefined);
    });

    it('returns copies: mutating a result changes nothing in the store', () => {
      const { store } = storeAt([ada]);
      const first = store.getById('auth0|ada') as User;
      first.name = 'Mallory';
      first.blocked = true;
      (first.app_metadata as { plan: string }).plan = 'free';
      first.identities[0]!.user_id = 'mallory';
      const byIdentity = store.getByIdentity('Username-Password-Authentication', 'ada') as User;
      byIdentity.email = 'mallory@example.com';
      store.list()[0]!.user_metadata.x = 1;
      expect(store.getById('auth0|ada')).to.deep.include({
        name: 'Ada',
        email: 'ada@example.com',
        app_metadata: { plan: 'gold' },
        user_metadata: {},
      });
      expect(store.getById('auth0|ada')).to.not.have.property('blocked');
      expect(
        store.getByIdentity('Username-Password-Authentication', 'ada')?.identities[0]?.user_id,
      ).to.equal('ada');
    });
  });

  describe('create', () => {
    it('creates {connection}|{connection_user_id} with one identity and no login yet', () => {
      const { store } = storeAt();
      const created = store.create({
        connection: 'partner',
        connection_user_id: 'p-1',
        profile: { email: 'ada@example.com', email_verified: false, name: 'Ada' },
        app_metadata: { plan: 'trial', gone: null },
      });
      const expected: User = {
        user_id: 'partner|p-1',
        email: 'ada@example.com',
        email_verified: false,
        name: 'Ada',
        identities: [
          { connection: 'partner', user_id: 'p-1', provider: 'partner', isSocial: false },
        ],
        app_metadata: { plan: 'trial' },
        user_metadata: {},
        created_at: '2025-01-01T00:00:00.000Z',
        updated_at: '2025-01-01T00:00:00.000Z',
        logins_count: 0,
      };
      expect(created).to.deep.equal(expected);
      expect(store.getByIdentity('partner', 'p-1')).to.deep.equal(expected);
      expect(store.getById('partner|p-1')).to.deep.equal(expected);
    });

    it('refuses a duplicate and leaves the first user as it was', () => {
      const { store } = storeAt();
      store.create({ connection: 'partner', connection_user_id: 'p-1', profile: { name: 'Ada' } });
      expect(() =>
        store.create({
          connection: 'partner',
          connection_user_id: 'p-1',
          profile: { name: 'Eve' },
        }),
      ).to.throw(Error, 'a user with user_id "partner|p-1" already exists');
      expect(store.getById('partner|p-1')?.name).to.equal('Ada');
      expect(store.list()).to.have.length(1);
    });

    it('refuses an identity that already belongs to a seeded user', () => {
      const { store } = storeAt([
        { user_id: 'legacy-7', identities: [{ connection: 'partner', user_id: '7' }] },
      ]);
      expect(() =>
        store.create({ connection: 'partner', connection_user_id: '7', profile: {} }),
      ).to.throw(Error, 'identity "7" at connection "partner" already belongs to "legacy-7"');
    });

    it('does not keep a reference to the input', () => {
      const { store } = storeAt();
      const input = {
        connection: 'c',
        connection_user_id: '1',
        profile: { name: 'Ada' },
        user_metadata: { tags: ['a'] },
      };
      store.create(input);
      input.profile.name = 'Eve';
      input.user_metadata.tags.push('b');
      expect(store.getById('c|1')).to.deep.include({ name: 'Ada', user_metadata: { tags: ['a'] } });
    });
  });

  describe('update', () => {
    it('replaces the profile, merges metadata (null removes), records a login', () => {
      const { store, tick, iso } = storeAt([
        { ...ada, nickname: 'ada', user_metadata: { lang: 'en', theme: { dark: true, size: 2 } } },
      ]);
      tick();
      const updated = store.update('auth0|ada', {
        profile: { email: 'ada@example.com', given_name: 'Ada' },
        app_metadata: { plan: null, seats: 3 },
        user_metadata: { theme: { dark: false } },
        recordLogin: true,
      });
      const expected: User = {
        user_id: 'auth0|ada',
        email: 'ada@example.com',
        given_name: 'Ada',
        identities: [
          {
            connection: 'Username-Password-Authentication',
            user_id: 'ada',
            provider: 'Username-Password-Authentication',
            isSocial: false,
          },
        ],
        app_metadata: { seats: 3 },
        // A key's value is replaced whole, not merged deeply (Auth0's merge is per top-level key).
        user_metadata: { lang: 'en', theme: { dark: false } },
        created_at: iso(0),
        updated_at: iso(1),
        logins_count: 1,
      };
      expect(updated).to.deep.equal(expected);
      expect(store.getById('auth0|ada')).to.deep.equal(expected);
    });

    it('without a profile keeps it; without recordLogin keeps logins_count; always bumps updated_at', () => {
      const { store, tick, iso } = storeAt([ada]);
      tick();
      tick();
      const updated = store.update('auth0|ada', { user_metadata: { a: 1 } });
      expect(updated).to.deep.include({
        name: 'Ada',
        email: 'ada@example.com',
        email_verified: true,
        user_metadata: { a: 1 },
        logins_count: 0,
        updated_at: iso(2),
      });
    });

    it('stores a "__proto__" metadata key as data', () => {
      const { store } = storeAt([{ user_id: 'a' }]);
      const changes = JSON.parse('{"__proto__": {"polluted": true}}') as Record<string, unknown>;
      const updated = store.update('a', { app_metadata: changes });
      expect(Object.keys(updated.app_metadata)).to.deep.equal(['__proto__']);
      expect(Object.getPrototypeOf(updated.app_metadata)).to.equal(Object.prototype);
      expect(({} as Record<string, unknown>).polluted).to.equal(undefined);
    });

    it('throws for a missing user', () => {
      const { store } = storeAt();
      expect(() => store.update('nobody', { recordLogin: true })).to.throw(
        Error,
        'no user with user_id "nobody"',
      );
    });
  });

  describe('conveniences', () => {
    it('add validates like the seeds, with the path "user"', () => {
      const { store } = storeAt();
      expect(store.add({ user_id: 'a', name: 'Ada' })).to.deep.include({
        user_id: 'a',
        name: 'Ada',
        logins_count: 0,
      });
      expect(() => store.add({ user_id: 'b', name: 7 } as unknown as SeedUser)).to.throw(
        TypeError,
        'user.name must be a non-empty string',
      );
      expect(() => store.add({ user_id: 'a' })).to.throw(
        TypeError,
        'user.user_id: a user with user_id "a" already exists',
      );
    });

    it('delete removes the user and its identities', () => {
      const { store } = storeAt([ada]);
      expect(store.delete('auth0|ada')).to.equal(true);
      expect(store.getById('auth0|ada')).to.equal(undefined);
      expect(store.getByIdentity('Username-Password-Authentication', 'ada')).to.equal(undefined);
      expect(store.delete('auth0|ada')).to.equal(false);
      // The identity is free again.
      store.add({
        user_id: 'new',
        identities: [{ connection: 'Username-Password-Authentication', user_id: 'ada' }],
      });
      expect(store.getByIdentity('Username-Password-Authentication', 'ada')?.user_id).to.equal(
        'new',
      );
    });

    it('setBlocked blocks and unblocks', () => {
      const { store, tick, iso } = storeAt([ada]);
      tick();
      expect(store.setBlocked('auth0|ada', true)).to.deep.include({
        blocked: true,
        updated_at: iso(1),
      });
      expect(store.getById('auth0|ada')?.blocked).to.equal(true);
      expect(store.setBlocked('auth0|ada', false)).to.not.have.property('blocked');
      expect(() => store.setBlocked('nobody', true)).to.throw(
        Error,
        'no user with user_id "nobody"',
      );
    });
  });
});
