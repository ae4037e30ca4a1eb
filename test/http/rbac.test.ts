import { expect } from 'chai';

import type { JWTPayload } from 'jose';

import type { Response } from 'supertest';
import { MemoryPermissionStore } from '../../lib/index.js';
import type {
  CustomTokenExchangeOptions,
  PermissionResolver,
  TokenDialect,
  User,
} from '../../lib/index.js';
import { API, ISSUER, RS_API, exchangeBody, testServer } from '../support/fixtures.js';
import type { TestServer } from '../support/fixtures.js';
import {
  newestEntry as newest,
  postToken,
  verifyToken,
  expectIssued,
} from '../support/token-requests.js';
import { APP, NO_STORE, SERVER_ERROR } from '../support/oauth-responses.js';

const TOKEN_DIALECT_ERROR =
  'options.resourceServers[0].token_dialect must be one of access_token, access_token_authz, rfc9068_profile, rfc9068_profile_authz';

const servers: TestServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.cte.close()));
});

async function started(overrides: Partial<CustomTokenExchangeOptions>): Promise<TestServer> {
  const server = await testServer(overrides);
  servers.push(server);
  return server;
}

/**
 * A store where alice holds `read:orders` of the orders API through a role, and `read:stuff` of
 * another API directly: the other API's permission must never reach an orders token.
 */
async function storeServer(): Promise<TestServer> {
  const server = await started({ permissions: { store: new MemoryPermissionStore() } });
  const role = await server.cte.permissions.create({ name: 'orders-reader' });
  await server.cte.permissions.rolePermissions.add(role.id, [
    { resource_server_identifier: API, permission_name: 'read:orders' },
  ]);
  await server.cte.permissions.userRoles.assign('auth0|alice', [role.id]);
  await server.cte.permissions.userPermissions.add('auth0|alice', [
    { resource_server_identifier: RS_API, permission_name: 'read:stuff' },
  ]);
  return server;
}

function exchange(server: TestServer, scope: string): Promise<Response> {
  return postToken(server, exchangeBody({ scope }), { auth: APP });
}

function refresh(server: TestServer, refreshToken: string): Promise<Response> {
  return postToken(server, { grant_type: 'refresh_token', refresh_token: refreshToken });
}

async function claimsOf(server: TestServer, token: string): Promise<JWTPayload> {
  return (await verifyToken(server, token, API)).payload;
}

/** The whole access token of alice for the orders API. */
function expectAccessToken(claims: JWTPayload, scope: string, permissions?: string[]): void {
  expect(claims).to.deep.equal({
    iss: ISSUER,
    sub: 'auth0|alice',
    aud: API,
    iat: claims.iat,
    exp: (claims.iat ?? 0) + 3600,
    jti: claims.jti,
    client_id: 'app',
    scope,
    ...(permissions === undefined ? {} : { permissions }),
  });
}

