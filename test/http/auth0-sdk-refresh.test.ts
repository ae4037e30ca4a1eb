import https from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { LookupFunction } from 'node:net';
import { AuthApiError, AuthenticationClient } from 'auth0/legacy';
import type { AuthenticationClientOptions } from 'auth0/legacy';
import { expect } from 'chai';
import { createLocalJWKSet, decodeProtectedHeader, exportPKCS8, jwtVerify } from 'jose';
import type { JSONWebKeySet } from 'jose';
import { JWT_BEARER } from '../support/client-assertion.js';
import { API, SECRET, SUBJECT_TYPE, clientAssertionKeys, testServer } from '../support/fixtures.js';
import type { TestServer } from '../support/fixtures.js';
import { startHttpsServer } from '../support/https-server.js';
import type { TestHttpsServer } from '../support/https-server.js';
import { rejectionOf as rejection } from '../support/rejections.js';

/**
 * Spec §2 "Wire compatibility", refresh tokens: Auth0's own SDK (`auth0/legacy`, the v4
 * `AuthenticationClient` inside auth0 v7) refreshes with `oauth.refreshTokenGrant` and revokes
 * with `oauth.revokeRefreshToken` against the router, unchanged.
 *
 * `refreshTokenGrant` validates the ID token it gets back: RS256 against
 * `https://{domain}/.well-known/jwks.json` (fetched by jose's `createRemoteJWKSet` with the SDK's
 * `agent`, not with its `fetch`), or HS256 with the client secret. So the SDK gets two things
 * that trust the test certificate: the `fetch` for its requests, and an `https.Agent` for the
 * JWKS. TLS verification stays on everywhere.
 */

const SCOPE = 'openid profile email offline_access read:orders';

