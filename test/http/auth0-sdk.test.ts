import { AuthApiError, AuthenticationClient } from 'auth0/legacy';
import type { AuthenticationClientOptions } from 'auth0/legacy';
import { expect } from 'chai';
import { createLocalJWKSet, exportPKCS8, jwtVerify } from 'jose';
import type { JSONWebKeySet, JWTVerifyGetKey } from 'jose';
import { JWT_BEARER } from '../support/client-assertion.js';
import {
  ACCESS_TOKEN_TYPE,
  API,
  SECRET,
  SUBJECT_TYPE,
  clientAssertionKeys,
  testServer,
} from '../support/fixtures.js';
import type { TestServer } from '../support/fixtures.js';
import { startHttpsServer } from '../support/https-server.js';
import type { TestHttpsServer } from '../support/https-server.js';
import { rejectionOf as rejection } from '../support/rejections.js';

/**
 * Spec §2 "Wire compatibility": an app using Auth0's own Node SDK works against the router
 * unchanged when the router is served over HTTPS at the root of a host whose `issuer` is
 * `https://that-host/`.
 *
 * `auth0` v7 no longer ships `AuthenticationClient` in its main entry point; it keeps the v4 API
 * (with `tokenExchange.exchangeToken`) under `auth0/legacy`, which is what apps use. The SDK
 * authenticates with `client_secret_post` (it never sends Basic) or, given a signing key, with a
 * `private_key_jwt` assertion whose `aud` is `https://{domain}/`. It is given a `fetch` that
 * trusts the test certificate only: TLS checks stay on for everything else.
 */

const SCOPE = 'openid profile email read:orders';

