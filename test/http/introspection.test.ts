import { expect } from 'chai';
import request from 'supertest';
import { MemoryRevokedTokenStore } from '../../lib/index.js';
import type { CustomTokenExchangeOptions } from '../../lib/index.js';
import { assertionParams, clientAssertion } from '../support/client-assertion.js';
import {
  API,
  ISSUER,
  RS_API,
  SECRET,
  basic,
  exchangeBody,
  form,
  testServer,
} from '../support/fixtures.js';
import type { TestServer } from '../support/fixtures.js';
import { APP, NO_STORE } from '../support/oauth-responses.js';
import { hostEndpoint, postForm, expiredAccessToken } from '../support/token-requests.js';

const ORDERS_API_SECRET = 'orders-api-secret-0123456789';
const ORDERS_API = basic('orders-api', ORDERS_API_SECRET);
const INACTIVE = { active: false };
const SCOPE = 'openid offline_access read:orders';
const INTROSPECTION_URL = `${ISSUER}oauth/introspect`;

interface Server extends TestServer {
  /** Requests the host's own introspection endpoint received, with the body it parsed. */
  hostIntrospections: unknown[];
}

/** The test server; its Orders API allows offline access and introspects as `orders-api`. */
async function server(overrides: Partial<CustomTokenExchangeOptions> = {}): Promise<Server> {
  const base = await testServer(overrides);
  await base.cte.resourceServers.update(API, {
    allow_offline_access: true,
    introspection: { client_id: 'orders-api', client_secret: ORDERS_API_SECRET },
  });
  return { ...base, hostIntrospections: hostEndpoint(base.app, '/oauth/introspect') };
}

async function tokens(
  s: TestServer,
  extra: Record<string, string> = {},
  auth: string | null = APP,
) {
  const req = request(s.app).post('/oauth/token');
  if (auth) req.set('Authorization', auth);
  const res = await req.type('form').send(form(exchangeBody({ scope: SCOPE, ...extra })));
  expect(res.status, JSON.stringify(res.body)).to.equal(200);
  return res.body as { access_token: string; refresh_token?: string };
}

function claimsOf(jwt: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(jwt.split('.')[1]!, 'base64url').toString()) as Record<
    string,
    unknown
  >;
}

function introspect(
  s: TestServer,
  body: Record<string, string>,
  auth: string | null = APP,
  app = s.app,
) {
  return postForm(app, '/oauth/introspect', body, auth);
}

