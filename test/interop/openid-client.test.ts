import { expect } from 'chai';
import * as client from 'openid-client';
import { API, SECRET, SUBJECT_TYPE, clientAssertionKeys } from '../support/fixtures.js';
import { ORDERS_API_CLIENT, startInteropServer } from './interop-server.js';
import type { InteropServer } from './interop-server.js';

const TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
const SCOPE = 'openid profile offline_access read:orders';
const NONCE_SECRET = 'interop-dpop-nonce-secret-0123456789';

/**
 * openid-client 6 (panva), an OpenID Connect client nobody here wrote, drives the router over
 * HTTPS: discovery, the exchange, refresh, revocation and introspection with each client
 * authentication method, and DPoP with its own DPoP handle. Its ID token checks run on every
 * response: the router's `auth_time` is what lets a client with `require_auth_time` accept it.
 */
describe('interop: openid-client 6', function () {
  this.timeout(20_000);
  let server: InteropServer;
  before(async () => {
    server = await startInteropServer();
  });
  after(async () => {
    await server.close();
  });

  function discover(
    clientId: string,
    auth: client.ClientAuth,
    metadata: Partial<client.ClientMetadata> = {},
    target: InteropServer = server,
  ): Promise<client.Configuration> {
    return client.discovery(
      new URL(target.issuer),
      clientId,
      { require_auth_time: true, default_max_age: 3600, ...metadata },
      auth,
      { [client.customFetch]: target.clientFetch },
    );
  }

  function exchange(config: client.Configuration, subject = 'user:auth0|alice', options = {}) {
    return client.genericGrantRequest(
      config,
      TOKEN_EXCHANGE,
      { subject_token: subject, subject_token_type: SUBJECT_TYPE, scope: SCOPE, audience: API },
      options,
    );
  }

  it('discovers the router from its issuer (OIDC discovery)', async () => {
    const config = await discover('app', client.ClientSecretBasic(SECRET));
    expect(config.serverMetadata()).to.include({
      issuer: server.issuer,
      token_endpoint: `${server.issuer}oauth/token`,
      revocation_endpoint: `${server.issuer}oauth/revoke`,
      introspection_endpoint: `${server.issuer}oauth/introspect`,
      jwks_uri: `${server.issuer}.well-known/jwks.json`,
    });
    expect(config.serverMetadata().grant_types_supported).to.include(TOKEN_EXCHANGE);
  });

  const methods: Array<[string, string, () => Promise<client.ClientAuth>]> = [
    ['client_secret_basic', 'app', async () => client.ClientSecretBasic(SECRET)],
    ['client_secret_post', 'post-app', async () => client.ClientSecretPost(SECRET)],
    [
      'private_key_jwt',
      'jwt-app',
      async () => {
        const { privateKey } = await clientAssertionKeys();
        return client.PrivateKeyJwt({ key: privateKey, kid: 'client-key' });
      },
    ],
  ];
  for (const [method, clientId, auth] of methods) {
    it(`exchanges, refreshes, introspects and revokes with ${method}`, async () => {
      const config = await discover(clientId, await auth());
      const exchanged = await exchange(config);
      expect(exchanged.token_type.toLowerCase()).to.equal('bearer');
      const claims = exchanged.claims()!;
      expect(claims).to.include({ iss: server.issuer, sub: 'auth0|alice', aud: clientId });
      expect(claims.auth_time).to.equal(claims.iat);

      const refreshed = await client.refreshTokenGrant(config, exchanged.refresh_token!);
      expect(refreshed.claims()!.auth_time).to.equal(claims.auth_time);
      expect(refreshed.refresh_token).to.be.a('string').and.not.equal(exchanged.refresh_token);

      const active = await client.tokenIntrospection(config, refreshed.access_token);
      expect(active).to.include({
        active: true,
        client_id: clientId,
        aud: API,
        token_type: 'Bearer',
      });
      expect((await client.tokenIntrospection(config, refreshed.refresh_token!)).active).to.equal(
        true,
      );

      await client.tokenRevocation(config, refreshed.access_token);
      expect(await client.tokenIntrospection(config, refreshed.access_token)).to.deep.include({
        active: false,
      });
      await client.tokenRevocation(config, refreshed.refresh_token!);
      const refused = await client.refreshTokenGrant(config, refreshed.refresh_token!).then(
        () => undefined,
        (err: unknown) => err,
      );
      expect(refused).to.be.instanceOf(client.ResponseBodyError);
      expect(refused).to.include({ error: 'invalid_grant', status: 400 });
    });
  }

  it('lets a resource server introspect the access tokens for its audience', async () => {
    const app = await discover('app', client.ClientSecretBasic(SECRET));
    const { access_token } = await exchange(app);
    const api = await discover(
      ORDERS_API_CLIENT.client_id,
      client.ClientSecretBasic(ORDERS_API_CLIENT.client_secret),
    );
    expect(await client.tokenIntrospection(api, access_token)).to.include({
      active: true,
      client_id: 'app',
      aud: API,
      sub: 'auth0|alice',
    });
  });

  it('binds a public client’s tokens with its DPoP handle; refresh needs the same key', async () => {
    const config = await discover('spa', client.None());
    const DPoP = client.getDPoPHandle(config, await client.randomDPoPKeyPair('ES256'));
    const exchanged = await exchange(config, 'user:auth0|alice', { DPoP });
    expect(exchanged.token_type.toLowerCase()).to.equal('dpop');
    const refreshed = await client.refreshTokenGrant(
      config,
      exchanged.refresh_token!,
      {},
      { DPoP },
    );
    expect(refreshed.token_type.toLowerCase()).to.equal('dpop');

    const otherKey = client.getDPoPHandle(config, await client.randomDPoPKeyPair('ES256'));
    const refused = await client
      .refreshTokenGrant(config, refreshed.refresh_token!, {}, { DPoP: otherKey })
      .then(
        () => undefined,
        (err: unknown) => err,
      );
    expect(refused).to.include({ error: 'invalid_grant' });
  });

  it('follows the router’s DPoP nonce: use_dpop_nonce, then the retry it makes itself', async () => {
    const nonced = await startInteropServer({ dpop: { nonces: { secret: NONCE_SECRET } } });
    try {
      const config = await discover('spa', client.None(), {}, nonced);
      const DPoP = client.getDPoPHandle(config, await client.randomDPoPKeyPair('ES256'));
      const exchanged = await exchange(config, 'user:auth0|alice', { DPoP });
      expect(exchanged.token_type.toLowerCase()).to.equal('dpop');
      const tokenRequests = nonced.https.sent.filter((r) => r.url.endsWith('/oauth/token'));
      expect(tokenRequests).to.have.length(2);
    } finally {
      await nonced.close();
    }
  });
});
