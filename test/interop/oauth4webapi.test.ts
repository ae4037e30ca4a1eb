import { expect } from 'chai';
import * as oauth from 'oauth4webapi';
import { API, SECRET, SUBJECT_TYPE, clientAssertionKeys } from '../support/fixtures.js';
import { ORDERS_API_CLIENT, startInteropServer } from './interop-server.js';
import type { InteropServer } from './interop-server.js';

const TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
const SCOPE = 'openid profile offline_access read:orders';
const NONCE_SECRET = 'interop-dpop-nonce-secret-0123456789';

/**
 * oauth4webapi 3 (panva), the low-level OAuth client nobody here wrote, drives the router over
 * HTTPS with each client authentication method: RFC 8414 discovery, the exchange, refresh,
 * introspection, revocation, and DPoP with its own DPoP handle and nonce handling.
 */
describe('interop: oauth4webapi 3', function () {
  this.timeout(20_000);
  let server: InteropServer;
  let as: oauth.AuthorizationServer;
  before(async () => {
    server = await startInteropServer();
    as = await discover(server);
  });
  after(async () => {
    await server.close();
  });

  /** RFC 8414 discovery (`/.well-known/oauth-authorization-server`). */
  async function discover(target: InteropServer): Promise<oauth.AuthorizationServer> {
    const issuer = new URL(target.issuer);
    const response = await oauth.discoveryRequest(issuer, {
      algorithm: 'oauth2',
      [oauth.customFetch]: target.clientFetch,
    });
    return oauth.processDiscoveryResponse(issuer, response);
  }

  const options = (extra: object = {}) => ({ [oauth.customFetch]: server.clientFetch, ...extra });

  async function exchange(
    client: oauth.Client,
    auth: oauth.ClientAuth,
    extra: object = {},
    target: oauth.AuthorizationServer = as,
  ) {
    const response = await oauth.genericTokenEndpointRequest(
      target,
      client,
      auth,
      TOKEN_EXCHANGE,
      {
        subject_token: 'user:auth0|alice',
        subject_token_type: SUBJECT_TYPE,
        scope: SCOPE,
        audience: API,
      },
      options(extra),
    );
    return oauth.processGenericTokenEndpointResponse(target, client, response);
  }

  it('discovers the router with RFC 8414 metadata', () => {
    expect(as).to.include({
      issuer: server.issuer,
      token_endpoint: `${server.issuer}oauth/token`,
      introspection_endpoint: `${server.issuer}oauth/introspect`,
      revocation_endpoint: `${server.issuer}oauth/revoke`,
    });
    expect(as.dpop_signing_alg_values_supported).to.include('ES256');
  });

  const methods: Array<[string, string, () => Promise<oauth.ClientAuth>]> = [
    ['client_secret_basic', 'app', async () => oauth.ClientSecretBasic(SECRET)],
    ['client_secret_post', 'post-app', async () => oauth.ClientSecretPost(SECRET)],
    [
      'private_key_jwt',
      'jwt-app',
      async () => {
        const { privateKey } = await clientAssertionKeys();
        return oauth.PrivateKeyJwt({ key: privateKey, kid: 'client-key' });
      },
    ],
  ];
  for (const [method, clientId, makeAuth] of methods) {
    it(`exchanges, refreshes, introspects and revokes with ${method}`, async () => {
      const client: oauth.Client = { client_id: clientId, require_auth_time: true };
      const auth = await makeAuth();
      const exchanged = await exchange(client, auth);
      expect(exchanged.token_type).to.equal('bearer');
      const claims = oauth.getValidatedIdTokenClaims(exchanged)!;
      expect(claims).to.include({ iss: server.issuer, aud: clientId, sub: 'auth0|alice' });
      expect(claims.auth_time).to.equal(claims.iat);

      const refreshResponse = await oauth.refreshTokenGrantRequest(
        as,
        client,
        auth,
        exchanged.refresh_token!,
        options(),
      );
      const refreshed = await oauth.processRefreshTokenResponse(as, client, refreshResponse);
      expect(oauth.getValidatedIdTokenClaims(refreshed)!.auth_time).to.equal(claims.auth_time);

      const introspect = async (token: string) =>
        oauth.processIntrospectionResponse(
          as,
          client,
          await oauth.introspectionRequest(as, client, auth, token, options()),
        );
      expect(await introspect(refreshed.access_token)).to.include({
        active: true,
        client_id: clientId,
        aud: API,
      });
      await oauth.processRevocationResponse(
        await oauth.revocationRequest(as, client, auth, refreshed.access_token, options()),
      );
      expect((await introspect(refreshed.access_token)).active).to.equal(false);
      await oauth.processRevocationResponse(
        await oauth.revocationRequest(as, client, auth, refreshed.refresh_token!, options()),
      );
      expect((await introspect(refreshed.refresh_token!)).active).to.equal(false);
    });
  }

  it('lets a resource server introspect with credentials of its own', async () => {
    const { access_token } = await exchange({ client_id: 'app' }, oauth.ClientSecretBasic(SECRET));
    const api: oauth.Client = { client_id: ORDERS_API_CLIENT.client_id };
    const response = await oauth.introspectionRequest(
      as,
      api,
      oauth.ClientSecretBasic(ORDERS_API_CLIENT.client_secret),
      access_token,
      options(),
    );
    expect(await oauth.processIntrospectionResponse(as, api, response)).to.include({
      active: true,
      client_id: 'app',
      sub: 'auth0|alice',
    });
  });

  it('binds the tokens to its DPoP key, retrying once with the router’s nonce', async () => {
    const nonced = await startInteropServer({ dpop: { nonces: { secret: NONCE_SECRET } } });
    try {
      const target = await discover(nonced);
      const client: oauth.Client = { client_id: 'spa' };
      const DPoP = oauth.DPoP(client, await oauth.generateKeyPair('ES256'));
      const request = () =>
        oauth.genericTokenEndpointRequest(
          target,
          client,
          oauth.None(),
          TOKEN_EXCHANGE,
          { subject_token: 'user:auth0|alice', subject_token_type: SUBJECT_TYPE, scope: SCOPE },
          { [oauth.customFetch]: nonced.clientFetch, DPoP },
        );
      let error: unknown;
      try {
        await oauth.processGenericTokenEndpointResponse(target, client, await request());
      } catch (err) {
        error = err;
      }
      // The handle kept the nonce from DPoP-Nonce; the retry carries it.
      expect(oauth.isDPoPNonceError(error)).to.equal(true);
      const exchanged = await oauth.processGenericTokenEndpointResponse(
        target,
        client,
        await request(),
      );
      expect(exchanged.token_type).to.equal('dpop');
      const refreshed = await oauth.processRefreshTokenResponse(
        target,
        client,
        await oauth.refreshTokenGrantRequest(
          target,
          client,
          oauth.None(),
          exchanged.refresh_token!,
          {
            [oauth.customFetch]: nonced.clientFetch,
            DPoP,
          },
        ),
      );
      expect(refreshed.token_type).to.equal('dpop');
    } finally {
      await nonced.close();
    }
  });
});
