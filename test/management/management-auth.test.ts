import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { expect } from 'chai';
import { exportJWK, generateKeyPair } from 'jose';
import request from 'supertest';
import { ISSUER, testSigningKeys } from '../support/fixtures.js';
import {
  ALL_SCOPES,
  MANAGEMENT_AUDIENCE,
  apiError,
  managementServer,
  signedToken,
} from './management-support.js';
import type { ManagementServer } from './management-support.js';

/** Every route of the API with Auth0's scope for it. */
const ROUTES: Array<
  [method: 'get' | 'post' | 'patch' | 'delete', path: string, scope: string | string[]]
> = [
  ['get', '/token-exchange-profiles', 'read:token_exchange_profiles'],
  ['post', '/token-exchange-profiles', 'create:token_exchange_profiles'],
  ['get', '/token-exchange-profiles/tep_x', 'read:token_exchange_profiles'],
  ['patch', '/token-exchange-profiles/tep_x', 'update:token_exchange_profiles'],
  ['delete', '/token-exchange-profiles/tep_x', 'delete:token_exchange_profiles'],
  ['get', '/actions/actions', 'read:actions'],
  ['post', '/actions/actions', 'create:actions'],
  ['get', '/actions/actions/a1', 'read:actions'],
  ['patch', '/actions/actions/a1', 'update:actions'],
  ['delete', '/actions/actions/a1', 'delete:actions'],
  ['post', '/actions/actions/a1/deploy', 'create:actions'],
  ['get', '/actions/actions/a1/versions', 'read:actions'],
  ['get', '/actions/actions/a1/versions/v1', 'read:actions'],
  ['post', '/actions/actions/a1/versions/v1/deploy', 'create:actions'],
  ['post', '/actions/actions/a1/test', 'create:actions'],
  ['get', '/attack-protection/suspicious-ip-throttling', 'read:attack_protection'],
  ['patch', '/attack-protection/suspicious-ip-throttling', 'update:attack_protection'],
  ['get', '/anomaly/blocks/ips/203.0.113.7', 'read:anomaly_blocks'],
  ['delete', '/anomaly/blocks/ips/203.0.113.7', 'delete:anomaly_blocks'],
  ['get', '/logs', 'read:logs'],
  ['get', '/logs/0123456789abcdef01234567', 'read:logs'],
  ['get', '/organizations', 'read:organizations'],
  ['post', '/organizations', 'create:organizations'],
  ['get', '/organizations/org_x', 'read:organizations'],
  ['get', '/organizations/name/acme', 'read:organizations'],
  ['patch', '/organizations/org_x', 'update:organizations'],
  ['delete', '/organizations/org_x', 'delete:organizations'],
  ['get', '/organizations/org_x/members', 'read:organization_members'],
  ['post', '/organizations/org_x/members', 'create:organization_members'],
  ['delete', '/organizations/org_x/members', 'delete:organization_members'],
  ['get', '/roles', 'read:roles'],
  ['post', '/roles', 'create:roles'],
  ['get', '/roles/rol_x', 'read:roles'],
  ['patch', '/roles/rol_x', 'update:roles'],
  ['delete', '/roles/rol_x', 'delete:roles'],
  ['get', '/roles/rol_x/permissions', 'read:roles'],
  ['post', '/roles/rol_x/permissions', 'update:roles'],
  ['delete', '/roles/rol_x/permissions', 'update:roles'],
  ['get', '/roles/rol_x/users', ['read:users', 'read:roles', 'read:role_members']],
  ['post', '/roles/rol_x/users', ['update:roles', 'create:role_members']],
  ['get', '/users/auth0|alice/roles', ['read:users', 'read:roles', 'read:role_members']],
  ['post', '/users/auth0|alice/roles', ['update:users', 'create:role_members']],
  ['delete', '/users/auth0|alice/roles', ['update:users', 'delete:role_members']],
  ['get', '/users/auth0|alice/permissions', 'read:users'],
];

function call(server: ManagementServer, method: string, path: string): request.Test {
  const agent = request(server.app) as unknown as Record<string, (url: string) => request.Test>;
  return agent[method]!(`/api/v2${path}`);
}