describe('the auth0 SDK (AuthenticationClient) against the router over HTTPS', () => {
  let host: TestHttpsServer;
  let server: TestServer;
  let issuer: string;
  let domain: string;

  before(async () => {
    host = await startHttpsServer();
    domain = `localhost:${host.port}`;
    issuer = `https://${domain}/`;
    server = await testServer({ issuer });
    host.use(server.app);
  });
  after(async () => {
    await host.close();
    await server.cte.close();
  });
  beforeEach(() => {
    host.sent.length = 0;
  });

  function sdk(options: Omit<AuthenticationClientOptions, 'domain'>): AuthenticationClient {
    return new AuthenticationClient({ domain, fetch: host.fetch, ...options });
  }

  async function routerKeys(): Promise<JWTVerifyGetKey> {
    const res = await host.fetch(`${host.origin}/.well-known/jwks.json`);
    expect(res.status).to.equal(200);
    return createLocalJWKSet((await res.json()) as JSONWebKeySet);
  }

  /** The one token request the SDK sent, its form body decoded. */
  function sentTokenRequest() {
    const tokenRequests = host.sent.filter((r) => r.url === `${host.origin}/oauth/token`);
    expect(tokenRequests).to.have.length(1);
    const sent = tokenRequests[0]!;
    expect(sent.method).to.equal('POST');
    expect(sent.headers['content-type']).to.equal('application/x-www-form-urlencoded');
    return { headers: sent.headers, body: Object.fromEntries(new URLSearchParams(sent.body)) };
  }

  it('serves the router at the root over HTTPS with a certificate only the test fetch trusts', async () => {
    let refused: unknown;
    try {
      await fetch(`${host.origin}/.well-known/jwks.json`);
    } catch (err) {
      refused = err;
    }
    expect((refused as Error & { cause?: { code?: string } })?.cause?.code).to.equal(
      'DEPTH_ZERO_SELF_SIGNED_CERT',
    );
    const res = await host.fetch(`${host.origin}/.well-known/jwks.json`);
    expect(res.status).to.equal(200);
  });

  it('passes organization through exchangeToken: org_id in the tokens', async () => {
    await server.cte.clients.create({
      client_id: 'org-sdk-app',
      client_secret: SECRET,
      name: 'Org SDK app',
      organization_usage: 'require',
      token_exchange: { allow_any_profile_of_type: ['custom_authentication'] },
    });
    const org = await server.cte.organizations.create({ name: 'sdk-org' });
    await server.cte.organizations.connections.set(org.id, {
      connection: 'Username-Password-Authentication',
    });
    await server.cte.organizations.members.add(org.id, ['auth0|alice']);
    const auth0 = sdk({ clientId: 'org-sdk-app', clientSecret: SECRET });
    const data = await auth0.tokenExchange.exchangeToken({
      subject_token: 'user:auth0|alice',
      subject_token_type: SUBJECT_TYPE,
      audience: API,
      scope: 'openid read:orders',
      organization: org.id,
    });
    const keys = await routerKeys();
    const access = await jwtVerify(data.access_token, keys, { issuer, audience: API });
    expect(access.payload.org_id).to.equal(org.id);
    const id = await jwtVerify(data.id_token, keys, { issuer, audience: 'org-sdk-app' });
    expect(id.payload.org_id).to.equal(org.id);
    expect(sentTokenRequest().body).to.include({ organization: org.id });
  });

  it('exchanges a token with tokenExchange.exchangeToken and client_secret_post', async () => {
    const auth0 = sdk({ clientId: 'post-app', clientSecret: SECRET });
    const data = await auth0.tokenExchange.exchangeToken({
      subject_token: 'user:auth0|alice',
      subject_token_type: SUBJECT_TYPE,
      audience: API,
      scope: SCOPE,
    });

    expect(data).to.deep.equal({
      access_token: data.access_token,
      issued_token_type: ACCESS_TOKEN_TYPE,
      token_type: 'Bearer',
      expires_in: 3600,
      scope: SCOPE,
      id_token: data.id_token,
    });

    const keys = await routerKeys();
    const access = await jwtVerify(data.access_token, keys, {
      issuer,
      audience: API,
      typ: 'at+jwt',
    });
    const { iat, exp, jti } = access.payload;
    expect(access.payload).to.deep.equal({
      iss: issuer,
      sub: 'auth0|alice',
      aud: API,
      iat,
      exp,
      jti,
      client_id: 'post-app',
      scope: SCOPE,
    });
    expect(exp! - iat!).to.equal(3600);

    // The ID token passes what the SDK's own ID token validator checks (used by its oauth
    // grants): RS256 or HS256, iss = https://{domain}/, aud = client id, sub, exp, iat.
    const id = await jwtVerify(data.id_token, keys, {
      issuer,
      audience: 'post-app',
      algorithms: ['RS256', 'HS256'],
    });
    expect(id.payload).to.include({
      iss: issuer,
      sub: 'auth0|alice',
      aud: 'post-app',
      email: 'alice@example.com',
      name: 'Alice Liddell',
    });
    expect(id.payload.exp).to.be.a('number');
    expect(id.payload.iat).to.be.a('number');

    // What the SDK sent: client_secret_post, no Authorization header, its telemetry header.
    const sent = sentTokenRequest();
    expect(sent.headers).not.to.have.property('authorization');
    expect(sent.headers['auth0-client']).to.be.a('string');
    expect(sent.body).to.deep.equal({
      subject_token: 'user:auth0|alice',
      subject_token_type: SUBJECT_TYPE,
      audience: API,
      scope: SCOPE,
      grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
      client_id: 'post-app',
      client_secret: SECRET,
    });

    const [entry] = await server.cte.logs.list();
    expect(entry).to.include({
      type: 'secte',
      client_id: 'post-app',
      hostname: 'localhost',
      audience: API,
      scope: SCOPE,
      user_id: 'auth0|alice',
    });
    expect(entry!.details.access_token_jti).to.equal(jti);
  });

  it('exchanges a token with the SDK signing a private_key_jwt assertion (aud = https://{domain}/)', async () => {
    const { privateKey } = await clientAssertionKeys();
    const auth0 = sdk({
      clientId: 'jwt-app',
      clientAssertionSigningKey: await exportPKCS8(privateKey),
      clientAssertionSigningAlg: 'ES256',
    });
    const data = await auth0.tokenExchange.exchangeToken({
      subject_token: 'user:auth0|alice',
      subject_token_type: SUBJECT_TYPE,
      audience: API,
      scope: 'read:orders',
    });
    expect(data).to.deep.equal({
      access_token: data.access_token,
      issued_token_type: ACCESS_TOKEN_TYPE,
      token_type: 'Bearer',
      expires_in: 3600,
      scope: 'read:orders',
    });
    const access = await jwtVerify(data.access_token, await routerKeys(), {
      issuer,
      audience: API,
    });
    expect(access.payload.client_id).to.equal('jwt-app');

    const sent = sentTokenRequest();
    expect(sent.body).to.include({
      client_id: 'jwt-app',
      client_assertion_type: JWT_BEARER,
    });
    expect(sent.body).not.to.have.property('client_secret');
    const assertion = await jwtVerify(sent.body.client_assertion!, await clientPublicKey(), {
      issuer: 'jwt-app',
      subject: 'jwt-app',
      audience: issuer,
    });
    expect(assertion.payload.jti).to.be.a('string');
  });

  it("surfaces the router's OAuth error as the SDK's AuthApiError (a rejected subject token)", async () => {
    const auth0 = sdk({ clientId: 'post-app', clientSecret: SECRET });
    const err = await rejection(
      auth0.tokenExchange.exchangeToken({
        subject_token: 'reject',
        subject_token_type: SUBJECT_TYPE,
        audience: API,
        scope: SCOPE,
      }),
    );
    expect(err).to.be.instanceOf(AuthApiError);
    const apiError = err as AuthApiError;
    const body = { error: 'invalid_request', error_description: 'the subject token is invalid' };
    expect(apiError).to.include({
      name: 'AuthApiError',
      message: 'the subject token is invalid',
      error: 'invalid_request',
      error_description: 'the subject token is invalid',
      statusCode: 400,
    });
    expect(JSON.parse(apiError.body)).to.deep.equal(body);
    expect(apiError.headers.get('cache-control')).to.equal('no-store');
    const [entry] = await server.cte.logs.list();
    expect(entry).to.include({ type: 'fecte', client_id: 'post-app' });
    expect(entry!.details).to.include({ error: 'invalid_request', cause: 'invalid subject token' });
  });

  it('surfaces 401 invalid_client for a client registered for Basic, which the SDK never sends', async () => {
    const auth0 = sdk({ clientId: 'app', clientSecret: SECRET });
    const err = await rejection(
      auth0.tokenExchange.exchangeToken({
        subject_token: 'user:auth0|alice',
        subject_token_type: SUBJECT_TYPE,
        audience: API,
      }),
    );
    expect(err).to.be.instanceOf(AuthApiError);
    expect(err).to.include({
      error: 'invalid_client',
      error_description: 'Client authentication failed.',
      statusCode: 401,
    });
    expect((err as AuthApiError).headers.get('www-authenticate')).to.equal(null);
    expect(sentTokenRequest().body).to.include({ client_id: 'app', client_secret: SECRET });
    expect((await server.cte.logs.list())[0]!.details.cause).to.equal(
      'client is registered for client_secret_basic, not client_secret_post',
    );
  });
});

async function clientPublicKey(): Promise<JWTVerifyGetKey> {
  const { jwk } = await clientAssertionKeys();
  return createLocalJWKSet({ keys: [jwk] });
}
