import { expect } from 'chai';
import request from 'supertest';
import { MemoryRefreshTokenStore } from '../../lib/index.js';
import type {
  CustomTokenExchangeOptions,
  RefreshTokenFamily,
  RefreshTokenFamilyUpdate,
  RefreshTokenRecord,
  RefreshTokenStore,
  StoredRefreshToken,
} from '../../lib/index.js';
import {
  ACCESS_TOKEN_TYPE,
  API,
  RS_API,
  SECRET,
  basic,
  exchangeBody,
  testServer,
} from '../support/fixtures.js';
import type { TestServer } from '../support/fixtures.js';
import { postToken, verifyToken as verify, appAccessClaims } from '../support/token-requests.js';
import { APP, NO_STORE, UNKNOWN_REFRESH_TOKEN } from '../support/oauth-responses.js';
import { appEntryFields, ALICE_ENTRY } from '../support/log-entries.js';

const REFRESH_TOKEN_SHAPE = /^cte_rt_[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}$/;
const SCOPE = 'openid profile offline_access read:orders';

/**
 * A store over the memory store that can age what it holds: `age(ms)` makes every family look
 * `ms` older, which is the router's clock moving on for it, without faking the process's clock.
 * It keeps its families `offset` ms ahead inside and moves them back on the way out, so what the
 * router writes after aging is as fresh as it wrote it.
 */