describe('the auth0 SDK refreshing and revoking against the router over HTTPS', () => {
  let host: TestHttpsServer;
  let server: TestServer;
  let domain: string;
  let issuer: string;
  /** Paths the server was asked for, whoever asked (the SDK's fetch or jose's https.get). */
  let served: string[];
  let jwksAgent: https.Agent;

  before(async () => {
    host = await startHttpsServer();
    domain = `localhost:${host.port}`;
    issuer = `https://${domain}/`;
    server = await testServer({ issuer });
    await server.cte.resourceServers.update(API, { allow_offline_access: true });
    served = [];
    host.use((req: IncomingMessage, res: ServerResponse) => {
      served.push(req.url ?? '');
      server.app(req, res);
    });
    // `localhost` is served on 127.0.0.1 only; resolve it there whatever the resolver prefers.
    const lookup = ((_host, options, callback) => {
      if ((options as { all?: boolean }).all) callback(null, [{ address: '127.0.0.1', family: 4 }]);
      else (callback as (err: null, address: string, family: number) => void)(null, '127.0.0.1', 4);
    }) as LookupFunction;
    jwksAgent = new https.Agent({ ca: host.ca, lookup });
  });
  after(async () => {
    jwksAgent.destroy();
    await host.close();
    await server.cte.close();
  });
  beforeEach(() => {
    host.sent.length = 0;
    served.length = 0;
  });

  function sdk(options: Omit<AuthenticationClientOptions, 'domain'>): AuthenticationClient {
    return new AuthenticationClient({
      domain,
      fetch: host.fetch,
      agent: jwksAgent as unknown as NonNullable<AuthenticationClientOptions['agent']>,
      ...options,
    });
  }

  async function routerKeys() {
    const res = await host.fetch(`${host.origin}/.well-known/jwks.json`);
    return createLocalJWKSet((await res.json()) as JSONWebKeySet);
  }

  /** A refresh token for alice, from the SDK's own token exchange. */
  async function exchange(auth0: AuthenticationClient, scope = SCOPE): Promise<string> {
    const data = await auth0.tokenExchange.exchangeToken({
      subject_token: 'user:auth0|alice',
      subject_token_type: SUBJECT_TYPE,
      audience: API,
      scope,
    });
    expect(data.scope).to.equal(scope);
    const refreshToken = (data as { refresh_token?: string }).refresh_token;
    expect(refreshToken).to.match(/^cte_rt_/);
    return refreshToken!;
  }

  function sentBody(path: string) {
    const requests = host.sent.filter((r) => r.url === `${host.origin}${path}`);
    expect(requests).to.have.length(1);
    return requests[0]!;
  }

  it('refreshes with oauth.refreshTokenGrant, whose RS256 ID token check fetches the router’s JWKS', async () => {
    const auth0 = sdk({ clientId: 'post-app', clientSecret: SECRET });
    const refreshToken = await exchange(auth0);
    host.sent.length = 0;
    served.length = 0;

    const { data } = await auth0.oauth.refreshTokenGrant({ refresh_token: refreshToken });
    expect(data).to.deep.equal({
      access_token: data.access_token,
      token_type: 'Bearer',
      expires_in: 3600,
      scope: SCOPE,
      id_token: data.id_token,
      refresh_token: data.refresh_token,
    });
    expect(data.refresh_token).to.match(/^cte_rt_/);
    expect(data.refresh_token).not.to.equal(refreshToken);
    // The SDK validated the ID token with keys it fetched itself (through the agent).
    expect(served).to.deep.equal(['/oauth/token', '/.well-known/jwks.json']);
    expect(decodeProtectedHeader(data.id_token!)).to.include({ alg: 'RS256', kid: 'rs-1' });

    const keys = await routerKeys();
    const access = await jwtVerify(data.access_token, keys, { issuer, audience: API });
    expect(access.payload).to.include({ sub: 'auth0|alice', client_id: 'post-app', scope: SCOPE });
    const id = await jwtVerify(data.id_token!, keys, { issuer, audience: 'post-app' });
    expect(id.payload).to.include({ sub: 'auth0|alice', email: 'alice@example.com' });

    const sent = sentBody('/oauth/token');
    expect(Object.fromEntries(new URLSearchParams(sent.body))).to.deep.equal({
      client_id: 'post-app',
      refresh_token: refreshToken,
      client_secret: SECRET,
      grant_type: 'refresh_token',
    });
    const [entry] = await server.cte.logs.list();
    expect(entry).to.include({
      type: 'sertft',
      client_id: 'post-app',
      hostname: 'localhost',
      scope: SCOPE,
    });
  });

  it('fails the SDK’s ID token check when it cannot reach the JWKS (proving the check runs)', async () => {
    const trusting = sdk({ clientId: 'post-app', clientSecret: SECRET });
    const refreshToken = await exchange(trusting);
    const untrusting = new AuthenticationClient({
      domain,
      fetch: host.fetch,
      clientId: 'post-app',
      clientSecret: SECRET,
    });
    const err = await rejection(
      untrusting.oauth.refreshTokenGrant({ refresh_token: refreshToken }),
    );
    expect(err).not.to.be.instanceOf(AuthApiError);
    expect(String((err as Error & { code?: string }).code ?? (err as Error).message)).to.match(
      /SELF_SIGNED|self-signed|self signed/i,
    );
  });

  it('narrows the scope with refreshTokenGrant({ scope }), without an ID token when openid is left out', async () => {
    const auth0 = sdk({ clientId: 'post-app', clientSecret: SECRET });
    const refreshToken = await exchange(auth0);
    const { data } = await auth0.oauth.refreshTokenGrant({
      refresh_token: refreshToken,
      scope: 'read:orders',
    });
    expect(data).to.include({ scope: 'read:orders', token_type: 'Bearer' });
    expect(data).not.to.have.property('id_token');
  });

  it('validates an HS256 ID token with the client secret (idTokenSigningAlg HS256)', async () => {
    const auth0 = sdk({ clientId: 'hs-app', clientSecret: SECRET, idTokenSigningAlg: 'HS256' });
    const refreshToken = await exchange(auth0);
    served.length = 0;
    const { data } = await auth0.oauth.refreshTokenGrant({ refresh_token: refreshToken });
    expect(decodeProtectedHeader(data.id_token!)).to.deep.equal({ alg: 'HS256', typ: 'JWT' });
    // HS256 needs no keys from the server.
    expect(served).to.deep.equal(['/oauth/token']);
  });

  it('refreshes and revokes with a private_key_jwt client (assertion aud = https://{domain}/)', async () => {
    const { privateKey } = await clientAssertionKeys();
    const auth0 = sdk({
      clientId: 'jwt-app',
      clientAssertionSigningKey: await exportPKCS8(privateKey),
      clientAssertionSigningAlg: 'ES256',
    });
    const refreshToken = await exchange(auth0);
    const { data } = await auth0.oauth.refreshTokenGrant({ refresh_token: refreshToken });
    expect(data.refresh_token).to.match(/^cte_rt_/);
    host.sent.length = 0;
    await auth0.oauth.revokeRefreshToken({ token: data.refresh_token! });
    const sent = JSON.parse(sentBody('/oauth/revoke').body) as Record<string, string>;
    expect(sent).to.include({ client_id: 'jwt-app', client_assertion_type: JWT_BEARER });
    const [family] = await server.cte.refreshTokens
      .listForUser('auth0|alice')
      .then((families) => families.filter((f) => f.client_id === 'jwt-app'));
    expect(family).to.include({ active: false });
  });

  it('revokes with oauth.revokeRefreshToken (a JSON body); a later refresh is invalid_grant', async () => {
    const auth0 = sdk({ clientId: 'post-app', clientSecret: SECRET });
    const refreshToken = await exchange(auth0);
    host.sent.length = 0;

    const revoked = await auth0.oauth.revokeRefreshToken({ token: refreshToken });
    expect(revoked.status).to.equal(200);
    const sent = sentBody('/oauth/revoke');
    expect(sent.headers['content-type']).to.equal('application/json');
    expect(JSON.parse(sent.body)).to.deep.equal({
      client_id: 'post-app',
      token: refreshToken,
      client_secret: SECRET,
    });
    expect((await server.cte.logs.list())[0]).to.include({ type: 'srrt', client_id: 'post-app' });

    const err = await rejection(auth0.oauth.refreshTokenGrant({ refresh_token: refreshToken }));
    expect(err).to.be.instanceOf(AuthApiError);
    expect(err).to.include({
      error: 'invalid_grant',
      error_description: 'Unknown or invalid refresh token.',
      statusCode: 400,
    });
    expect((await server.cte.logs.list())[0]).to.include({ type: 'fertft', client_id: 'post-app' });
  });
});