describe('role-based access control (enforce_policies, token_dialect)', () => {
  const dialects: Array<{ dialect: TokenDialect; claim: boolean }> = [
    { dialect: 'access_token', claim: false },
    { dialect: 'access_token_authz', claim: true },
    { dialect: 'rfc9068_profile', claim: false },
    { dialect: 'rfc9068_profile_authz', claim: true },
  ];
  for (const { dialect, claim } of dialects) {
    for (const enforce of [true, false]) {
      it(`${dialect}, enforce_policies ${enforce}: scope ${enforce ? 'narrowed to the permissions' : 'as requested'}, permissions claim ${claim ? 'present' : 'absent'}`, async () => {
        const server = await storeServer();
        await server.cte.resourceServers.update(API, {
          enforce_policies: enforce,
          token_dialect: dialect,
        });
        const res = await exchange(server, 'openid read:orders write:orders');
        const scope = enforce ? 'openid read:orders' : 'openid read:orders write:orders';
        expectIssued(res, {
          scope,
          id_token: res.body.id_token,
        });
        const claims = await claimsOf(server, res.body.access_token);
        expectAccessToken(claims, scope, claim ? ['read:orders'] : undefined);
        const entry = await newest(server);
        expect(entry).to.deep.include({
          type: 'secte',
          client_id: 'app',
          audience: API,
          scope,
          user_id: 'auth0|alice',
        });
        expect(entry.details).to.deep.include({ access_token_jti: claims.jti });
      });
    }
  }

  it('the resource server handle shows the two fields when they are not the defaults', async () => {
    const server = await storeServer();
    const updated = await server.cte.resourceServers.update(API, {
      enforce_policies: true,
      token_dialect: 'rfc9068_profile_authz',
    });
    expect(updated).to.deep.include({
      enforce_policies: true,
      token_dialect: 'rfc9068_profile_authz',
    });
    expect(await server.cte.resourceServers.get(RS_API)).not.to.have.any.keys(
      'enforce_policies',
      'token_dialect',
    );
  });

  it('a host resolver: asked with the user and the audience, its answer narrows the scope and fills the claim', async () => {
    const calls: Array<[string, string]> = [];
    const resolve: PermissionResolver = async (user: User, audience: string) => {
      calls.push([user.user_id, audience]);
      return ['write:orders', 'export:orders'];
    };
    const server = await started({ permissions: { resolve } });
    await server.cte.resourceServers.update(API, {
      enforce_policies: true,
      token_dialect: 'access_token_authz',
    });
    const res = await exchange(server, 'read:orders write:orders');
    expectIssued(res, {
      scope: 'write:orders',
    });
    expectAccessToken(await claimsOf(server, res.body.access_token), 'write:orders', [
      'write:orders',
      'export:orders',
    ]);
    expect(calls).to.deep.equal([['auth0|alice', API]]);
    expect(await newest(server)).to.deep.include({ type: 'secte', scope: 'write:orders' });
  });

  it('an API without RBAC never asks the resolver', async () => {
    let asked = 0;
    const server = await started({
      permissions: {
        resolve: async () => {
          asked += 1;
          return [];
        },
      },
    });
    const res = await exchange(server, 'read:orders write:orders');
    expect(res.status, JSON.stringify(res.body)).to.equal(200);
    expect(res.body.scope).to.equal('read:orders write:orders');
    expect(asked).to.equal(0);
  });

  const failures: Array<{ name: string; resolve: PermissionResolver; cause: string }> = [
    {
      name: 'rejects',
      resolve: async () => {
        throw new Error('directory down');
      },
      cause: 'permission resolver failed: Error: directory down',
    },
    {
      name: 'throws synchronously',
      resolve: () => {
        throw new TypeError('bad host code');
      },
      cause: 'permission resolver failed: TypeError: bad host code',
    },
    {
      name: 'answers something other than strings',
      resolve: async () => [1, 2] as unknown as string[],
      cause: 'permission resolver did not answer with an array of strings',
    },
  ];
  for (const { name, resolve, cause } of failures) {
    it(`a resolver that ${name}: 500 server_error, the cause in the fecte entry only`, async () => {
      const server = await started({ permissions: { resolve } });
      await server.cte.resourceServers.update(API, { enforce_policies: true });
      const res = await exchange(server, 'read:orders');
      expect(res.status, JSON.stringify(res.body)).to.equal(500);
      expect(res.headers).to.include(NO_STORE);
      expect(res.body).to.deep.equal(SERVER_ERROR);
      const entry = await newest(server);
      expect(entry).to.deep.include({ type: 'fecte', client_id: 'app', audience: API });
      expect(entry.details).to.deep.include({ ...SERVER_ERROR, cause });
    });
  }

  it('a resolver that does not answer within timeoutMs: 503 temporarily_unavailable with Retry-After', async function () {
    this.timeout(5000);
    const server = await started({
      permissions: { resolve: () => new Promise<string[]>(() => {}), timeoutMs: 50 },
    });
    await server.cte.resourceServers.update(API, { enforce_policies: true });
    const res = await exchange(server, 'read:orders');
    expect(res.status, JSON.stringify(res.body)).to.equal(503);
    expect(res.headers).to.include({ ...NO_STORE, 'retry-after': '5' });
    expect(res.body).to.deep.equal({
      error: 'temporarily_unavailable',
      error_description: 'The server is busy; retry later.',
    });
    const entry = await newest(server);
    expect(entry).to.deep.include({ type: 'fecte', audience: API });
    expect(entry.details).to.deep.include({
      error: 'temporarily_unavailable',
      cause: 'StoreUnavailableError: permission resolver: no answer within 50 ms',
    });
  });
});