describe('Management API: authentication and authorization', () => {
  let server: ManagementServer;
  beforeEach(async () => {
    server = await managementServer();
  });
  afterEach(async () => {
    await server.cte.close();
  });

  describe('401 without a valid bearer token', () => {
    it('answers a request without Authorization with Auth0 body and WWW-Authenticate', async () => {
      const res = await request(server.app).get('/api/v2/token-exchange-profiles').expect(401);
      expect(res.body).to.eql(
        apiError(401, 'Unauthorized', 'Missing authentication', 'missing_authentication'),
      );
      expect(res.headers['www-authenticate']).to.equal('Bearer');
      expect(res.headers['cache-control']).to.equal('no-store');
    });

    const invalid = (message: string) => apiError(401, 'Unauthorized', message, 'invalid_token');
    const cases: Array<{ name: string; token: () => Promise<string>; message: string }> = [
      {
        name: 'a token signed by another key with the same kid',
        token: async () => {
          const { privateKey } = await generateKeyPair('RS256', { extractable: true });
          return signedToken(
            { scope: 'read:token_exchange_profiles' },
            {
              ...(await exportJWK(privateKey)),
              kid: 'rs-1',
              alg: 'RS256',
            },
          );
        },
        message: 'Invalid signature received for JSON Web Token validation',
      },
      {
        name: 'a token of another audience',
        token: () =>
          signedToken({ scope: 'read:token_exchange_profiles', aud: 'https://api.example.com/' }),
        message: `Bad audience: expected ${MANAGEMENT_AUDIENCE}`,
      },
      {
        name: 'a token of another issuer',
        token: () =>
          signedToken({ scope: 'read:token_exchange_profiles', iss: 'https://evil.example/' }),
        message: `Bad issuer: expected ${ISSUER}`,
      },
      {
        name: 'an expired token',
        token: () =>
          signedToken({
            scope: 'read:token_exchange_profiles',
            iat: Math.floor(Date.now() / 1000) - 600,
            exp: Math.floor(Date.now() / 1000) - 60,
          }),
        message: 'Expired token received for JSON Web Token validation',
      },
      {
        name: 'a token without a subject',
        token: () => signedToken({ scope: 'read:token_exchange_profiles', sub: undefined }),
        message: 'Invalid token: missing required "sub" claim',
      },
      {
        name: 'a token signed with a shared secret (HS256)',
        token: async () => {
          const secret = { kty: 'oct', k: Buffer.from('x'.repeat(32)).toString('base64url') };
          return signedToken({}, { ...secret, kid: 'rs-1', alg: 'HS256' });
        },
        message: 'Invalid token',
      },
      { name: 'a token that is not a JWT', token: async () => 'abc.def', message: 'Invalid token' },
    ];
    for (const { name, token, message } of cases) {
      it(`refuses ${name}`, async () => {
        const res = await server.api.get('/token-exchange-profiles', await token()).expect(401);
        expect(res.body).to.eql(invalid(message));
        expect(res.headers['www-authenticate']).to.match(/^Bearer error="invalid_token"/);
      });
    }

    it('refuses another scheme than Bearer', async () => {
      const res = await request(server.app)
        .get('/api/v2/token-exchange-profiles')
        .set('Authorization', 'Basic YWRtaW46YWRtaW4=')
        .expect(401);
      expect(res.body).to.eql(invalid('Bad HTTP authentication header format'));
    });

    it('audits a 401 as fapi naming no one, and at most 10 a minute, the next telling how many were not', async () => {
      const bad = () =>
        request(server.app)
          .delete('/api/v2/actions/actions/a1')
          .set('Authorization', 'Bearer abc.def')
          .set('User-Agent', 'prober')
          .expect(401);
      await request(server.app).get('/api/v2/logs').expect(401);
      const [first] = await server.entries('fapi');
      expect(first).to.deep.include({
        type: 'fapi',
        description: 'Failed GET /logs',
        client_id: null,
        client_name: '',
      });
      expect(first!.details).to.eql({
        request: { method: 'GET', path: '/api/v2/logs' },
        status_code: 401,
        error: 'missing_authentication',
        error_description: 'Missing authentication',
      });
      for (let i = 0; i < 14; i += 1) await bad();
      const entries = await server.entries('fapi');
      expect(entries).to.have.length(10);
      expect(entries[9]!.details).to.include({ error: 'invalid_token', status_code: 401 });
      expect(entries[9]).to.include({ user_agent: 'prober' });
      expect(entries.every((entry) => entry.details.suppressed === undefined)).to.equal(true);
    });
  });

  describe('403 insufficient_scope naming the scope of each route', () => {
    for (const [method, path, scope] of ROUTES) {
      const anyOf = typeof scope === 'string' ? [scope] : scope;
      it(`${method.toUpperCase()} ${path} needs ${anyOf.join(' or ')}`, async () => {
        const others = ALL_SCOPES.filter((candidate) => !anyOf.includes(candidate)).join(' ');
        const res = await call(server, method, path)
          .set('Authorization', `Bearer ${await server.token({ scope: others })}`)
          .expect(403);
        expect(res.body).to.eql(
          apiError(
            403,
            'Forbidden',
            `Insufficient scope, expected any of: ${anyOf.join(',')}`,
            'insufficient_scope',
          ),
        );
        expect(res.headers['www-authenticate']).to.equal(
          `Bearer error="insufficient_scope", scope="${anyOf.join(' ')}"`,
        );
        const failures = await server.entries('fapi');
        if (method === 'get') {
          expect(failures).to.eql([]);
        } else {
          expect(failures.map((entry) => entry.details.error)).to.eql(['insufficient_scope']);
        }
      });
    }

    it('reads scopes from an RBAC permissions array too', async () => {
      const token = await server.token({ scope: undefined, permissions: ['read:actions'] });
      const res = await server.api.get('/actions/actions', token).expect(200);
      expect(res.body).to.include({ total: 1 });
    });
  });

  describe('rate limit per token subject', () => {
    it("answers Auth0's X-RateLimit headers, then 429 for that subject only", async () => {
      await server.cte.close();
      server = await managementServer({}, { rateLimit: { windowMs: 60_000, limit: 2 } });
      const alice = await server.token({ sub: 'alice' });
      const first = await server.api.get('/logs', alice).expect(200);
      expect(first.headers).to.include({ 'x-ratelimit-limit': '2', 'x-ratelimit-remaining': '1' });
      expect(Number(first.headers['x-ratelimit-reset'])).to.be.greaterThan(Date.now() / 1000);
      await server.api.get('/logs', alice).expect(200);
      const refused = await server.api.get('/logs', alice).expect(429);
      expect(refused.body).to.eql(
        apiError(429, 'Too Many Requests', 'Global limit has been reached', 'too_many_requests'),
      );
      const bob = await server.token({ sub: 'bob' });
      await server.api.get('/logs', bob).expect(200);
    });

    it('does not count requests without a valid token against anyone', async () => {
      await server.cte.close();
      server = await managementServer({}, { rateLimit: { windowMs: 60_000, limit: 1 } });
      for (let i = 0; i < 3; i += 1) {
        await request(server.app).get('/api/v2/logs').expect(401);
      }
      await server.api.get('/logs').expect(200);
    });
  });

  describe('a JWKS URL and a chosen issuer and audience', () => {
    let jwksServer: Server;
    let foreign: Record<string, unknown>;
    before(async () => {
      const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
      foreign = { ...(await exportJWK(privateKey)), kid: 'idp-1', alg: 'ES256' };
      const jwks = JSON.stringify({
        keys: [{ ...(await exportJWK(publicKey)), kid: 'idp-1', alg: 'ES256' }],
      });
      jwksServer = createServer((_req, res) => {
        res.setHeader('Content-Type', 'application/json');
        res.end(jwks);
      });
      await new Promise<void>((resolve) => jwksServer.listen(0, '127.0.0.1', resolve));
    });
    after(async () => {
      await new Promise<void>((resolve) => jwksServer.close(() => resolve()));
    });

    it("verifies with the URL's keys, and no longer with the router's own", async () => {
      await server.cte.close();
      const { port } = jwksServer.address() as AddressInfo;
      server = await managementServer(
        {},
        {
          jwksUri: `http://127.0.0.1:${port}/.well-known/jwks.json`,
          issuer: 'https://idp.example.com/',
          audience: 'urn:cte:management',
        },
      );
      const claims = {
        iss: 'https://idp.example.com/',
        aud: 'urn:cte:management',
        scope: 'read:logs',
      };
      await server.api.get('/logs', await signedToken(claims, foreign)).expect(200);
      const own = await server.api.get('/logs', await signedToken(claims)).expect(401);
      expect(own.body.message).to.equal('Invalid token: no key of the issuer matches the token');
    });
  });

  describe('options', () => {
    it('are validated when the API is created, naming the option', async () => {
      const keys = await testSigningKeys();
      expect(keys.length).to.be.greaterThan(0);
      const cases: Array<[unknown, string]> = [
        [{ audiences: 'x' }, 'managementApi(options).audiences is not an option'],
        [{ audience: 3 }, 'managementApi(options).audience must be a string'],
        [{ jwksUri: 'ftp://x' }, 'managementApi(options).jwksUri must be an http or https URL'],
        [
          { rateLimit: { limit: 0 } },
          'managementApi(options).rateLimit.limit must be an integer from 1 to 1000000',
        ],
        [{ rateLimit: { store: {} } }, 'managementApi(options).rateLimit.store must be an'],
      ];
      for (const [options, message] of cases) {
        expect(() => server.cte.managementApi(options as never))
          .to.throw(TypeError)
          .with.property('message')
          .that.contains(message);
      }
    });
  });
});
