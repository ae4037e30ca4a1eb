import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import type express from 'express';
import { exportJWK, generateKeyPair, SignJWT, type JWK, type JWTPayload } from 'jose';
import request from 'supertest';
import { createClientAuthenticator } from '../../lib/client-auth/client-authenticator.js';
import type { Client, TokenEndpointAuthMethod } from '../../lib/registry/clients.js';
import { MemoryReplayStore } from '../../lib/stores/memory-replay-store.js';
import type { ReplayStore } from '../../lib/stores/replay-store.js';
import { StoreUnavailableError } from '../../lib/stores/store-deadline.js';
import { clientAuthHarness } from '../support/client-auth-harness.js';
import { testClient } from '../support/test-client.js';
import { INVALID_CLIENT } from '../support/oauth-responses.js';

const ISSUER = 'https://auth.example.com/';
const TOKEN_ENDPOINT = 'https://auth.example.com/oauth/token';
const FOREIGN_TOKEN_ENDPOINT = 'https://other-as.example.net/oauth/token';
const JWT_BEARER = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
const OCT_SECRET = 'a-shared-secret-that-must-never-sign-client-assertions';

function client(
  client_id: string,
  token_endpoint_auth_method: TokenEndpointAuthMethod,
  keys?: JWK[],
): Client {
  return testClient({
    client_id,
    token_endpoint_auth_method,
    client_secret: token_endpoint_auth_method.startsWith('client_secret') ? 'secret' : undefined,
    jwks: keys === undefined ? undefined : { keys },
  });
}

/** jose's key type (WebCrypto `CryptoKey`, not a global in this tsconfig's lib). */
type PrivateKey = Awaited<ReturnType<typeof generateKeyPair>>['privateKey'];

const base64url = (value: unknown): string =>
  Buffer.from(JSON.stringify(value)).toString('base64url');