class AgingStore implements RefreshTokenStore {
  readonly inner = new MemoryRefreshTokenStore();
  #offset = 0;
  age(ms: number): void {
    this.#offset += ms;
  }
  async find(hash: string, familyId: string): Promise<StoredRefreshToken | undefined> {
    const found = await this.inner.find(hash, familyId);
    return found && { token: found.token, family: shift(found.family, -this.#offset) };
  }
  create(family: RefreshTokenFamily, token: RefreshTokenRecord) {
    return this.inner.create(shift(family, this.#offset), token);
  }
  compareAndSet(
    id: string,
    revision: number,
    update: RefreshTokenFamilyUpdate,
    successor?: RefreshTokenRecord,
  ) {
    return this.inner.compareAndSet(
      id,
      revision,
      {
        last_used_at: update.last_used_at + this.#offset,
        ...(update.generation === undefined ? {} : { generation: update.generation }),
        ...(update.rotated_at === undefined
          ? {}
          : { rotated_at: update.rotated_at + this.#offset }),
      },
      successor,
    );
  }
  revokeFamily(id: string, at: number) {
    return this.inner.revokeFamily(id, at + this.#offset);
  }
  async listFamilies(userId: string) {
    return (await this.inner.listFamilies(userId)).map((family) => shift(family, -this.#offset));
  }
}

function shift(family: RefreshTokenFamily, ms: number): RefreshTokenFamily {
  const move = (at: number | null) => (at === null ? null : at + ms);
  return {
    ...family,
    ...(family.auth_time === undefined ? {} : { auth_time: family.auth_time + ms / 1000 }),
    created_at: family.created_at + ms,
    last_used_at: family.last_used_at + ms,
    expires_at: move(family.expires_at),
    rotated_at: move(family.rotated_at),
    revoked_at: move(family.revoked_at),
  };
}

/** The test server with its Orders API allowing offline access. */
async function offlineServer(overrides: Partial<CustomTokenExchangeOptions> = {}) {
  const server = await testServer(overrides);
  await server.cte.resourceServers.update(API, { allow_offline_access: true });
  return server;
}

function post(server: TestServer, body: Record<string, string | string[]>, auth = '') {
  return postToken(server, body, { auth });
}

/** A custom token exchange for alice by `app`; answers the whole response body. */
async function exchange(server: TestServer, scope = SCOPE, extra: Record<string, string> = {}) {
  const res = await post(server, exchangeBody({ scope, ...extra }), APP);
  expect(res.status, JSON.stringify(res.body)).to.equal(200);
  return res.body as Record<string, string>;
}

function refresh(
  server: TestServer,
  refreshToken: string,
  extra: Record<string, string | string[]> = {},
  auth: string | undefined = APP,
) {
  return post(server, { grant_type: 'refresh_token', refresh_token: refreshToken, ...extra }, auth);
}

describe('refresh tokens issued by a custom token exchange (spec §2, §5)', () => {
  let server: TestServer;
  beforeEach(async () => {
    server = await offlineServer();
  });

  it('issues an opaque refresh token when offline_access is requested and the API allows it', async () => {
    const body = await exchange(server);
    expect(body).to.deep.equal({
      access_token: body.access_token,
      issued_token_type: ACCESS_TOKEN_TYPE,
      token_type: 'Bearer',
      expires_in: 3600,
      scope: SCOPE,
      id_token: body.id_token,
      refresh_token: body.refresh_token,
    });
    expect(body.refresh_token).to.match(REFRESH_TOKEN_SHAPE);
    expect((await verify(server, body.access_token!, API)).payload.scope).to.equal(SCOPE);

    const [family] = await server.cte.refreshTokens.listForUser('auth0|alice');
    expect(family).to.include({
      client_id: 'app',
      user_id: 'auth0|alice',
      audience: API,
      rotating: true,
      active: true,
    });
    expect(family!.scope).to.deep.equal(SCOPE.split(' '));
    const [entry] = await server.cte.logs.list();
    expect(entry!.type).to.equal('secte');
    expect(entry!.details.refresh_token_family_id).to.equal(family!.family_id);
    expect(JSON.stringify(await server.cte.logs.list())).not.to.include(
      body.refresh_token!.slice(7),
    );
  });

  it('issues none when offline_access is not requested', async () => {
    const body = await exchange(server, 'openid read:orders');
    expect(body).not.to.have.property('refresh_token');
    expect(await server.cte.refreshTokens.listForUser('auth0|alice')).to.deep.equal([]);
  });

  it('issues none, and leaves offline_access out of scope, for an API without allow_offline_access', async () => {
    const body = await exchange(server, 'openid offline_access read:stuff', { audience: RS_API });
    expect(body.scope).to.equal('openid read:stuff');
    expect(body).not.to.have.property('refresh_token');
    expect((await verify(server, body.access_token!, RS_API)).payload.scope).to.equal(
      'openid read:stuff',
    );
  });

  it('issues none, and drops offline_access from scope, when the action sets an actor', async () => {
    const actor = Buffer.from(JSON.stringify({ sub: 'agent-7' })).toString('base64url');
    const body = await exchange(server, SCOPE, { subject_token: `actor:${actor}` });
    expect(body.scope).to.equal('openid profile read:orders');
    expect(body).not.to.have.property('refresh_token');
    const access = await verify(server, body.access_token!, API);
    expect(access.payload).to.include({ scope: 'openid profile read:orders' });
    expect(access.payload.act).to.deep.equal({ sub: 'agent-7' });
    expect((await server.cte.logs.list())[0]!.scope).to.equal('openid profile read:orders');
    expect((await server.cte.logs.list())[0]!.details).not.to.have.property(
      'refresh_token_family_id',
    );
    expect(await server.cte.refreshTokens.listForUser('auth0|alice')).to.deep.equal([]);
  });

  it('issues none, and drops offline_access from scope, when an actor_token was sent', async () => {
    const body = await exchange(server, SCOPE, {
      actor_token: 'agent-assertion',
      actor_token_type: 'urn:acme:agent-token',
    });
    expect(body.scope).to.equal('openid profile read:orders');
    expect(body).not.to.have.property('refresh_token');
    expect(await server.cte.refreshTokens.listForUser('auth0|alice')).to.deep.equal([]);
  });
});

describe('POST /oauth/token grant_type=refresh_token', () => {
  let server: TestServer;
  beforeEach(async () => {
    server = await offlineServer();
  });

  it('answers a new access token, an ID token and the next refresh token, for the same user, API and scope', async () => {
    const issued = await exchange(server);
    const res = await refresh(server, issued.refresh_token!);
    expect(res.status).to.equal(200);
    expect(res.headers).to.include(NO_STORE);
    expect(res.body).to.deep.equal({
      access_token: res.body.access_token,
      token_type: 'Bearer',
      expires_in: 3600,
      scope: SCOPE,
      id_token: res.body.id_token,
      refresh_token: res.body.refresh_token,
    });
    expect(res.body.refresh_token).to.match(REFRESH_TOKEN_SHAPE);
    expect(res.body.refresh_token).not.to.equal(issued.refresh_token);

    const access = await verify(server, res.body.access_token, API);
    expect(access.protectedHeader).to.deep.equal({ alg: 'ES256', typ: 'at+jwt', kid: 'es-1' });
    expect(access.payload).to.deep.equal(
      appAccessClaims(access.payload, {
        sub: 'auth0|alice',
        scope: SCOPE,
      }),
    );
    const id = await verify(server, res.body.id_token, 'app');
    expect(id.payload).to.include({ sub: 'auth0|alice', aud: 'app', name: 'Alice Liddell' });
    expect(id.payload).not.to.have.property('email');

    const [family] = await server.cte.refreshTokens.listForUser('auth0|alice');
    const entry = (await server.cte.logs.list())[0]!;
    expect(entry).to.deep.equal({
      ...appEntryFields(entry),
      type: 'sertft',
      description: 'Successful Exchange of Refresh Token for Access Token',
      scope: SCOPE,
      ...ALICE_ENTRY,
      details: { access_token_jti: access.payload.jti, refresh_token_family_id: family!.family_id },
    });
    expect(JSON.stringify(await server.cte.logs.list())).not.to.include(
      res.body.refresh_token.slice(7),
    );
  });

  it('refuses a rotated token and revokes its whole family (reuse detection)', async () => {
    const issued = await exchange(server);
    const next = (await refresh(server, issued.refresh_token!).expect(200)).body.refresh_token;
    const reuse = await refresh(server, issued.refresh_token!);
    expect(reuse.status).to.equal(400);
    expect(reuse.headers).to.include(NO_STORE);
    expect(reuse.body).to.deep.equal(UNKNOWN_REFRESH_TOKEN);
    // The attacker or the victim: whoever holds the current token loses it too.
    expect((await refresh(server, next)).body).to.deep.equal(UNKNOWN_REFRESH_TOKEN);

    const [family] = await server.cte.refreshTokens.listForUser('auth0|alice');
    expect(family).to.include({ active: false });
    const [revoked, reused] = await server.cte.logs.list({ type: 'fertft' });
    expect(reused).to.include({ type: 'fertft', client_id: 'app' });
    expect(reused!.details).to.deep.equal({
      error: 'invalid_grant',
      error_description: 'Unknown or invalid refresh token.',
      cause: `reuse of a rotated refresh token (generation 0, current 1, outside the leeway): refresh token family ${family!.family_id} of user "auth0|alice" revoked`,
    });
    expect(revoked!.details.cause).to.equal(
      `refresh token family ${family!.family_id} was revoked`,
    );
  });

  it('lets the retired token be redeemed again within the client’s leeway, and not after', async () => {
    const store = new AgingStore();
    server = await offlineServer({ stores: { refreshTokens: store } });
    await server.cte.clients.update('app', { refresh_token: { leeway: 10 } });
    const issued = await exchange(server);
    const first = (await refresh(server, issued.refresh_token!).expect(200)).body;
    const retry = (await refresh(server, issued.refresh_token!).expect(200)).body;
    expect(retry.refresh_token).to.match(REFRESH_TOKEN_SHAPE);
    expect(retry.refresh_token).not.to.equal(first.refresh_token);
    store.age(11_000);
    expect((await refresh(server, issued.refresh_token!)).body).to.deep.equal(
      UNKNOWN_REFRESH_TOKEN,
    );
    expect((await server.cte.logs.list())[0]!.details.cause).to.match(/outside the leeway/);
  });

  it('lets exactly one of two concurrent refreshes with one token win when the leeway is 0', async () => {
    const issued = await exchange(server);
    const results = await Promise.all([
      refresh(server, issued.refresh_token!),
      refresh(server, issued.refresh_token!),
    ]);
    const statuses = results.map((r) => r.status).sort();
    expect(statuses).to.deep.equal([200, 400]);
    const winner = results.find((r) => r.status === 200)!;
    const loser = results.find((r) => r.status === 400)!;
    expect(loser.body).to.deep.equal(UNKNOWN_REFRESH_TOKEN);
    // The second redemption was reuse: the family, winner's token included, is revoked.
    expect((await refresh(server, winner.body.refresh_token)).body).to.deep.equal(
      UNKNOWN_REFRESH_TOKEN,
    );
  });

  it('narrows the new access token to a requested scope; the refresh token keeps its own', async () => {
    const issued = await exchange(server, 'openid profile offline_access read:orders write:orders');
    const narrow = await refresh(server, issued.refresh_token!, { scope: 'read:orders' }).expect(
      200,
    );
    expect(narrow.body.scope).to.equal('read:orders');
    expect(narrow.body).not.to.have.property('id_token');
    expect((await verify(server, narrow.body.access_token, API)).payload.scope).to.equal(
      'read:orders',
    );
    const full = await refresh(server, narrow.body.refresh_token).expect(200);
    expect(full.body.scope).to.equal('openid profile offline_access read:orders write:orders');
    expect(full.body.id_token).to.be.a('string');
  });

  it('refuses a wider scope with invalid_scope, without using up the token', async () => {
    const issued = await exchange(server, 'offline_access read:orders');
    const res = await refresh(server, issued.refresh_token!, { scope: 'read:orders write:orders' });
    expect(res.status).to.equal(400);
    expect(res.body).to.deep.equal({
      error: 'invalid_scope',
      error_description: 'the requested scope exceeds the scope granted to the refresh token',
    });
    expect((await server.cte.logs.list())[0]!.details.cause).to.equal(
      'scopes not granted to the refresh token: write:orders',
    );
    await refresh(server, issued.refresh_token!, { scope: 'read:orders' }).expect(200);
  });

  it('re-applies the API’s scopes: a scope the API dropped is no longer granted', async () => {
    const issued = await exchange(server, 'offline_access read:orders write:orders');
    await server.cte.resourceServers.update(API, { scopes: [{ value: 'read:orders' }] });
    const res = await refresh(server, issued.refresh_token!).expect(200);
    expect(res.body.scope).to.equal('offline_access read:orders');
  });

  it('refuses the token to another client with invalid_grant, and leaves it to its own client', async () => {
    const issued = await exchange(server);
    const res = await post(server, {
      grant_type: 'refresh_token',
      refresh_token: issued.refresh_token!,
      client_id: 'post-app',
      client_secret: SECRET,
    });
    expect(res.status).to.equal(400);
    expect(res.body).to.deep.equal(UNKNOWN_REFRESH_TOKEN);
    const [entry] = await server.cte.logs.list();
    expect(entry).to.include({ type: 'fertft', client_id: 'post-app' });
    expect(entry!.details.cause).to.equal('the refresh token was issued to client "app"');
    await refresh(server, issued.refresh_token!).expect(200);
  });

  it('authenticates the client first: no or wrong credentials are 401 invalid_client', async () => {
    const issued = await exchange(server);
    const none = await refresh(server, issued.refresh_token!, {}, '');
    expect(none.status).to.equal(401);
    expect(none.body.error).to.equal('invalid_client');
    const wrong = await refresh(server, issued.refresh_token!, {}, basic('app', `${SECRET}x`));
    expect(wrong.status).to.equal(401);
    await refresh(server, issued.refresh_token!).expect(200);
  });

  it('refuses a blocked user (401 user is blocked) and serves them again once unblocked', async () => {
    const issued = await exchange(server);
    server.users.setBlocked('auth0|alice', true);
    const res = await refresh(server, issued.refresh_token!);
    expect(res.status).to.equal(401);
    expect(res.body).to.deep.equal({ error: 'unauthorized', error_description: 'user is blocked' });
    server.users.setBlocked('auth0|alice', false);
    await refresh(server, issued.refresh_token!).expect(200);
  });

  it('refuses a user who no longer exists', async () => {
    const issued = await exchange(server);
    server.users.delete('auth0|alice');
    const res = await refresh(server, issued.refresh_token!);
    expect(res.body).to.deep.equal(UNKNOWN_REFRESH_TOKEN);
    expect((await server.cte.logs.list())[0]!.details.cause).to.equal(
      'user "auth0|alice" no longer exists',
    );
  });

  it('refuses a removed client (401) and a client that may no longer use token exchange (400)', async () => {
    const issued = await exchange(server);
    await server.cte.clients.update('app', { is_first_party: false });
    const thirdParty = await refresh(server, issued.refresh_token!);
    expect(thirdParty.status).to.equal(400);
    expect(thirdParty.body).to.deep.equal({
      error: 'unauthorized_client',
      error_description: 'third-party clients cannot use token exchange',
    });
    await server.cte.clients.update('app', {
      is_first_party: true,
      token_exchange: { allow_any_profile_of_type: [] },
    });
    expect((await refresh(server, issued.refresh_token!)).body.error).to.equal(
      'unauthorized_client',
    );
    await server.cte.clients.delete('app');
    const removed = await refresh(server, issued.refresh_token!);
    expect(removed.status).to.equal(401);
    expect(removed.body.error).to.equal('invalid_client');
  });

  it('refuses when the API no longer allows offline access', async () => {
    const issued = await exchange(server);
    await server.cte.resourceServers.update(API, { allow_offline_access: false });
    expect((await refresh(server, issued.refresh_token!)).body).to.deep.equal(
      UNKNOWN_REFRESH_TOKEN,
    );
    expect((await server.cte.logs.list())[0]!.details.cause).to.equal(
      `API "${API}" no longer has allow_offline_access`,
    );
  });

  it('accepts audience or resource naming the token’s own API only (invalid_target otherwise)', async () => {
    const issued = await exchange(server);
    const other = await refresh(server, issued.refresh_token!, { audience: RS_API });
    expect(other.status).to.equal(400);
    expect(other.body).to.deep.equal({
      error: 'invalid_target',
      error_description: 'the refresh token was not issued for the requested audience',
    });
    await refresh(server, issued.refresh_token!, { audience: API, resource: API }).expect(200);
  });

  it('keeps the exchange’s auth_time in the ID tokens of every refresh (the family remembers it)', async () => {
    const store = new AgingStore();
    server = await offlineServer({ stores: { refreshTokens: store } });
    const issued = await exchange(server);
    const exchanged = (await verify(server, issued.id_token!, 'app')).payload;
    expect(exchanged.auth_time).to.equal(exchanged.iat);
    store.age(7_200_000);
    const refreshed = (await refresh(server, issued.refresh_token!).expect(200)).body;
    const id = (await verify(server, refreshed.id_token, 'app')).payload;
    expect(id.auth_time).to.equal((exchanged.auth_time as number) - 7200);
    expect(id.iat! - (id.auth_time as number)).to.be.within(7200, 7202);
  });

  it('uses the family’s creation as auth_time for a family stored without one', async () => {
    const store = new AgingStore();
    const inner = store.inner;
    const create = inner.create.bind(inner);
    inner.create = (family, token) => {
      const { auth_time: _dropped, ...older } = family;
      return create(older, token);
    };
    server = await offlineServer({ stores: { refreshTokens: store } });
    const issued = await exchange(server);
    const [family] = await store.listFamilies('auth0|alice');
    expect(family).not.to.have.property('auth_time');
    store.age(60_000);
    const refreshed = (await refresh(server, issued.refresh_token!).expect(200)).body;
    const id = (await verify(server, refreshed.id_token, 'app')).payload;
    expect(id.auth_time).to.equal(Math.floor((family!.created_at - 60_000) / 1000));
  });

  it('ends a family at its absolute lifetime and at its idle lifetime', async () => {
    const store = new AgingStore();
    server = await offlineServer({ stores: { refreshTokens: store } });
    await server.cte.clients.update('app', {
      refresh_token: { token_lifetime: 7200, idle_token_lifetime: 3600 },
    });
    // Idle: unused for an hour.
    const idle = await exchange(server);
    store.age(3_600_000);
    expect((await refresh(server, idle.refresh_token!)).body).to.deep.equal(UNKNOWN_REFRESH_TOKEN);
    expect((await server.cte.logs.list())[0]!.details.cause).to.match(
      /^refresh token family rtf_\S+ was idle past its idle_token_lifetime$/,
    );
    // Absolute: used every 40 minutes, still over after two hours.
    let token = (await exchange(server)).refresh_token!;
    for (let i = 0; i < 2; i += 1) {
      store.age(2_400_000);
      token = (await refresh(server, token).expect(200)).body.refresh_token;
    }
    store.age(2_400_000);
    expect((await refresh(server, token)).body).to.deep.equal(UNKNOWN_REFRESH_TOKEN);
    expect((await server.cte.logs.list())[0]!.details.cause).to.match(
      /reached its absolute lifetime \(token_lifetime\)$/,
    );
  });

  it('keeps one token for a non-rotating client, answering no new refresh token', async () => {
    await server.cte.clients.update('app', { refresh_token: { rotation_type: 'non-rotating' } });
    const issued = await exchange(server);
    for (let i = 0; i < 2; i += 1) {
      const res = await refresh(server, issued.refresh_token!).expect(200);
      expect(res.body).not.to.have.property('refresh_token');
      expect(res.body.scope).to.equal(SCOPE);
    }
  });

  it('serves a public client (token_endpoint_auth_method none) by client_id, rotating its tokens', async () => {
    const res = await post(server, exchangeBody({ scope: SCOPE, client_id: 'spa' }));
    expect(res.status).to.equal(200);
    const next = await post(server, {
      grant_type: 'refresh_token',
      refresh_token: res.body.refresh_token,
      client_id: 'spa',
    }).expect(200);
    expect(next.body.refresh_token).to.match(REFRESH_TOKEN_SHAPE);
  });

  it('accepts a JSON body, as Auth0 does', async () => {
    const credentials = { client_id: 'post-app', client_secret: SECRET };
    const issued = await post(server, exchangeBody({ scope: SCOPE, ...credentials })).expect(200);
    const res = await request(server.app)
      .post('/oauth/token')
      .send({
        grant_type: 'refresh_token',
        refresh_token: issued.body.refresh_token,
        ...credentials,
      })
      .expect(200);
    expect(res.body.scope).to.equal(SCOPE);
    expect(res.body.refresh_token).to.match(REFRESH_TOKEN_SHAPE);
  });

  it('applies request hygiene to its requests: a repeated refresh_token is 400 invalid_request', async () => {
    const issued = await exchange(server);
    const res = await post(
      server,
      { grant_type: 'refresh_token', refresh_token: [issued.refresh_token!, 'other'] },
      APP,
    );
    expect(res.status).to.equal(400);
    expect(res.body).to.deep.equal({
      error: 'invalid_request',
      error_description: 'parameter refresh_token is repeated',
    });
  });

  it('hands refresh tokens it does not know to the host untouched, before client authentication', async () => {
    const unknownOfOurShape = `cte_rt_${'x'.repeat(22)}.${'x'.repeat(43)}`;
    for (const token of ['host-refresh-token-1', unknownOfOurShape]) {
      const res = await post(server, { grant_type: 'refresh_token', refresh_token: token }, APP);
      expect(res.status).to.equal(200);
      expect(res.body).to.deep.equal({
        host: true,
        body: { grant_type: 'refresh_token', refresh_token: token },
      });
    }
    expect(server.hostRequests).to.have.length(2);
    expect(server.hostRequests[0]!.headers.authorization).to.equal(APP);
    expect(await server.cte.logs.list()).to.deep.equal([]);
  });

  it('answers a store failure while routing one of its tokens with 500, and logs it as a failed refresh', async () => {
    const failing = new AgingStore();
    failing.find = () => Promise.reject(new Error('refresh token store unreachable'));
    const broken = await offlineServer({ stores: { refreshTokens: failing } });
    const token = `cte_rt_${'x'.repeat(22)}.${'x'.repeat(43)}`;
    const res = await refresh(broken, token);
    expect(res.status).to.equal(500);
    expect(res.headers).to.include(NO_STORE);
    expect(res.body).to.deep.equal({
      error: 'server_error',
      error_description: res.body.error_description,
    });
    expect(res.body.error_description).not.to.include('unreachable');
    expect(broken.hostRequests).to.deep.equal([]);
    const [entry, ...others] = await broken.cte.logs.list();
    expect(others).to.deep.equal([]);
    expect(entry).to.deep.include({
      type: 'fertft',
      client_id: null,
      description: res.body.error_description,
      user_agent: 'cte-tests/1.0',
    });
    expect(entry!.details).to.deep.equal({
      error: 'server_error',
      error_description: res.body.error_description,
      cause: 'Error: refresh token store unreachable',
    });
    expect(JSON.stringify(entry)).not.to.include(token);
  });

  it('refuses every token after the handle revokes it, its family, or all of the user’s', async () => {
    const a = await exchange(server);
    const b = await exchange(server);
    const c = await exchange(server);
    const d = await exchange(server);
    expect(await server.cte.refreshTokens.revoke(a.refresh_token!)).to.equal(true);
    expect((await refresh(server, a.refresh_token!)).body).to.deep.equal(UNKNOWN_REFRESH_TOKEN);

    const families = await server.cte.refreshTokens.listForUser('auth0|alice');
    expect(families.map((f) => f.active)).to.deep.equal([false, true, true, true]);
    expect(await server.cte.refreshTokens.revokeFamily(families[1]!.family_id)).to.equal(true);
    expect((await refresh(server, b.refresh_token!)).body).to.deep.equal(UNKNOWN_REFRESH_TOKEN);

    expect(await server.cte.refreshTokens.revokeForUser('auth0|alice')).to.equal(2);
    for (const token of [c.refresh_token!, d.refresh_token!]) {
      expect((await refresh(server, token)).body).to.deep.equal(UNKNOWN_REFRESH_TOKEN);
    }
  });
});
