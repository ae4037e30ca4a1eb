import { expect } from 'chai';
import {
  createLocalJWKSet,
  decodeProtectedHeader,
  exportJWK,
  generateKeyPair,
  jwtVerify,
} from 'jose';
import request from 'supertest';
import { ManagementError, customTokenExchange } from '../../lib/index.js';
import type { CustomTokenExchangeHandler } from '../../lib/index.js';
import {
  API,
  ISSUER,
  RS_API,
  SECRET,
  SUBJECT_TYPE,
  basic,
  exchangeBody,
  form,
  testServer,
  testSigningKeys,
  profileFor,
} from '../support/fixtures.js';
import type { TestServer } from '../support/fixtures.js';
import { INVALID_CLIENT, APP } from '../support/oauth-responses.js';
import { managementError } from '../support/rejections.js';

const NEW_SECRET = 'rotated-secret-0123456789abcdef';
const PS_API = 'https://ps256.example.com/';
const NEW_TYPE = 'urn:acme:new-legacy-token';
const UNSUPPORTED_TYPE = {
  error: 'invalid_request',
  error_description: 'subject_token_type is not supported',
};

function post(server: TestServer, body: Record<string, string | string[]>, auth = APP) {
  return request(server.app)
    .post('/oauth/token')
    .set('Authorization', auth)
    .type('form')
    .send(form(body));
}

async function jwks(server: TestServer): Promise<{ keys: Array<Record<string, unknown>> }> {
  const res = await request(server.app).get('/.well-known/jwks.json').expect(200);
  return res.body;
}

async function verify(server: TestServer, token: string, audience: string) {
  return jwtVerify(token, createLocalJWKSet(await jwks(server)), { issuer: ISSUER, audience });
}

/** The code and message of the ManagementError `promise` rejects with. */

describe('handles: clients at run time', () => {
  let server: TestServer;
  beforeEach(async () => {
    server = await testServer();
  });

  const runtimeApp = {
    client_id: 'runtime-app',
    client_secret: SECRET,
    name: 'Runtime app',
    token_endpoint_auth_method: 'client_secret_basic' as const,
    token_exchange: { allow_any_profile_of_type: ['custom_authentication'] },
  };

  it('lets an added client exchange at once', async () => {
    const before = await post(server, exchangeBody(), basic('runtime-app', SECRET));
    expect(before.status).to.equal(401);
    expect(before.body).to.deep.equal(INVALID_CLIENT);

    await server.cte.clients.create(runtimeApp);
    const res = await post(server, exchangeBody(), basic('runtime-app', SECRET));
    expect(res.status, JSON.stringify(res.body)).to.equal(200);
    const { payload } = await verify(server, res.body.access_token, API);
    expect(payload).to.include({ client_id: 'runtime-app', sub: 'auth0|alice' });
  });

  it('after a secret update, refuses the old secret with 401 and accepts the new one', async () => {
    await server.cte.clients.create(runtimeApp);
    await post(server, exchangeBody(), basic('runtime-app', SECRET)).expect(200);

    await server.cte.clients.update('runtime-app', { client_secret: NEW_SECRET });
    const old = await post(server, exchangeBody(), basic('runtime-app', SECRET));
    expect(old.status).to.equal(401);
    expect(old.body).to.deep.equal(INVALID_CLIENT);
    expect(old.headers['www-authenticate']).to.equal('Basic realm="token", error="invalid_client"');
    const res = await post(server, exchangeBody(), basic('runtime-app', NEW_SECRET));
    expect(res.status, JSON.stringify(res.body)).to.equal(200);
  });

  it('refuses a removed client with 401 invalid_client', async () => {
    await server.cte.clients.create(runtimeApp);
    await post(server, exchangeBody(), basic('runtime-app', SECRET)).expect(200);
    await server.cte.clients.delete('runtime-app');
    const res = await post(server, exchangeBody(), basic('runtime-app', SECRET));
    expect(res.status).to.equal(401);
    expect(res.body).to.deep.equal(INVALID_CLIENT);
    expect(await managementError(server.cte.clients.get('runtime-app'))).to.deep.equal({
      code: 'not_found',
      message: 'client runtime-app does not exist',
    });
  });

  it('applies a client update to the client rules of the next request', async () => {
    await post(server, exchangeBody()).expect(200);
    await server.cte.clients.update('app', { is_first_party: false });
    const res = await post(server, exchangeBody());
    expect(res.status).to.equal(400);
    expect(res.body).to.deep.equal({
      error: 'unauthorized_client',
      error_description: 'third-party clients cannot use token exchange',
    });
  });
});

