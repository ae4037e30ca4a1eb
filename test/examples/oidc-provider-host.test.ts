import { expect } from 'chai';
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import type { JSONWebKeySet, JWTVerifyGetKey } from 'jose';
import { capture } from '../support/example-process.js';
import {
  STARTUP_TIMEOUT_MS,
  expectExampleIssued,
  runningExample,
} from '../support/example-http.js';
import type { Json } from '../support/example-http.js';
import { GRANT } from '../support/fixtures.js';

const API = 'https://api.acme.example/orders';
const USER_ID = 'partner-idp|jane-42';

/** What the banner printed. */
interface Banner {
  issuer: string;
  clientId: string;
  clientSecret: string;
  subjectTokenType: string;
  subjectToken: string;
  authorizeUrl: string;
}

function parseBanner(output: string): Banner {
  const [clientId, clientSecret] = capture(output, /^\s+-u (\S+) \\$/m, '-u').split(':') as [
    string,
    string,
  ];
  return {
    issuer: capture(output, /^Issuer: (\S+)/m, 'the issuer'),
    clientId,
    clientSecret,
    subjectTokenType: capture(output, /^\s+-d subject_token_type=(\S+) \\$/m, 'the token type'),
    subjectToken: capture(output, /^\s+-d subject_token=(\S+) \\$/m, 'the subject token'),
    authorizeUrl: capture(output, /^(http\S+\/auth\?\S+)$/m, 'the authorization URL'),
  };
}

/** A tiny cookie jar: the provider's interaction and session cookies across redirects. */
class CookieJar {
  readonly #cookies = new Map<string, string>();

  take(res: Response): void {
    for (const line of res.headers.getSetCookie()) {
      const [pair = ''] = line.split(';');
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      if (value === '') this.#cookies.delete(name);
      else this.#cookies.set(name, value);
    }
  }