describe('role-based access control on refresh', () => {
  it('re-reads the permissions at refresh time: a permission taken away leaves the scope', async () => {
    const server = await storeServer();
    await server.cte.resourceServers.update(API, {
      enforce_policies: true,
      allow_offline_access: true,
      token_dialect: 'access_token_authz',
    });
    const [role] = await server.cte.permissions.list();
    await server.cte.permissions.rolePermissions.add(role!.id, [
      { resource_server_identifier: API, permission_name: 'write:orders' },
    ]);
    const first = await exchange(server, 'offline_access read:orders write:orders');
    expect(first.status, JSON.stringify(first.body)).to.equal(200);
    expect(first.body.scope).to.equal('offline_access read:orders write:orders');

    await server.cte.permissions.rolePermissions.remove(role!.id, [
      { resource_server_identifier: API, permission_name: 'write:orders' },
    ]);
    const res = await refresh(server, first.body.refresh_token);
    expect(res.status, JSON.stringify(res.body)).to.equal(200);
    expect(res.body).to.deep.equal({
      access_token: res.body.access_token,
      token_type: 'Bearer',
      expires_in: 3600,
      scope: 'offline_access read:orders',
      refresh_token: res.body.refresh_token,
    });
    expectAccessToken(await claimsOf(server, res.body.access_token), 'offline_access read:orders', [
      'read:orders',
    ]);
    expect(await newest(server)).to.deep.include({
      type: 'sertft',
      audience: API,
      scope: 'offline_access read:orders',
    });
  });

  it('a resolver failing at refresh time answers 500 and does not rotate the refresh token', async () => {
    let failing = false;
    const server = await started({
      permissions: {
        resolve: async () => {
          if (failing) throw new Error('directory down');
          return ['read:orders'];
        },
      },
    });
    await server.cte.resourceServers.update(API, {
      enforce_policies: true,
      allow_offline_access: true,
    });
    const first = await exchange(server, 'offline_access read:orders');
    expect(first.status, JSON.stringify(first.body)).to.equal(200);
    failing = true;
    const refused = await refresh(server, first.body.refresh_token);
    expect(refused.status, JSON.stringify(refused.body)).to.equal(500);
    expect(refused.body).to.deep.equal(SERVER_ERROR);
    const entry = await newest(server);
    expect(entry).to.deep.include({ type: 'fertft', audience: API });
    expect(entry.details).to.deep.include({
      cause: 'permission resolver failed: Error: directory down',
    });
    failing = false;
    const res = await refresh(server, first.body.refresh_token);
    expect(res.status, JSON.stringify(res.body)).to.equal(200);
    expect(res.body.scope).to.equal('offline_access read:orders');
  });
});

describe('role-based access control is never silently off', () => {
  it('an API with enforce_policies or an _authz dialect is refused at construction without options.permissions', async () => {
    for (const setting of [
      { enforce_policies: true },
      { token_dialect: 'access_token_authz' as const },
      { token_dialect: 'rfc9068_profile_authz' as const },
    ]) {
      let thrown: unknown;
      try {
        await testServer({ resourceServers: [{ identifier: API, ...setting }] });
      } catch (err) {
        thrown = err;
      }
      expect(thrown).to.be.instanceOf(TypeError);
      expect((thrown as Error).message).to.equal(
        'customTokenExchange: options.resourceServers[0] asks for role-based access control ' +
          '(enforce_policies or an _authz token_dialect) but options.permissions is absent: ' +
          'give it a resolve function or a store',
      );
    }
  });

  it('nor can the handle turn it on later without options.permissions', async () => {
    const server = await started({});
    let thrown: unknown;
    try {
      await server.cte.resourceServers.update(API, { enforce_policies: true });
    } catch (err) {
      thrown = err;
    }
    expect(thrown).to.include({
      name: 'ManagementError',
      code: 'invalid_body',
      message:
        'resourceServer asks for role-based access control (enforce_policies or an _authz ' +
        'token_dialect) but options.permissions is absent: give it a resolve function or a store',
    });
    const res = await exchange(server, 'read:orders write:orders');
    expect(res.body.scope).to.equal('read:orders write:orders');
  });

  it('options.permissions needs exactly one of resolve and store, and a token_dialect Auth0 knows', async () => {
    const cases: Array<[Partial<CustomTokenExchangeOptions>, string]> = [
      [
        { permissions: {} },
        'options.permissions needs exactly one of resolve (a PermissionResolver) and store (a PermissionStore)',
      ],
      [
        {
          permissions: {
            resolve: async () => [],
            store: new MemoryPermissionStore(),
          },
        },
        'options.permissions needs exactly one of resolve (a PermissionResolver) and store (a PermissionStore)',
      ],
      [
        { permissions: { store: {} as MemoryPermissionStore } },
        'options.permissions.store.createRole must be a function (see the PermissionStore interface)',
      ],
      [
        { permissions: { resolve: async () => [], timeoutMs: 0 } },
        'options.permissions.timeoutMs must be an integer from 1 to 600000',
      ],
      [
        {
          resourceServers: [{ identifier: API, token_dialect: 'jwt' as unknown as TokenDialect }],
        },
        TOKEN_DIALECT_ERROR,
      ],
    ];
    for (const [overrides, message] of cases) {
      let thrown: unknown;
      try {
        await testServer(overrides);
      } catch (err) {
        thrown = err;
      }
      expect(thrown, message).to.be.instanceOf(TypeError);
      expect((thrown as Error).message).to.equal(
        message.startsWith('customTokenExchange:') ? message : `customTokenExchange: ${message}`,
      );
    }
  });
});