describe('handles: resource servers at run time', () => {
  let server: TestServer;
  beforeEach(async () => {
    server = await testServer();
  });

  it('serves an added PS256 API with a PS256 token that verifies against the JWKS route', async () => {
    await server.cte.resourceServers.create({
      identifier: PS_API,
      scopes: [{ value: 'read:ps' }],
      signing_alg: 'PS256',
      token_lifetime: 120,
    });
    const res = await post(server, exchangeBody({ audience: PS_API, scope: 'read:ps write:ps' }));
    expect(res.status, JSON.stringify(res.body)).to.equal(200);
    expect(res.body).to.include({ scope: 'read:ps', expires_in: 120 });
    expect(decodeProtectedHeader(res.body.access_token)).to.deep.equal({
      alg: 'PS256',
      typ: 'at+jwt',
      kid: 'ps-1',
    });
    const { payload } = await jwtVerify(
      res.body.access_token,
      createLocalJWKSet(await jwks(server)),
      { issuer: ISSUER, audience: PS_API, algorithms: ['PS256'] },
    );
    expect(payload).to.include({ aud: PS_API, scope: 'read:ps', client_id: 'app' });
  });

  it('grants from the updated scopes of an API', async () => {
    const scope = 'read:orders write:orders admin:orders';
    const before = await post(server, exchangeBody({ scope })).expect(200);
    expect(before.body.scope).to.equal('read:orders write:orders');

    await server.cte.resourceServers.update(API, {
      scopes: [{ value: 'read:orders' }, { value: 'admin:orders' }],
    });
    const after = await post(server, exchangeBody({ scope })).expect(200);
    expect(after.body.scope).to.equal('read:orders admin:orders');
    const { payload } = await verify(server, after.body.access_token, API);
    expect(payload.scope).to.equal('read:orders admin:orders');
  });

  it('answers invalid_target for a removed API, and keeps the defaultAudience', async () => {
    await post(server, exchangeBody({ audience: RS_API })).expect(200);
    await server.cte.resourceServers.delete(RS_API);
    const res = await post(server, exchangeBody({ audience: RS_API }));
    expect(res.status).to.equal(400);
    expect(res.body).to.deep.equal({
      error: 'invalid_target',
      error_description: 'the requested audience is not known',
    });

    expect(await managementError(server.cte.resourceServers.delete(API))).to.deep.equal({
      code: 'conflict',
      message: `resource server ${API} is the defaultAudience`,
    });
    await post(server, exchangeBody()).expect(200);
  });
});