describe('POST /oauth/introspect (RFC 7662)', () => {
  let s: Server;
  beforeEach(async () => {
    s = await server();
  });

  it('tells a client about its own active access token: every RFC 7662 member, no-store JSON', async () => {
    const { access_token } = await tokens(s);
    const res = await introspect(s, { token: access_token, token_type_hint: 'access_token' });
    expect(res.status).to.equal(200);
    expect(res.headers).to.include(NO_STORE);
    expect(res.headers['content-type']).to.match(/^application\/json/);
    const claims = claimsOf(access_token);
    expect(res.body).to.deep.equal({
      active: true,
      scope: SCOPE,
      client_id: 'app',
      token_type: 'Bearer',
      exp: claims.exp,
      iat: claims.iat,
      sub: 'auth0|alice',
      aud: API,
      iss: ISSUER,
      jti: claims.jti,
    });
    expect(s.hostIntrospections).to.deep.equal([]);
    // Introspection writes no log entry: resource servers may call it on every request.
    expect((await s.cte.logs.list()).map((entry) => entry.type)).to.deep.equal(['secte']);
  });

  it('tells a client about its own active refresh token, and nothing about a retired one', async () => {
    const { refresh_token } = await tokens(s);
    const [family] = await s.cte.refreshTokens.listForUser('auth0|alice');
    const res = await introspect(s, { token: refresh_token! });
    expect(res.body).to.deep.equal({
      active: true,
      scope: SCOPE,
      client_id: 'app',
      exp: Math.floor(Date.parse(family!.idle_expires_at!) / 1000),
      iat: Math.floor(Date.parse(family!.created_at) / 1000),
      sub: 'auth0|alice',
      aud: API,
      iss: ISSUER,
    });
    const rotated = await request(s.app)
      .post('/oauth/token')
      .set('Authorization', APP)
      .type('form')
      .send(form({ grant_type: 'refresh_token', refresh_token: refresh_token! }))
      .expect(200);
    // The retired token is inactive; asking about it is not reuse: the family lives on.
    expect((await introspect(s, { token: refresh_token! })).body).to.deep.equal(INACTIVE);
    expect((await introspect(s, { token: rotated.body.refresh_token })).body.active).to.equal(true);
  });

  it('tells a resource server about the access tokens for its audience, whoever holds them', async () => {
    const mine = await tokens(s);
    const other = await tokens(s, { client_id: 'post-app', client_secret: SECRET }, null);
    for (const { access_token } of [mine, other]) {
      const res = await introspect(s, { token: access_token }, ORDERS_API);
      expect(res.status).to.equal(200);
      expect(res.body).to.include({
        active: true,
        aud: API,
        client_id: claimsOf(access_token).client_id,
      });
    }
    // Not the tokens of another API, and never refresh tokens.
    const rsApi = await tokens(s, { audience: RS_API, scope: 'read:stuff' });
    expect((await introspect(s, { token: rsApi.access_token }, ORDERS_API)).body).to.deep.equal(
      INACTIVE,
    );
    expect((await introspect(s, { token: mine.refresh_token! }, ORDERS_API)).body).to.deep.equal(
      INACTIVE,
    );
  });

  it('answers active:false to a client about another client’s tokens', async () => {
    const { access_token, refresh_token } = await tokens(s);
    const postApp = { client_id: 'post-app', client_secret: SECRET };
    for (const token of [access_token, refresh_token!]) {
      const res = await introspect(s, { token, ...postApp }, null);
      expect(res.status).to.equal(200);
      expect(res.body).to.deep.equal(INACTIVE);
    }
  });

  it('answers active:false for unknown, forged, expired and revoked tokens', async () => {
    const { access_token, refresh_token } = await tokens(s);
    const [header, payload, signature] = access_token.split('.') as [string, string, string];
    const forged = Buffer.from(
      JSON.stringify({ ...claimsOf(access_token), scope: 'write:orders' }),
    ).toString('base64url');
    const expired = await expiredAccessToken(61);
    for (const token of [
      `cte_rt_${'Q'.repeat(22)}.${'Q'.repeat(43)}`,
      `${header}.${forged}.${signature}`,
      `${header}.${payload}.${signature.slice(0, -4)}AAAA`,
      expired,
    ]) {
      expect((await introspect(s, { token })).body, token.slice(0, 30)).to.deep.equal(INACTIVE);
    }
    await request(s.app)
      .post('/oauth/revoke')
      .set('Authorization', APP)
      .type('form')
      .send(form({ token: access_token }))
      .expect(200);
    await s.cte.refreshTokens.revoke(refresh_token!);
    expect((await introspect(s, { token: access_token })).body).to.deep.equal(INACTIVE);
    expect((await introspect(s, { token: access_token }, ORDERS_API)).body).to.deep.equal(INACTIVE);
    expect((await introspect(s, { token: refresh_token! })).body).to.deep.equal(INACTIVE);
  });

  it('includes act for a delegated token', async () => {
    const actor = { sub: 'agent-7', act: { sub: 'platform' } };
    const subject = `actor:${Buffer.from(JSON.stringify(actor)).toString('base64url')}`;
    const { access_token } = await tokens(s, { subject_token: subject });
    const res = await introspect(s, { token: access_token }, ORDERS_API);
    expect(res.body).to.include({ active: true, sub: 'auth0|alice' });
    expect(res.body.act).to.deep.equal(actor);
  });

  it('authenticates the caller: 401 invalid_client without credentials, with wrong ones, or as a public client', async () => {
    const { access_token } = await tokens(s);
    const none = await introspect(s, { token: access_token }, null);
    expect(none.status).to.equal(401);
    expect(none.headers).to.include(NO_STORE);
    expect(none.body).to.deep.equal({
      error: 'invalid_client',
      error_description: 'Client authentication is required.',
    });
    const wrong = await introspect(s, { token: access_token }, basic('orders-api', 'x'.repeat(20)));
    expect(wrong.status).to.equal(401);
    expect(wrong.headers['www-authenticate']).to.match(/^Basic /);
    const spa = await introspect(s, { token: access_token, client_id: 'spa' }, null);
    expect(spa.status).to.equal(401);
    expect(spa.body).to.deep.equal({
      error: 'invalid_client',
      error_description: 'Client authentication failed.',
    });
  });

  it('refuses a repeated token with 400 invalid_request', async () => {
    const { access_token } = await tokens(s);
    const res = await request(s.app)
      .post('/oauth/introspect')
      .set('Authorization', APP)
      .type('form')
      .send(form({ token: [access_token, access_token] }));
    expect(res.status).to.equal(400);
    expect(res.body).to.deep.equal({
      error: 'invalid_request',
      error_description: 'parameter token is repeated',
    });
  });

  it('hands tokens it did not issue to the host’s own introspection endpoint, untouched', async () => {
    await introspect(s, { token: 'host-token', token_type_hint: 'access_token' }).expect(200, {
      host: true,
    });
    await introspect(s, { client_id: 'x' }, null).expect(200, { host: true });
    expect(s.hostIntrospections).to.deep.equal([
      { token: 'host-token', token_type_hint: 'access_token' },
      { client_id: 'x' },
    ]);
  });

  it('sees a revocation made through another instance sharing the revoked-token store', async () => {
    const revokedTokens = new MemoryRevokedTokenStore();
    const a = await server({ stores: { revokedTokens } });
    const b = await server({ stores: { revokedTokens } });
    const { access_token } = await tokens(a);
    expect((await introspect(b, { token: access_token }, ORDERS_API)).body.active).to.equal(true);
    await request(a.app)
      .post('/oauth/revoke')
      .set('Authorization', APP)
      .type('form')
      .send(form({ token: access_token }))
      .expect(200);
    expect((await introspect(b, { token: access_token }, ORDERS_API)).body).to.deep.equal(INACTIVE);
  });
});