describe('client-auth/private_key_jwt', () => {
  let esKey: PrivateKey;
  let rsaKey: PrivateKey;
  let strangerKey: PrivateKey;
  let clients: Map<string, Client>;
  const getClient = (id: string): Client | undefined => clients.get(id);
  const authenticator = (replayStore: ReplayStore = new MemoryReplayStore()) =>
    createClientAuthenticator({ getClient, audiences: [ISSUER, TOKEN_ENDPOINT], replayStore });

  before(async () => {
    const es = await generateKeyPair('ES256');
    const rsa = await generateKeyPair('RS256');
    strangerKey = (await generateKeyPair('ES256')).privateKey;
    esKey = es.privateKey;
    rsaKey = rsa.privateKey;
    const esJwk = { ...(await exportJWK(es.publicKey)), kid: 'client-key', alg: 'ES256' };
    const rsaJwk = { ...(await exportJWK(rsa.publicKey)), kid: 'rsa-key', alg: 'RS256' };
    const octJwk: JWK = {
      kty: 'oct',
      k: Buffer.from(OCT_SECRET).toString('base64url'),
      kid: 'oct-key',
    };
    clients = new Map(
      [
        client('jwt-app', 'private_key_jwt', [esJwk]),
        client('jwt-rsa-app', 'private_key_jwt', [rsaJwk]),
        // A registered symmetric key must not make HS256 assertions acceptable.
        client('jwt-oct-app', 'private_key_jwt', [esJwk, octJwk]),
        client('jwt-no-keys', 'private_key_jwt'),
        client('post-app', 'client_secret_post'),
      ].map((c) => [c.client_id, c]),
    );
  });

  const now = () => Math.floor(Date.now() / 1000);

  /** Claims of a valid assertion for `jwt-app`; an override of `undefined` removes the claim. */
  function claims(overrides: Record<string, unknown> = {}): JWTPayload {
    const t = now();
    const all: Record<string, unknown> = {
      iss: 'jwt-app',
      sub: 'jwt-app',
      aud: TOKEN_ENDPOINT,
      iat: t,
      exp: t + 60,
      jti: randomUUID(),
      ...overrides,
    };
    for (const [name, value] of Object.entries(all)) if (value === undefined) delete all[name];
    return all;
  }

  function sign(
    payload: JWTPayload,
    {
      key = esKey,
      alg = 'ES256',
      kid = 'client-key',
    }: { key?: PrivateKey | Uint8Array; alg?: string; kid?: string } = {},
  ): Promise<string> {
    return new SignJWT(payload).setProtectedHeader({ alg, kid }).sign(key);
  }

  const send = (app: express.Express, form: Record<string, string>) =>
    request(app).post('/oauth/token').type('form').send(form);
  const assertionForm = (assertion: string, extra: Record<string, string> = {}) => ({
    client_assertion: assertion,
    client_assertion_type: JWT_BEARER,
    ...extra,
  });

  describe('accepted assertions', () => {
    const cases: Array<{ name: string; form: () => Promise<Record<string, string>>; id: string }> =
      [
        {
          name: 'aud = the token endpoint',
          form: async () => assertionForm(await sign(claims())),
          id: 'jwt-app',
        },
        {
          name: 'aud = the issuer',
          form: async () => assertionForm(await sign(claims({ aud: ISSUER }))),
          id: 'jwt-app',
        },
        {
          name: 'aud = an array of only our values',
          form: async () => assertionForm(await sign(claims({ aud: [ISSUER, TOKEN_ENDPOINT] }))),
          id: 'jwt-app',
        },
        {
          name: 'with the same client_id in the body',
          form: async () => assertionForm(await sign(claims()), { client_id: 'jwt-app' }),
          id: 'jwt-app',
        },
        {
          name: 'RS256',
          form: async () =>
            assertionForm(
              await sign(claims({ iss: 'jwt-rsa-app', sub: 'jwt-rsa-app' }), {
                key: rsaKey,
                alg: 'RS256',
                kid: 'rsa-key',
              }),
            ),
          id: 'jwt-rsa-app',
        },
        {
          name: 'without iat, exp within the lifetime',
          form: async () => assertionForm(await sign(claims({ iat: undefined }))),
          id: 'jwt-app',
        },
        {
          name: 'exp beyond the 300 s lifetime by less than the 30 s tolerance',
          form: async () => assertionForm(await sign(claims({ iat: undefined, exp: now() + 320 }))),
          id: 'jwt-app',
        },
      ];
    for (const c of cases) {
      it(c.name, async () => {
        const { app } = clientAuthHarness(authenticator());
        const res = await send(app, await c.form());
        expect(res.status).to.equal(200);
        expect(res.body).to.deep.equal({ client_id: c.id });
      });
    }
  });

  describe('refused assertions: 401 invalid_client, the reason only in the private cause', () => {
    const cases: Array<{
      name: string;
      form: () => Promise<Record<string, string>>;
      cause: RegExp;
    }> = [
      {
        name: 'missing exp',
        form: async () => assertionForm(await sign(claims({ exp: undefined }))),
        cause: /missing required "exp" claim/,
      },
      {
        name: 'missing aud',
        form: async () => assertionForm(await sign(claims({ aud: undefined }))),
        cause: /missing required "aud" claim/,
      },
      {
        name: 'missing jti',
        form: async () => assertionForm(await sign(claims({ jti: undefined }))),
        cause: /missing required "jti" claim/,
      },
      {
        name: 'missing iss',
        form: async () => assertionForm(await sign(claims({ iss: undefined }))),
        cause: /client_assertion has no "iss" claim/,
      },
      {
        name: 'missing sub',
        form: async () => assertionForm(await sign(claims({ sub: undefined }))),
        cause: /missing required "sub" claim/,
      },
      {
        name: 'sub not the client (sub ≠ iss)',
        form: async () => assertionForm(await sign(claims({ sub: 'someone-else' }))),
        cause: /unexpected "sub" claim value/,
      },
      {
        name: 'iss another registered client, signed with this client’s key',
        form: async () => assertionForm(await sign(claims({ iss: 'jwt-rsa-app' }))),
        cause: /ERR_JWKS_NO_MATCHING_KEY/,
      },
      {
        name: 'iss an unknown client',
        form: async () => assertionForm(await sign(claims({ iss: 'nobody', sub: 'nobody' }))),
        cause: /unknown client "nobody" \(private_key_jwt\)/,
      },
      {
        name: 'body client_id different from iss',
        form: async () => assertionForm(await sign(claims()), { client_id: 'jwt-rsa-app' }),
        cause: /body client_id "jwt-rsa-app" differs from client_assertion iss "jwt-app"/,
      },
      {
        name: 'client registered for another method',
        form: async () => assertionForm(await sign(claims({ iss: 'post-app', sub: 'post-app' }))),
        cause: /registered for client_secret_post, not private_key_jwt/,
      },
      {
        name: 'client without jwks',
        form: async () =>
          assertionForm(await sign(claims({ iss: 'jwt-no-keys', sub: 'jwt-no-keys' }))),
        cause: /client has no jwks/,
      },
      {
        name: 'alg none',
        form: async () =>
          assertionForm(`${base64url({ alg: 'none', typ: 'JWT' })}.${base64url(claims())}.`),
        cause: /ERR_JOSE_ALG_NOT_ALLOWED/,
      },
      {
        name: 'HS256 signed with some secret',
        form: async () =>
          assertionForm(
            await sign(claims(), {
              key: new TextEncoder().encode('some-secret-of-32-bytes-or-more!'),
              alg: 'HS256',
            }),
          ),
        cause: /ERR_JOSE_ALG_NOT_ALLOWED/,
      },
      {
        name: 'HS256 signed with an oct key the client registered',
        form: async () =>
          assertionForm(
            await sign(claims({ iss: 'jwt-oct-app', sub: 'jwt-oct-app' }), {
              key: new TextEncoder().encode(OCT_SECRET),
              alg: 'HS256',
              kid: 'oct-key',
            }),
          ),
        cause: /ERR_JOSE_ALG_NOT_ALLOWED/,
      },
      {
        name: 'signed by a key the client did not register (same kid)',
        form: async () => assertionForm(await sign(claims(), { key: strangerKey })),
        cause: /ERR_JWS_SIGNATURE_VERIFICATION_FAILED/,
      },
      {
        name: 'aud another server’s token endpoint',
        form: async () => assertionForm(await sign(claims({ aud: FOREIGN_TOKEN_ENDPOINT }))),
        cause: /unexpected "aud" claim value/,
      },
      {
        name: 'aud an array with a foreign element (audience injection)',
        form: async () =>
          assertionForm(await sign(claims({ aud: [TOKEN_ENDPOINT, FOREIGN_TOKEN_ENDPOINT] }))),
        cause: /aud contains values that are not this server: .*other-as\.example\.net/,
      },
      {
        name: 'exp too far ahead',
        form: async () => assertionForm(await sign(claims({ iat: undefined, exp: now() + 3600 }))),
        cause: /exp is \d+ s ahead; at most 300 s accepted/,
      },
      {
        name: 'exp beyond the lifetime by more than the tolerance',
        form: async () => assertionForm(await sign(claims({ iat: undefined, exp: now() + 340 }))),
        cause: /exp is \d+ s ahead; at most 300 s accepted/,
      },
      {
        name: 'exp - iat longer than the lifetime',
        form: async () => assertionForm(await sign(claims({ iat: now() - 400, exp: now() + 60 }))),
        cause: /lifetime exp - iat is \d+ s; at most 300 s accepted/,
      },
      {
        name: 'expired beyond the tolerance',
        form: async () => assertionForm(await sign(claims({ iat: now() - 200, exp: now() - 60 }))),
        cause: /ERR_JWT_EXPIRED/,
      },
      {
        name: 'iat in the future beyond the tolerance',
        form: async () => assertionForm(await sign(claims({ iat: now() + 120, exp: now() + 180 }))),
        cause: /iat is \d+ s in the future/,
      },
      {
        name: 'nbf in the future beyond the tolerance',
        form: async () => assertionForm(await sign(claims({ nbf: now() + 120, exp: now() + 180 }))),
        cause: /"nbf" claim timestamp check failed/,
      },
      {
        name: 'jti not a string',
        form: async () => assertionForm(await sign(claims({ jti: 42 }))),
        cause: /jti must be a non-empty string/,
      },
      {
        name: 'jti longer than 256 characters',
        form: async () => assertionForm(await sign(claims({ jti: 'j'.repeat(257) }))),
        cause: /jti must be a non-empty string of at most 256 characters/,
      },
      {
        name: 'wrong client_assertion_type',
        form: async () => ({
          client_assertion: await sign(claims()),
          client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:saml2-bearer',
        }),
        cause:
          /client_assertion_type is "urn:ietf:params:oauth:client-assertion-type:saml2-bearer"/,
      },
      {
        name: 'client_assertion without client_assertion_type',
        form: async () => ({ client_assertion: await sign(claims()) }),
        cause: /client_assertion without client_assertion_type/,
      },
      {
        name: 'client_assertion_type without client_assertion',
        form: async () => ({ client_id: 'jwt-app', client_assertion_type: JWT_BEARER }),
        cause: /client_assertion_type without client_assertion/,
      },
      {
        name: 'client_assertion that is not a JWT',
        form: async () => assertionForm('not-a-jwt'),
        cause: /client_assertion is not a JWT/,
      },
    ];
    for (const c of cases) {
      it(c.name, async () => {
        const { app, lastError } = clientAuthHarness(authenticator());
        const res = await send(app, await c.form());
        expect(res.status).to.equal(401);
        expect(res.body).to.deep.equal(INVALID_CLIENT);
        expect(res.headers['www-authenticate']).to.equal(undefined);
        expect(lastError()?.privateCause).to.match(c.cause);
      });
    }
  });

  describe('jti replay', () => {
    it('refuses the same assertion a second time', async () => {
      const { app, lastError } = clientAuthHarness(authenticator());
      const form = assertionForm(await sign(claims({ jti: 'once-only' })));
      const first = await send(app, form);
      expect(first.status).to.equal(200);
      expect(first.body).to.deep.equal({ client_id: 'jwt-app' });
      const replay = await send(app, form);
      expect(replay.status).to.equal(401);
      expect(replay.body).to.deep.equal(INVALID_CLIENT);
      expect(lastError()?.privateCause).to.equal(
        'client_assertion jti "once-only" was already used',
      );
    });

    it('refuses a replay across two authenticators sharing one MemoryReplayStore', async () => {
      const store = new MemoryReplayStore();
      const a = clientAuthHarness(authenticator(store));
      const b = clientAuthHarness(authenticator(store));
      const form = assertionForm(await sign(claims()));
      const first = await send(a.app, form);
      expect(first.status).to.equal(200);
      const replay = await send(b.app, form);
      expect(replay.status).to.equal(401);
      expect(replay.body).to.deep.equal(INVALID_CLIENT);
      expect(b.lastError()?.privateCause).to.match(/jti ".+" was already used/);
    });

    it('keys jti per client: two clients may use the same jti', async () => {
      const { app } = clientAuthHarness(authenticator());
      const esForm = assertionForm(await sign(claims({ jti: 'shared-jti' })));
      const rsaForm = assertionForm(
        await sign(claims({ iss: 'jwt-rsa-app', sub: 'jwt-rsa-app', jti: 'shared-jti' }), {
          key: rsaKey,
          alg: 'RS256',
          kid: 'rsa-key',
        }),
      );
      expect((await send(app, esForm)).body).to.deep.equal({ client_id: 'jwt-app' });
      expect((await send(app, rsaForm)).body).to.deep.equal({ client_id: 'jwt-rsa-app' });
    });

    it('does not burn the jti of an assertion refused for another reason', async () => {
      const { app } = clientAuthHarness(authenticator());
      const refused = await send(
        app,
        assertionForm(
          await sign(claims({ jti: 'kept', aud: [TOKEN_ENDPOINT, FOREIGN_TOKEN_ENDPOINT] })),
        ),
      );
      expect(refused.status).to.equal(401);
      const good = await send(app, assertionForm(await sign(claims({ jti: 'kept' }))));
      expect(good.status).to.equal(200);
      expect(good.body).to.deep.equal({ client_id: 'jwt-app' });
    });

    it('remembers the jti until exp plus the clock tolerance', async () => {
      const consumed: Array<[string, number]> = [];
      const store: ReplayStore = {
        consume: (key, expiresAtSeconds) => {
          consumed.push([key, expiresAtSeconds]);
          return Promise.resolve(true);
        },
      };
      const { app } = clientAuthHarness(authenticator(store));
      const exp = now() + 60;
      const res = await send(app, assertionForm(await sign(claims({ jti: 'timed', exp }))));
      expect(res.status).to.equal(200);
      expect(consumed).to.deep.equal([['jwt-app:timed', exp + 30]]);
    });

    it('answers 503 with Retry-After when the store is full, never forgetting a jti', async () => {
      const store = new MemoryReplayStore({ maxEntries: 1 });
      const { app, lastError } = clientAuthHarness(authenticator(store));
      const firstForm = assertionForm(await sign(claims()));
      expect((await send(app, firstForm)).status).to.equal(200);
      const full = await send(app, assertionForm(await sign(claims())));
      expect(full.status).to.equal(503);
      expect(full.body).to.deep.equal({
        error: 'temporarily_unavailable',
        error_description: 'The server is busy; retry later.',
      });
      expect(Number(full.headers['retry-after'])).to.be.within(1, 91);
      expect(lastError()?.privateCause).to.match(/replay store full/);
      // The remembered jti is still refused.
      expect((await send(app, firstForm)).status).to.equal(401);
    });

    const storeFailures = [
      {
        title: 'answers 503 with Retry-After when the store does not answer in time',
        failure: () => new StoreUnavailableError('Redis: no answer within 1000 ms'),
        status: 503,
        body: {
          error: 'temporarily_unavailable',
          error_description: 'The server is busy; retry later.',
        },
        retryAfter: '5',
        cause: 'replay store: Redis: no answer within 1000 ms',
      },
      {
        title: 'answers 500 server_error with a generic description when the store fails',
        failure: () => new Error('redis: connection refused'),
        status: 500,
        body: {
          error: 'server_error',
          error_description: 'The server encountered an unexpected error.',
        },
        retryAfter: undefined,
        cause: 'Error: redis: connection refused',
      },
    ];
    for (const { title, failure, status, body, retryAfter, cause } of storeFailures) {
      it(title, async () => {
        const store: ReplayStore = { consume: () => Promise.reject(failure()) };
        const { app, lastError } = clientAuthHarness(authenticator(store));
        const res = await send(app, assertionForm(await sign(claims())));
        expect(res.status).to.equal(status);
        expect(res.body).to.deep.equal(body);
        expect(res.headers['retry-after']).to.equal(retryAfter);
        expect(lastError()?.privateCause).to.equal(cause);
      });
    }
  });

  it('serves the next good assertion after a refused one', async () => {
    const { app } = clientAuthHarness(authenticator());
    expect(
      (await send(app, assertionForm(await sign(claims({ aud: FOREIGN_TOKEN_ENDPOINT }))))).status,
    ).to.equal(401);
    const good = await send(app, assertionForm(await sign(claims())));
    expect(good.status).to.equal(200);
    expect(good.body).to.deep.equal({ client_id: 'jwt-app' });
  });
});