describe('handles: signing keys', () => {
  let server: TestServer;
  beforeEach(async () => {
    server = await testServer();
  });

  async function newEs256Key(kid: string) {
    const { privateKey } = await generateKeyPair('ES256', { extractable: true });
    return { ...(await exportJWK(privateKey)), kid, alg: 'ES256' as const };
  }

  it('publishes an added key in the JWKS before it signs, and signs with it after rotate()', async () => {
    // A JWKS max-age of 0: nothing caches the JWKS, so a rotation may take effect at once.
    const immediate = await testServer({ jwksMaxAge: 0 });
    const added = await immediate.cte.keys.add(await newEs256Key('es-2'));
    expect(added).to.deep.equal({
      kid: 'es-2',
      alg: 'ES256',
      status: 'next',
      published_at: added.published_at,
    });
    const published = (await jwks(immediate)).keys.find((key) => key.kid === 'es-2');
    expect(published).to.include({ kty: 'EC', crv: 'P-256', alg: 'ES256', use: 'sig' });
    expect(published).not.to.have.property('d');

    const beforeRotation = await post(immediate, exchangeBody()).expect(200);
    expect(decodeProtectedHeader(beforeRotation.body.access_token).kid).to.equal('es-1');

    const [rotation] = await immediate.cte.keys.rotate('ES256');
    expect(rotation).to.deep.equal({
      alg: 'ES256',
      current: 'es-2',
      signs_from: rotation!.signs_from,
      retired: 'es-1',
    });
    expect(Date.parse(rotation!.signs_from)).to.be.at.most(Date.now());
    const afterRotation = await post(immediate, exchangeBody()).expect(200);
    expect(decodeProtectedHeader(afterRotation.body.access_token).kid).to.equal('es-2');

    // Both verify against what the route serves now: the retired key is kept for a day at least.
    const served = (await jwks(immediate)).keys.map((key) => key.kid);
    expect(served).to.include.members(['es-1', 'es-2']);
    await verify(immediate, beforeRotation.body.access_token, API);
    await verify(immediate, afterRotation.body.access_token, API);
    const es256 = (await immediate.cte.keys.list()).filter((key) => key.alg === 'ES256');
    expect(es256.map(({ kid, status }) => ({ kid, status }))).to.deep.equal([
      { kid: 'es-2', status: 'current' },
      { kid: 'es-1', status: 'retired' },
    ]);
    const retired = es256[1]!;
    expect(retired.retired_at).to.equal(rotation!.signs_from);
    expect(Date.parse(retired.expires_at!) - Date.parse(retired.retired_at!)).to.equal(86_400_000);
    await immediate.cte.close();
  });

  it('schedules the rotated-to key to sign one JWKS max-age after it was published', async () => {
    const added = await server.cte.keys.add(await newEs256Key('es-2'));
    const signsFrom = new Date(Date.parse(added.published_at) + 600_000).toISOString();
    const expected = [{ alg: 'ES256', current: 'es-2', signs_from: signsFrom, retired: 'es-1' }];
    expect(await server.cte.keys.rotate('ES256')).to.deep.equal(expected);
    // Asked again before it took effect, the rotation is answered as it stands.
    expect(await server.cte.keys.rotate('ES256')).to.deep.equal(expected);
    const res = await post(server, exchangeBody()).expect(200);
    expect(decodeProtectedHeader(res.body.access_token).kid).to.equal('es-1');
    const es256 = (await server.cte.keys.list()).filter((key) => key.alg === 'ES256');
    expect(es256).to.deep.equal([
      {
        kid: 'es-1',
        alg: 'ES256',
        status: 'current',
        published_at: es256[0]!.published_at,
        signs_from: es256[0]!.published_at,
        retired_at: signsFrom,
        expires_at: new Date(Date.parse(signsFrom) + 86_400_000).toISOString(),
      },
      {
        kid: 'es-2',
        alg: 'ES256',
        status: 'next',
        published_at: added.published_at,
        signs_from: signsFrom,
      },
    ]);
  });

  it('refuses to rotate host keys without a published next key, changing nothing', async () => {
    const error = await server.cte.keys.rotate('ES256').then(
      () => expect.fail('rotated'),
      (err: unknown) => err as ManagementError,
    );
    expect(error).to.be.instanceOf(ManagementError);
    expect(error.code).to.equal('conflict');
    expect(error.message).to.match(/no next key with alg ES256/);
    const res = await post(server, exchangeBody()).expect(200);
    expect(decodeProtectedHeader(res.body.access_token).kid).to.equal('es-1');
  });

  it('offers no way to sign: the handle is jwks, list, rotate and add', () => {
    expect(Object.keys(server.cte.keys).sort()).to.deep.equal(['add', 'jwks', 'list', 'rotate']);
    expect(Object.isFrozen(server.cte.keys)).to.equal(true);
  });
});

