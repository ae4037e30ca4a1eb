import { expect } from 'chai';
import express from 'express';
import expressPackage from 'express/package.json' with { type: 'json' };
import { exportJWK, generateKeyPair } from 'jose';
import request from 'supertest';
import { customTokenExchange } from '../../lib/index.js';
import { ISSUER, testServer, PROFILE_EMAIL_CLAIMS } from '../support/fixtures.js';

/**
 * Runs on Express 5 (`npm test`) and on Express 4 (`npm run test:express4`): the routes use
 * plain string paths, which both routers (path-to-regexp 0.1 and 8) read alike.
 */
const EXPRESS_MAJOR = Number.parseInt(expressPackage.version, 10);

const GRANT_TYPES = ['urn:ietf:params:oauth:grant-type:token-exchange', 'refresh_token'];
const AUTH_METHODS = ['client_secret_basic', 'client_secret_post', 'private_key_jwt', 'none'];
const ASSERTION_ALGS = [
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
  'Ed25519',
];

/** The whole document of a router whose endpoints are under `base`. */
function expectedMetadata(issuer: string, base: string, extra: { grants?: string[] } = {}) {
  return {
    issuer,
    token_endpoint: `${base}/oauth/token`,
    jwks_uri: `${base}/.well-known/jwks.json`,
    revocation_endpoint: `${base}/oauth/revoke`,
    introspection_endpoint: `${base}/oauth/introspect`,
    scopes_supported: ['openid', 'profile', 'email', 'offline_access'],
    response_types_supported: [],
    grant_types_supported: [...GRANT_TYPES, ...(extra.grants ?? [])],
    token_endpoint_auth_methods_supported: AUTH_METHODS,
    token_endpoint_auth_signing_alg_values_supported: ASSERTION_ALGS,
    revocation_endpoint_auth_methods_supported: AUTH_METHODS,
    revocation_endpoint_auth_signing_alg_values_supported: ASSERTION_ALGS,
    introspection_endpoint_auth_methods_supported: AUTH_METHODS.slice(0, 3),
    introspection_endpoint_auth_signing_alg_values_supported: ASSERTION_ALGS,
    subject_types_supported: ['public'],
    id_token_signing_alg_values_supported: ['RS256', 'PS256', 'ES256', 'EdDSA', 'HS256'],
    claims_supported: [
      'sub',
      'iss',
      'aud',
      'exp',
      'iat',
      'auth_time',
      'act',
      ...PROFILE_EMAIL_CLAIMS,
    ],
    dpop_signing_alg_values_supported: ASSERTION_ALGS,
  };
}

describe(`authorization server metadata and OIDC discovery (Express ${EXPRESS_MAJOR})`, () => {
  it('serves both documents at the root of a router for an issuer without a path', async () => {
    const { app, cte } = await testServer({
      metadata: { hostGrantTypes: ['client_credentials', 'refresh_token'] },
    });
    const expected = expectedMetadata(ISSUER, 'https://auth.example.com', {
      grants: ['client_credentials'],
    });
    for (const path of [
      '/.well-known/openid-configuration',
      '/.well-known/oauth-authorization-server',
    ]) {
      const res = await request(app).get(path);
      expect(res.status, path).to.equal(200);
      expect(res.headers, path).to.include({
        'cache-control': 'public, max-age=600',
        'access-control-allow-origin': '*',
      });
      expect(res.headers['content-type'], path).to.match(/^application\/json/);
      expect(res.body, path).to.deep.equal(expected);
    }
    expect(cte.metadata()).to.deep.equal(expected);
    expect(cte.authorizationServerMetadata.path).to.equal(
      '/.well-known/oauth-authorization-server',
    );
  });

  it('serves the OIDC document under the mount of an issuer with a path; the host mounts RFC 8414’s', async () => {
    const issuer = 'https://auth.example.com/tenant-a/';
    const { app, cte } = await testServer({ issuer }, { mount: '/tenant-a' });
    const expected = expectedMetadata(issuer, 'https://auth.example.com/tenant-a');
    const appended = await request(app).get('/tenant-a/.well-known/openid-configuration');
    expect(appended.status).to.equal(200);
    expect(appended.body).to.deep.equal(expected);
    // RFC 8414 inserts the well-known suffix before the path: not under the mount.
    await request(app).get('/tenant-a/.well-known/oauth-authorization-server').expect(404);

    expect(cte.authorizationServerMetadata.path).to.equal(
      '/.well-known/oauth-authorization-server/tenant-a',
    );
    const host = express();
    host.use('/tenant-a', cte);
    host.get(cte.authorizationServerMetadata.path, cte.authorizationServerMetadata.handler);
    // Clients ask with and without the issuer's trailing slash.
    for (const path of [
      '/.well-known/oauth-authorization-server/tenant-a',
      '/.well-known/oauth-authorization-server/tenant-a/',
    ]) {
      const res = await request(host).get(path);
      expect(res.status, path).to.equal(200);
      expect(res.headers['cache-control'], path).to.equal('public, max-age=600');
      expect(res.body, path).to.deep.equal(expected);
    }
    await request(host).get('/.well-known/oauth-authorization-server/tenant-b').expect(404);
  });

  it('serves no metadata route with metadata.serve false; cte.metadata() still answers', async () => {
    const { app, cte } = await testServer({ metadata: { serve: false } });
    for (const path of [
      '/.well-known/openid-configuration',
      '/.well-known/oauth-authorization-server',
    ]) {
      await request(app).get(path).expect(404);
    }
    await request(app).get('/.well-known/jwks.json').expect(200);
    expect(cte.metadata()).to.deep.equal(expectedMetadata(ISSUER, 'https://auth.example.com'));
  });

  it('names the endpoints after the configured token endpoint, never the request’s Host', async () => {
    const { app } = await testServer({
      tokenEndpoint: 'https://gateway.example.com/auth/oauth/token',
    });
    const res = await request(app)
      .get('/.well-known/openid-configuration')
      .set('Host', 'evil.example.net')
      .expect(200);
    expect(res.body).to.include({
      issuer: ISSUER,
      token_endpoint: 'https://gateway.example.com/auth/oauth/token',
      jwks_uri: 'https://gateway.example.com/auth/.well-known/jwks.json',
      revocation_endpoint: 'https://gateway.example.com/auth/oauth/revoke',
      introspection_endpoint: 'https://gateway.example.com/auth/oauth/introspect',
    });
  });

  it('lists the ID token algorithms of the keys it has, and HS256', async () => {
    const { privateKey } = await generateKeyPair('ES256', { extractable: true });
    const cte = customTokenExchange({
      issuer: ISSUER,
      sandbox: false,
      keys: [{ ...(await exportJWK(privateKey)), kid: 'only-es', alg: 'ES256' }],
      clients: [
        {
          client_id: 'a',
          name: 'A',
          token_endpoint_auth_method: 'none',
          jwt_configuration: { alg: 'ES256' },
        },
      ],
      resourceServers: [{ identifier: 'https://api.example.com/', signing_alg: 'ES256' }],
    });
    expect(cte.metadata().id_token_signing_alg_values_supported).to.deep.equal(['ES256', 'HS256']);
  });
});