describe('private_key_jwt audiences at the revocation and introspection endpoints', () => {
  async function jwtAppToken(s: TestServer): Promise<string> {
    const res = await request(s.app)
      .post('/oauth/token')
      .type('form')
      .send(form(exchangeBody({ ...assertionParams(await clientAssertion()) })));
    expect(res.status, JSON.stringify(res.body)).to.equal(200);
    return res.body.access_token as string;
  }

  async function call(s: TestServer, path: string, token: string, aud: string) {
    return request(s.app)
      .post(path)
      .type('form')
      .send(form({ token, ...assertionParams(await clientAssertion({ claims: { aud } })) }));
  }

  it('accepts the issuer and the token endpoint URL, as the token endpoint does', async () => {
    const s = await testServer();
    const token = await jwtAppToken(s);
    for (const aud of [ISSUER, `${ISSUER}oauth/token`]) {
      const res = await call(s, '/oauth/introspect', token, aud);
      expect(res.status, aud).to.equal(200);
      expect(res.body.active, aud).to.equal(true);
    }
    expect((await call(s, '/oauth/revoke', token, `${ISSUER}oauth/token`)).status).to.equal(200);
    expect((await call(s, '/oauth/introspect', token, ISSUER)).body).to.deep.equal(INACTIVE);
  });

  it('refuses the endpoint’s own URL by default (rfc7523bis), and accepts it when told to', async () => {
    const s = await testServer();
    const token = await jwtAppToken(s);
    for (const [path, aud] of [
      ['/oauth/introspect', INTROSPECTION_URL],
      ['/oauth/revoke', `${ISSUER}oauth/revoke`],
    ] as const) {
      const res = await call(s, path, token, aud);
      expect(res.status, path).to.equal(401);
      expect(res.body, path).to.deep.equal({
        error: 'invalid_client',
        error_description: 'Client authentication failed.',
      });
    }
    const lenient = await testServer({ clientAssertions: { acceptEndpointUrlAudience: true } });
    const other = await jwtAppToken(lenient);
    expect(
      (await call(lenient, '/oauth/introspect', other, INTROSPECTION_URL)).body.active,
    ).to.equal(true);
    // Each endpoint accepts its own URL only.
    expect((await call(lenient, '/oauth/revoke', other, INTROSPECTION_URL)).status).to.equal(401);
    expect((await call(lenient, '/oauth/revoke', other, `${ISSUER}oauth/revoke`)).status).to.equal(
      200,
    );
    expect((await call(lenient, '/oauth/introspect', other, ISSUER)).body).to.deep.equal(INACTIVE);
  });
});