describe('handles: profiles and actions at run time', () => {
  let server: TestServer;
  beforeEach(async () => {
    server = await testServer();
  });

  const profile = () => profileFor(server.cte, SUBJECT_TYPE);

  it('routes a profile’s new subject_token_type and refuses the old one', async () => {
    const { id } = await profile();
    await server.cte.profiles.update(id, { subject_token_type: NEW_TYPE });

    const res = await post(server, exchangeBody({ subject_token_type: NEW_TYPE }));
    expect(res.status, JSON.stringify(res.body)).to.equal(200);
    expect((await verify(server, res.body.access_token, API)).payload.sub).to.equal('auth0|alice');

    const old = await post(server, exchangeBody({ subject_token_type: SUBJECT_TYPE }));
    expect(old.status).to.equal(400);
    expect(old.body).to.deep.equal(UNSUPPORTED_TYPE);
    expect(server.hostRequests).to.have.length(0);
  });

  it('makes a deleted profile’s subject_token_type unsupported', async () => {
    await server.cte.profiles.delete((await profile()).id);
    const res = await post(server, exchangeBody());
    expect(res.status).to.equal(400);
    expect(res.body).to.deep.equal(UNSUPPORTED_TYPE);
  });

  it('runs a new handler after update and deploy, not before the deploy', async () => {
    const { action_id } = await profile();
    const denyAll: CustomTokenExchangeHandler = async (_event, api) => {
      api.access.deny('access_denied', 'version 2 says no');
    };
    await server.cte.actions.update(action_id, { handler: denyAll });
    // A draft: the live version still decides.
    await post(server, exchangeBody()).expect(200);

    const deployed = await server.cte.actions.deploy(action_id);
    expect(deployed.deployed_version!.number).to.equal(2);
    const res = await post(server, exchangeBody());
    expect(res.status).to.equal(400);
    expect(res.body).to.deep.equal({
      error: 'access_denied',
      error_description: 'version 2 says no',
    });
  });

  it('refuses to delete an action bound to a profile with action_in_use', async () => {
    const { id, action_id } = await profile();
    expect(await managementError(server.cte.actions.delete(action_id))).to.deep.equal({
      code: 'action_in_use',
      message: 'Action is bound to a token exchange profile; delete the profile first.',
    });
    // Still served.
    await post(server, exchangeBody()).expect(200);

    await server.cte.profiles.delete(id);
    await server.cte.actions.delete(action_id);
    expect((await server.cte.actions.list()).map((action) => action.id)).not.to.include(action_id);
  });
});

describe('handles: a definition needing a signing key the router lacks', () => {
  it('is refused with ManagementError invalid_body naming the field, and nothing is stored', async () => {
    const rs256Only = (await testSigningKeys()).filter((key) => key.alg === 'RS256');
    const cte = customTokenExchange({
      issuer: 'https://auth.example.com/',
      keys: rs256Only,
      sandbox: false,
      clients: [],
      resourceServers: [],
    });
    const attempts: Array<[() => Promise<unknown>, string]> = [
      [
        () =>
          cte.resourceServers.create({ identifier: 'https://ps.example/', signing_alg: 'PS256' }),
        'resourceServer.signing_alg is PS256, but options.keys has no PS256 key',
      ],
      [
        () =>
          cte.clients.create({
            client_id: 'es',
            client_secret: 'a-secret-of-enough-length',
            name: 'ES',
            jwt_configuration: { alg: 'ES256' },
          }),
        'client.jwt_configuration.alg is ES256, but options.keys has no ES256 key',
      ],
    ];
    for (const [attempt, message] of attempts) {
      expect(await managementError(attempt())).to.deep.equal({ code: 'invalid_body', message });
    }
    expect(await cte.resourceServers.list()).to.deep.equal([]);
    expect(await cte.clients.list()).to.deep.equal([]);
  });
});