  header(): string {
    return [...this.#cookies].map(([name, value]) => `${name}=${value}`).join('; ');
  }
}

describe('examples/oidc-provider-host end to end (oidc-provider behind the router)', function () {
  this.timeout(STARTUP_TIMEOUT_MS);
  const server = runningExample('examples/oidc-provider-host/server.ts', {
    ready: /^Provider JWKS: \S+ +Tenant logs: \S+$/m,
  });
  let banner: Banner;
  let issuer: string;
  let discovery: Json;
  /** The keys published at the discovery document's jwks_uri (served by the provider). */
  let providerKeys: JWTVerifyGetKey;

  before(async () => {
    banner = parseBanner(server.stdout);
    issuer = banner.issuer;
    discovery = (await (await fetch(`${issuer}/.well-known/openid-configuration`)).json()) as Json;
    const jwks = (await (await fetch(String(discovery.jwks_uri))).json()) as JSONWebKeySet;
    providerKeys = createLocalJWKSet(jwks);
  });

  function basic(secret = banner.clientSecret): string {
    return `Basic ${Buffer.from(`${banner.clientId}:${secret}`).toString('base64')}`;
  }

  function postToken(params: Record<string, string>, secret?: string): Promise<Response> {
    return fetch(`${issuer}/oauth/token`, {
      method: 'POST',
      headers: {
        authorization: basic(secret),
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: new URLSearchParams(params),
    });
  }

  function exchange(subjectToken: string, secret?: string): Promise<Response> {
    return postToken(
      {
        grant_type: GRANT,
        subject_token_type: banner.subjectTokenType,
        subject_token: subjectToken,
        resource: API,
        scope: 'openid profile email read:orders',
      },
      secret,
    );
  }

  /**
   * Asserts an answer of the provider's own grants: 200, no-store, a Bearer access token of an
   * hour for `scope`, and an ID token when `withIdToken`; returns the body.
   */
  async function expectProviderTokens(
    res: Response,
    scope: string,
    withIdToken = false,
  ): Promise<Json> {
    const body = (await res.json()) as Json;
    expect(res.status, JSON.stringify(body)).to.equal(200);
    expect(res.headers.get('cache-control')).to.equal('no-store');
    const idToken = withIdToken ? { id_token: body.id_token } : {};
    expect(body).to.deep.equal({
      access_token: body.access_token,
      expires_in: 3600,
      ...idToken,
      scope,
      token_type: 'Bearer',
    });
    return body;
  }

  async function logs(): Promise<Json[]> {
    return (await (await fetch(`${issuer}/logs`)).json()) as Json[];
  }

  it('prints its issuer, both grants for one client, and the authorization URL', () => {
    expect(issuer).to.equal(`http://localhost:${server.port}`);
    expect(banner).to.deep.include({
      clientId: 'acme-app',
      subjectTokenType: 'urn:acme:partner-id-token',
    });
    expect(server.stdout).to.include(
      `curl -s ${issuer}/oauth/token \\\n  -u acme-app:${banner.clientSecret} \\\n  -d grant_type=client_credentials \\\n  -d resource=${API} \\\n  -d 'scope=read:orders'\n`,
    );
    expect(banner.subjectToken).to.match(/^[\w-]+\.[\w-]+\.[\w-]+$/);
    const authorize = new URL(banner.authorizeUrl);
    expect(`${authorize.origin}${authorize.pathname}`).to.equal(`${issuer}/auth`);
    expect(Object.fromEntries(authorize.searchParams)).to.deep.equal({
      client_id: 'acme-app',
      response_type: 'code',
      scope: 'openid email profile',
      redirect_uri: `${issuer}/callback`,
    });
  });

  it("serves the provider's discovery document: token endpoint /oauth/token, its own jwks_uri", () => {
    expect(discovery).to.deep.include({
      issuer,
      token_endpoint: `${issuer}/oauth/token`,
      jwks_uri: `${issuer}/jwks`,
      authorization_endpoint: `${issuer}/auth`,
      userinfo_endpoint: `${issuer}/me`,
      id_token_signing_alg_values_supported: ['ES256'],
      scopes_supported: ['openid', 'offline_access', 'email', 'profile'],
    });
    expect(discovery.grant_types_supported).to.include.members([
      'authorization_code',
      'client_credentials',
    ]);
  });

  it("publishes the same key at the provider's jwks_uri and the router's /.well-known/jwks.json", async () => {
    const fromProvider = (await (await fetch(`${issuer}/jwks`)).json()) as JSONWebKeySet;
    const fromRouter = (await (
      await fetch(`${issuer}/.well-known/jwks.json`)
    ).json()) as JSONWebKeySet;
    const [key] = fromProvider.keys;
    expect(fromProvider.keys).to.have.length(1);
    expect(key).to.deep.equal({
      kty: 'EC',
      use: 'sig',
      kid: 'acme-es256-1',
      alg: 'ES256',
      crv: 'P-256',
      x: key!.x,
      y: key!.y,
    });
    expect(fromRouter).to.deep.equal({ keys: [key] });
  });

  it("answers the provider's client_credentials grant at /oauth/token with a JWT the jwks_uri verifies", async () => {
    const logged = (await logs()).length;
    const res = await postToken({
      grant_type: 'client_credentials',
      resource: API,
      scope: 'read:orders',
    });
    const body = await expectProviderTokens(res, 'read:orders');
    const { payload, protectedHeader } = await jwtVerify(String(body.access_token), providerKeys, {
      issuer,
      audience: API,
      typ: 'at+jwt',
      algorithms: ['ES256'],
    });
    expect(protectedHeader).to.deep.equal({ alg: 'ES256', typ: 'at+jwt', kid: 'acme-es256-1' });
    expect(payload.exp! - payload.iat!).to.equal(3600);
    expect(payload).to.deep.equal({
      jti: payload.jti,
      sub: 'acme-app',
      iat: payload.iat,
      exp: payload.exp,
      scope: 'read:orders',
      client_id: 'acme-app',
      iss: issuer,
      aud: API,
    });
    // The provider's grant is not the router's: no tenant log entry.
    expect(await logs()).to.have.length(logged);
  });

  it('answers a custom token exchange at the same /oauth/token with the same client, tokens verified by the jwks_uri', async () => {
    const before = (await logs()).length;
    const res = await exchange(banner.subjectToken);
    const body = (await res.json()) as Json;
    expectExampleIssued(res, body, {
      scope: 'openid profile email read:orders',
      id_token: body.id_token,
    });

    const access = await jwtVerify(String(body.access_token), providerKeys, {
      issuer,
      audience: API,
      typ: 'at+jwt',
      algorithms: ['ES256'],
    });
    expect(access.protectedHeader).to.deep.equal({
      alg: 'ES256',
      typ: 'at+jwt',
      kid: 'acme-es256-1',
    });
    const { iat, exp, jti } = access.payload;
    expect(exp! - iat!).to.equal(3600);
    expect(access.payload).to.deep.equal({
      iss: issuer,
      sub: USER_ID,
      aud: API,
      iat,
      exp,
      jti,
      client_id: 'acme-app',
      scope: 'openid profile email read:orders',
    });

    const id = await jwtVerify(String(body.id_token), providerKeys, {
      issuer,
      audience: 'acme-app',
      typ: 'JWT',
      algorithms: ['ES256'],
    });
    expect(id.payload.exp! - id.payload.iat!).to.equal(3600);
    expect(id.payload).to.deep.equal({
      iss: issuer,
      sub: USER_ID,
      aud: 'acme-app',
      iat: id.payload.iat,
      exp: id.payload.exp,
      auth_time: id.payload.iat,
      name: 'Jane Partner',
      updated_at: id.payload.updated_at,
      email: 'jane@partner.example',
      email_verified: true,
    });

    const entries = await logs();
    expect(entries).to.have.length(before + 1);
    const [entry] = entries;
    expect(entry).to.deep.include({
      type: 'secte',
      client_id: 'acme-app',
      client_name: 'Acme App',
      audience: API,
      scope: 'openid profile email read:orders',
      user_id: USER_ID,
      user_name: 'jane@partner.example',
      connection: 'partner-idp',
    });
    expect((entry!.details as Json).access_token_jti).to.equal(jti);

    // Same key, but not the provider's token: its userinfo knows only tokens it stored itself.
    const userinfo = await fetch(`${issuer}/me`, {
      headers: { authorization: `Bearer ${String(body.access_token)}` },
    });
    expect(userinfo.status).to.equal(401);
    expect(await userinfo.json()).to.deep.equal({
      error: 'invalid_token',
      error_description: 'invalid token provided',
    });
  });

  it("lets the provider find the exchanged user: its code flow, ID token and userinfo read the router's user store", async () => {
    // 1. The app exchanges the partner token (the router creates or updates the user).
    const exchanged = (await (await exchange(banner.subjectToken)).json()) as Json;
    const exchangedId = await jwtVerify(String(exchanged.id_token), providerKeys, { issuer });

    // 2. It opens the provider's authorization endpoint; the provider asks for a login.
    const jar = new CookieJar();
    let res = await fetch(banner.authorizeUrl, { redirect: 'manual' });
    jar.take(res);
    expect(res.status).to.equal(303);
    const interaction = new URL(res.headers.get('location')!, issuer);
    expect(interaction.pathname).to.match(/^\/interaction\/[\w-]+$/);

    // 3. The login interaction takes the exchange's ID token and names its sub to the provider.
    res = await fetch(`${interaction.href}/login`, {
      method: 'POST',
      redirect: 'manual',
      headers: { cookie: jar.header(), 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ id_token: String(exchanged.id_token) }),
    });
    jar.take(res);
    expect(res.status, await res.text()).to.equal(303);
    const resume = new URL(res.headers.get('location')!, issuer);
    expect(resume.pathname).to.equal(`/auth/${interaction.pathname.split('/').pop()}`);

    // 4. The provider resumes (findAccount: the session's account) and redirects with a code.
    res = await fetch(resume, { redirect: 'manual', headers: { cookie: jar.header() } });
    jar.take(res);
    expect(res.status).to.equal(303);
    const callback = new URL(res.headers.get('location')!);
    expect(`${callback.origin}${callback.pathname}`).to.equal(`${issuer}/callback`);
    expect(callback.searchParams.get('iss')).to.equal(issuer);
    const code = callback.searchParams.get('code');
    expect(code).to.be.a('string');

    // 5. The code goes to the same /oauth/token: the router hands it to the provider
    //    (findAccount: the code's account).
    res = await postToken({
      grant_type: 'authorization_code',
      code: code!,
      redirect_uri: `${issuer}/callback`,
    });
    const tokens = await expectProviderTokens(res, 'openid email profile', true);
    const providerId = await jwtVerify(String(tokens.id_token), providerKeys, {
      issuer,
      audience: 'acme-app',
      algorithms: ['ES256'],
    });
    expect(decodeProtectedHeader(String(tokens.id_token))).to.deep.equal({
      alg: 'ES256',
      kid: 'acme-es256-1',
    });
    expect(providerId.payload.exp! - providerId.payload.iat!).to.equal(3600);
    expect(providerId.payload).to.deep.equal({
      sub: USER_ID,
      iat: providerId.payload.iat,
      exp: providerId.payload.exp,
      aud: 'acme-app',
      iss: issuer,
    });

    // 6. The provider's userinfo (findAccount: the access token's account) answers the profile
    //    the router stored, with the same updated_at as the exchange's ID token.
    res = await fetch(`${issuer}/me`, {
      headers: { authorization: `Bearer ${tokens.access_token as string}` },
    });
    const userinfo = (await res.json()) as Json;
    expect(res.status, JSON.stringify(userinfo)).to.equal(200);
    expect(userinfo).to.deep.equal({
      sub: USER_ID,
      email: 'jane@partner.example',
      email_verified: true,
      name: 'Jane Partner',
      updated_at: exchangedId.payload.updated_at,
    });
  });

  it('refuses a login with a token that is not an ID token of this issuer (the partner token)', async () => {
    const jar = new CookieJar();
    let res = await fetch(banner.authorizeUrl, { redirect: 'manual' });
    jar.take(res);
    const interaction = new URL(res.headers.get('location')!, issuer);
    res = await fetch(`${interaction.href}/login`, {
      method: 'POST',
      redirect: 'manual',
      headers: { cookie: jar.header(), 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ id_token: banner.subjectToken }),
    });
    expect(res.status).to.equal(400);
    expect(await res.json()).to.deep.equal({
      error: 'invalid_id_token',
      error_description: `not an undelegated ID token of ${issuer} for acme-app issued in the last 5m`,
    });
  });

  it('answers an invalid subject token with 400 invalid_request and writes a fecte entry', async () => {
    const [header, payload, signature] = banner.subjectToken.split('.') as [string, string, string];
    const forged = `${header}.${payload}.${signature.slice(0, -4)}AAAA`;
    const res = await exchange(forged);
    const body = (await res.json()) as Json;
    expect(res.status).to.equal(400);
    expect(res.headers.get('cache-control')).to.equal('no-store');
    expect(body).to.deep.equal({
      error: 'invalid_request',
      error_description: 'the partner ID token is invalid',
    });

    const [entry] = await logs();
    expect(entry).to.deep.include({
      type: 'fecte',
      description: 'the partner ID token is invalid',
      client_id: 'acme-app',
      client_name: 'Acme App',
      audience: API,
      scope: 'openid profile email read:orders',
    });
    const details = entry!.details as Json;
    expect(details.profile_id).to.match(/^tep_/);
    expect(details).to.deep.include({
      subject_token_type: 'urn:acme:partner-id-token',
      error: 'invalid_request',
      error_description: 'the partner ID token is invalid',
    });
    expect(details.console).to.deep.equal([
      'partner ID token refused: ERR_JWS_SIGNATURE_VERIFICATION_FAILED',
    ]);
    expect(JSON.stringify(entry)).not.to.include(signature.slice(0, 16));
  });

  it('hands a token exchange of another subject_token_type on to the provider, which does not support the grant', async () => {
    const before = (await logs()).length;
    const res = await postToken({
      grant_type: GRANT,
      subject_token_type: 'urn:acme:some-other-token',
      subject_token: 'whatever',
    });
    expect(res.status).to.equal(400);
    expect(await res.json()).to.deep.equal({
      error: 'unsupported_grant_type',
      error_description: 'unsupported grant_type requested',
    });
    expect(await logs()).to.have.length(before);
  });

  it('answers a wrong client secret with 401 invalid_client, for an exchange (router) and for client_credentials (provider)', async () => {
    const before = (await logs()).length;
    let res = await exchange(banner.subjectToken, 'not-the-secret');
    expect(res.status).to.equal(401);
    expect(res.headers.get('cache-control')).to.equal('no-store');
    expect(res.headers.get('www-authenticate')).to.match(/^Basic /);
    expect(await res.json()).to.deep.equal({
      error: 'invalid_client',
      error_description: 'Client authentication failed.',
    });
    const entries = await logs();
    expect(entries).to.have.length(before + 1);
    // Logged under the client the request named, though it did not authenticate.
    expect(entries[0]).to.deep.include({
      type: 'fecte',
      client_id: 'acme-app',
      client_name: 'Acme App',
    });
    expect(entries[0]!.details).to.deep.include({ error: 'invalid_client' });

    res = await postToken(
      { grant_type: 'client_credentials', resource: API, scope: 'read:orders' },
      'not-the-secret',
    );
    expect(res.status).to.equal(401);
    expect(res.headers.get('cache-control')).to.equal('no-store');
    expect(await res.json()).to.deep.equal({
      error: 'invalid_client',
      error_description: 'client authentication failed',
    });
    expect(await logs()).to.have.length(before + 1);
  });
});