describe('handles: one narrow vocabulary', () => {
  let server: TestServer;
  beforeEach(async () => {
    server = await testServer();
  });

  it('exposes only management methods, on frozen handles', () => {
    const { cte } = server;
    const vocabulary = ['create', 'delete', 'get', 'list', 'update'];
    const methods: Array<[string, object, string[]]> = [
      ['clients', cte.clients, [...vocabulary, 'invalidate'].sort()],
      ['resourceServers', cte.resourceServers, vocabulary],
      ['profiles', cte.profiles, vocabulary],
      ['actions', cte.actions, [...vocabulary, 'deploy'].sort()],
      ['postExchange', cte.postExchange, ['clear', 'get', 'set']],
      ['logs', cte.logs, ['dropped', 'list']],
    ];
    for (const [name, handle, expected] of methods) {
      expect(Object.keys(handle).sort(), name).to.deep.equal(expected);
      expect(Object.isFrozen(handle), name).to.equal(true);
    }
  });

  const missing: Array<[string, (cte: TestServer['cte']) => Array<Promise<unknown>>, string]> = [
    [
      'clients',
      (cte) => [
        cte.clients.get('nope'),
        cte.clients.update('nope', {}),
        cte.clients.delete('nope'),
      ],
      'client nope does not exist',
    ],
    [
      'resourceServers',
      (cte) => [
        cte.resourceServers.get('nope'),
        cte.resourceServers.update('nope', {}),
        cte.resourceServers.delete('nope'),
      ],
      'resource server nope does not exist',
    ],
    [
      'actions',
      (cte) => [
        cte.actions.get('nope'),
        cte.actions.update('nope', { name: 'x' }),
        cte.actions.delete('nope'),
        cte.actions.deploy('nope'),
      ],
      'Action not found.',
    ],
    [
      'profiles',
      (cte) => [
        cte.profiles.get('nope'),
        cte.profiles.update('nope', { name: 'xyz' }),
        cte.profiles.delete('nope'),
      ],
      'Token exchange profile not found.',
    ],
  ];
  for (const [name, calls, message] of missing) {
    it(`${name}: get, update and delete of a missing id reject with not_found`, async () => {
      for (const call of calls(server.cte)) {
        expect(call).to.be.instanceOf(Promise);
        expect(await managementError(call)).to.deep.equal({ code: 'not_found', message });
      }
    });
  }

  it('rejects an invalid definition rather than throwing', async () => {
    const attempt = server.cte.clients.create({ client_id: 'x' } as never);
    expect(attempt).to.be.instanceOf(Promise);
    expect(await managementError(attempt)).to.deep.equal({
      code: 'invalid_body',
      message:
        'client.client_secret (or client_secret_hash) is required for token_endpoint_auth_method client_secret_post',
    });
    expect(await managementError(server.cte.resourceServers.create({} as never))).to.deep.equal({
      code: 'invalid_body',
      message: 'resourceServer.identifier must be a string',
    });
  });

  it('never shows a secret: clients without client_secret, actions without secret values', async () => {
    const CLIENT_SECRET = 'client-secret-never-shown-0123';
    const ACTION_SECRET = 'action-secret-never-shown-4567';
    const { cte } = server;
    const shown: unknown[] = [
      await cte.clients.create({
        client_id: 'secretive',
        client_secret: CLIENT_SECRET,
        name: 'Secretive',
        token_endpoint_auth_method: 'client_secret_basic',
        token_exchange: { allow_any_profile_of_type: ['custom_authentication'] },
      }),
      await cte.clients.get('secretive'),
      await cte.clients.list(),
      await cte.clients.update('secretive', { name: 'Still secretive' }),
    ];
    const action = await cte.actions.create({
      name: 'with secrets',
      handler: async () => undefined,
      secrets: { API_KEY: ACTION_SECRET },
    });
    shown.push(
      action,
      await cte.actions.deploy(action.id),
      await cte.actions.get(action.id),
      await cte.actions.list(),
      await cte.actions.update(action.id, { name: 'renamed' }),
    );
    const text = JSON.stringify(shown);
    expect(text).not.to.include(CLIENT_SECRET);
    expect(text).not.to.include(ACTION_SECRET);
    expect(await cte.clients.get('secretive')).not.to.have.property('client_secret');
    expect((await cte.actions.get(action.id)).secrets).to.deep.equal([
      { name: 'API_KEY', updated_at: action.created_at },
    ]);
    // Write-only, not lost: the client still authenticates with its secret.
    await post(server, exchangeBody(), basic('secretive', CLIENT_SECRET)).expect(200);
  });

  it('hands out copies: changing what a handle answered changes nothing in the router', async () => {
    const client = await server.cte.clients.get('app');
    client.client_metadata.team = 'changed';
    client.token_exchange.allow_any_profile_of_type.length = 0;
    const api = await server.cte.resourceServers.get(API);
    api.scopes.length = 0;
    expect((await server.cte.clients.get('app')).client_metadata).to.deep.equal({
      team: 'checkout',
    });
    expect((await server.cte.resourceServers.get(API)).scopes).to.deep.equal([
      { value: 'read:orders' },
      { value: 'write:orders' },
    ]);
    await post(server, exchangeBody({ scope: 'read:orders' })).expect(200);
  });

  it('postExchange.get() answers a promise of the action it runs, or of undefined', async () => {
    const none = server.cte.postExchange.get();
    expect(none).to.be.instanceOf(Promise);
    expect(await none).to.equal(undefined);
    const hook = await server.cte.actions.create({
      name: 'claims',
      supported_triggers: [{ id: 'post-exchange', version: 'v1' }],
      handler: () => undefined,
    });
    await server.cte.actions.deploy(hook.id);
    await server.cte.postExchange.set(hook.id);
    expect(await server.cte.postExchange.get()).to.deep.equal({ action_id: hook.id });
  });
});
