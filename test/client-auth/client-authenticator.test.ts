import { expect } from 'chai';
import express from 'express';
import type { NextFunction, Request, Response } from 'express';
import passport from 'passport';
import request from 'supertest';
import {
  createClientAuthenticator,
  type ClientAuthenticatorOptions,
} from '../../lib/client-auth/client-authenticator.js';
import { ClientSecretBasicStrategy } from '../../lib/client-auth/client-secret-basic-strategy.js';
import { ClientSecretPostStrategy } from '../../lib/client-auth/client-secret-post-strategy.js';
import { PrivateKeyJwtStrategy } from '../../lib/client-auth/private-key-jwt-strategy.js';
import { PublicClientStrategy } from '../../lib/client-auth/public-client-strategy.js';
import type { OAuthError } from '../../lib/errors.js';
import type { Client, TokenEndpointAuthMethod } from '../../lib/registry/clients.js';
import { MemoryReplayStore } from '../../lib/stores/memory-replay-store.js';
import { clientAuthHarness } from '../support/client-auth-harness.js';
import { testClient } from '../support/test-client.js';
import { INVALID_CLIENT } from '../support/oauth-responses.js';

const AUDIENCES = ['https://auth.example.com/', 'https://auth.example.com/oauth/token'];
const BASIC_CHALLENGE = 'Basic realm="token", error="invalid_client"';
const ONE_METHOD = {
  error: 'invalid_request',
  error_description: 'Client authentication must use only one method.',
};
const MALFORMED_BASIC = {
  error: 'invalid_request',
  error_description: 'The Authorization header does not hold valid Basic client credentials.',
};

const BASIC_SECRET = 'basic-secret-0123456789abcdef';
const POST_SECRET = 'post-secret-0123456789abcdef';
/** Appendix B: a client id and secret full of characters form-urlencoding must carry. */
const ODD_ID = 'odd id:+%/é';
const ODD_SECRET = 'p@ss:word +100% sure & more=yes';

function client(
  client_id: string,
  token_endpoint_auth_method: TokenEndpointAuthMethod,
  client_secret?: string,
): Client {
  return testClient({ client_id, token_endpoint_auth_method, client_secret });
}

const CLIENTS = new Map<string, Client>(
  [
    client('basic-app', 'client_secret_basic', BASIC_SECRET),
    client('post-app', 'client_secret_post', POST_SECRET),
    client('spa', 'none'),
    client(ODD_ID, 'client_secret_basic', ODD_SECRET),
    // Misconfigured on purpose: a secret method without a secret must never authenticate.
    client('secretless-app', 'client_secret_basic'),
    client('space-app', 'client_secret_basic', 'with space'),
    client('plus-app', 'client_secret_basic', 'a+b'),
    client('secretless-post-app', 'client_secret_post'),
  ].map((c) => [c.client_id, c]),
);
const getClient = (id: string): Client | undefined => CLIENTS.get(id);

/** RFC 6749 Appendix B: application/x-www-form-urlencoded, then base64 of `id:secret`. */
function formEncode(value: string): string {
  return encodeURIComponent(value)
    .replace(/[!'()*~]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)
    .replace(/%20/g, '+');
}
function basic(id: string, secret: string): string {
  return `Basic ${Buffer.from(`${formEncode(id)}:${formEncode(secret)}`).toString('base64')}`;
}
function rawBasic(decoded: string): string {
  return `Basic ${Buffer.from(decoded).toString('base64')}`;
}

function options(extra: Partial<ClientAuthenticatorOptions> = {}): ClientAuthenticatorOptions {
  return { getClient, audiences: AUDIENCES, replayStore: new MemoryReplayStore(), ...extra };
}

describe('client-auth/client-authenticator', () => {
  const { app, lastError } = clientAuthHarness(createClientAuthenticator(options()));
  const post = () => request(app).post('/oauth/token').type('form');

  describe('accepted credentials', () => {
    const cases: Array<{ name: string; auth?: string; form: Record<string, string>; id: string }> =
      [
        {
          name: 'client_secret_basic',
          auth: basic('basic-app', BASIC_SECRET),
          form: {},
          id: 'basic-app',
        },
        {
          name: 'client_secret_basic with a lower-case scheme and the same body client_id',
          auth: basic('basic-app', BASIC_SECRET).replace('Basic', 'basic'),
          form: { client_id: 'basic-app' },
          id: 'basic-app',
        },
        {
          name: 'client_secret_basic with Appendix B encoding (":", "+", "%", spaces, non-ASCII)',
          auth: basic(ODD_ID, ODD_SECRET),
          form: {},
          id: ODD_ID,
        },
        {
          name: 'client_secret_basic decoding "+" as a space (form-urlencoding, Appendix B)',
          auth: rawBasic('space-app:with+space'),
          form: {},
          id: 'space-app',
        },
        {
          name: 'client_secret_basic decoding "%2B" as "+"',
          auth: rawBasic('plus-app:a%2Bb'),
          form: {},
          id: 'plus-app',
        },
        {
          name: 'client_secret_basic without base64 padding',
          auth: basic('basic-app', BASIC_SECRET).replace(/=+$/, ''),
          form: {},
          id: 'basic-app',
        },
        {
          name: 'client_secret_post',
          form: { client_id: 'post-app', client_secret: POST_SECRET },
          id: 'post-app',
        },
        { name: 'none for a public client', form: { client_id: 'spa' }, id: 'spa' },
        {
          name: 'none, empty credential parameters counting as absent',
          form: { client_id: 'spa', client_secret: '', client_assertion: '' },
          id: 'spa',
        },
      ];
    for (const c of cases) {
      it(c.name, async () => {
        const req = post();
        if (c.auth !== undefined) req.set('Authorization', c.auth);
        const res = await req.send(c.form);
        expect(res.status).to.equal(200);
        expect(res.body).to.deep.equal({ client_id: c.id });
      });
    }
  });

  describe('refused credentials', () => {
    const cases: Array<{
      name: string;
      auth?: string;
      form: Record<string, string>;
      status: number;
      body: { error: string; error_description: string };
      challenge: boolean;
      cause: RegExp;
    }> = [
      {
        name: 'no credentials and no client_id',
        form: {},
        status: 401,
        body: { error: 'invalid_client', error_description: 'Client authentication is required.' },
        challenge: false,
        cause: /no client credentials and no client_id/,
      },
      {
        name: 'Basic, wrong secret of the same length',
        auth: basic('basic-app', BASIC_SECRET.replace(/f$/, 'e')),
        form: {},
        status: 401,
        body: INVALID_CLIENT,
        challenge: true,
        cause: /wrong client secret \(client_secret_basic\)/,
      },
      {
        name: 'Basic, wrong secret shorter than the real one',
        auth: basic('basic-app', 'x'),
        form: {},
        status: 401,
        body: INVALID_CLIENT,
        challenge: true,
        cause: /wrong client secret/,
      },
      {
        name: 'Basic, wrong secret much longer than the real one',
        auth: basic('basic-app', BASIC_SECRET.repeat(40)),
        form: {},
        status: 401,
        body: INVALID_CLIENT,
        challenge: true,
        cause: /wrong client secret/,
      },
      {
        name: 'Basic, a secret sent without form-encoding: its raw "+" decodes to a space',
        auth: rawBasic('plus-app:a+b'),
        form: {},
        status: 401,
        body: INVALID_CLIENT,
        challenge: true,
        cause: /wrong client secret/,
      },
      {
        name: 'Basic, a secret sent without form-encoding: its raw "%" is a broken escape',
        auth: rawBasic(`${formEncode(ODD_ID)}:${ODD_SECRET}`),
        form: {},
        status: 400,
        body: MALFORMED_BASIC,
        challenge: false,
        cause: /not properly form-urlencoded/,
      },
      {
        name: 'Basic, unknown client',
        auth: basic('nobody', BASIC_SECRET),
        form: {},
        status: 401,
        body: INVALID_CLIENT,
        challenge: true,
        cause: /unknown client "nobody"/,
      },
      {
        name: 'Basic for a client registered for client_secret_post (right secret)',
        auth: basic('post-app', POST_SECRET),
        form: {},
        status: 401,
        body: INVALID_CLIENT,
        challenge: true,
        cause: /registered for client_secret_post, not client_secret_basic/,
      },
      {
        name: 'Basic for a client without a secret',
        auth: basic('secretless-app', 'anything'),
        form: {},
        status: 401,
        body: INVALID_CLIENT,
        challenge: true,
        cause: /client has no secret/,
      },
      {
        name: 'post, wrong secret of the same length',
        form: { client_id: 'post-app', client_secret: POST_SECRET.replace(/f$/, 'e') },
        status: 401,
        body: INVALID_CLIENT,
        challenge: false,
        cause: /wrong client secret \(client_secret_post\)/,
      },
      {
        name: 'post, wrong secret of a different length',
        form: { client_id: 'post-app', client_secret: 'short' },
        status: 401,
        body: INVALID_CLIENT,
        challenge: false,
        cause: /wrong client secret/,
      },
      {
        name: 'post, unknown client',
        form: { client_id: 'nobody', client_secret: POST_SECRET },
        status: 401,
        body: INVALID_CLIENT,
        challenge: false,
        cause: /unknown client "nobody"/,
      },
      {
        name: 'post for a client registered for client_secret_basic (right secret)',
        form: { client_id: 'basic-app', client_secret: BASIC_SECRET },
        status: 401,
        body: INVALID_CLIENT,
        challenge: false,
        cause: /registered for client_secret_basic, not client_secret_post/,
      },
      {
        name: 'post for a client without a secret',
        form: { client_id: 'secretless-post-app', client_secret: 'anything' },
        status: 401,
        body: INVALID_CLIENT,
        challenge: false,
        cause: /client has no secret/,
      },
      {
        name: 'post, client_secret without client_id',
        form: { client_secret: POST_SECRET },
        status: 400,
        body: {
          error: 'invalid_request',
          error_description: 'client_id is required with client_secret.',
        },
        challenge: false,
        cause: /without client_id/,
      },
      {
        name: 'none for a confidential client',
        form: { client_id: 'basic-app' },
        status: 401,
        body: INVALID_CLIENT,
        challenge: false,
        cause: /registered for client_secret_basic but sent no credentials/,
      },
      {
        name: 'none for an unknown client',
        form: { client_id: 'nobody' },
        status: 401,
        body: INVALID_CLIENT,
        challenge: false,
        cause: /unknown client "nobody" \(none\)/,
      },
      {
        name: 'Basic and body client_secret together',
        auth: basic('basic-app', BASIC_SECRET),
        form: { client_secret: BASIC_SECRET },
        status: 400,
        body: ONE_METHOD,
        challenge: false,
        cause: /client_secret_basic, client_secret_post/,
      },
      {
        name: 'Basic and client_assertion together',
        auth: basic('basic-app', BASIC_SECRET),
        form: {
          client_assertion: 'a.b.c',
          client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
        },
        status: 400,
        body: ONE_METHOD,
        challenge: false,
        cause: /client_secret_basic, private_key_jwt/,
      },
      {
        name: 'client_secret and client_assertion together',
        form: { client_id: 'post-app', client_secret: POST_SECRET, client_assertion: 'a.b.c' },
        status: 400,
        body: ONE_METHOD,
        challenge: false,
        cause: /client_secret_post, private_key_jwt/,
      },
      {
        name: 'body client_id different from the Basic one',
        auth: basic('basic-app', BASIC_SECRET),
        form: { client_id: 'post-app' },
        status: 400,
        body: {
          error: 'invalid_request',
          error_description: 'client_id in the body does not match the Authorization header.',
        },
        challenge: false,
        cause: /body client_id "post-app" differs from Basic client id "basic-app"/,
      },
      {
        name: 'Basic with characters outside base64',
        auth: 'Basic YmFzaWMtYXBw*OnNlY3JldA==',
        form: {},
        status: 400,
        body: MALFORMED_BASIC,
        challenge: false,
        cause: /not valid base64/,
      },
      {
        name: 'Basic with wrong base64 padding',
        auth: 'Basic YQ===',
        form: {},
        status: 400,
        body: MALFORMED_BASIC,
        challenge: false,
        cause: /not valid base64/,
      },
      {
        name: 'Basic without a ":"',
        auth: rawBasic('basic-app'),
        form: {},
        status: 400,
        body: MALFORMED_BASIC,
        challenge: false,
        cause: /no ":" separator/,
      },
      {
        name: 'Basic with a broken percent escape',
        auth: rawBasic('basic-app:%E0%A4%A'),
        form: {},
        status: 400,
        body: MALFORMED_BASIC,
        challenge: false,
        cause: /not properly form-urlencoded/,
      },
      {
        name: 'Basic with an empty secret',
        auth: rawBasic('basic-app:'),
        form: {},
        status: 400,
        body: MALFORMED_BASIC,
        challenge: false,
        cause: /empty client secret/,
      },
      {
        name: 'Basic with a control character in the id',
        auth: rawBasic(`basic-app%0A:${BASIC_SECRET}`),
        form: {},
        status: 400,
        body: MALFORMED_BASIC,
        challenge: false,
        cause: /control characters/,
      },
      {
        name: 'Basic scheme without credentials',
        auth: 'Basic',
        form: {},
        status: 400,
        body: MALFORMED_BASIC,
        challenge: false,
        cause: /no single token68/,
      },
      {
        name: 'an Authorization scheme other than Basic',
        auth: 'Bearer some-token',
        form: { client_id: 'spa' },
        status: 400,
        body: {
          error: 'invalid_request',
          error_description: 'Unsupported Authorization scheme; client credentials use Basic.',
        },
        challenge: false,
        cause: /scheme "Bearer"/,
      },
    ];
    for (const c of cases) {
      it(`${c.name}: ${c.status} ${c.body.error}`, async () => {
        const req = post();
        if (c.auth !== undefined) req.set('Authorization', c.auth);
        const res = await req.send(c.form);
        expect(res.status).to.equal(c.status);
        expect(res.body).to.deep.equal(c.body);
        if (c.challenge) expect(res.headers['www-authenticate']).to.equal(BASIC_CHALLENGE);
        else expect(res.headers['www-authenticate']).to.equal(undefined);
        expect(lastError()?.privateCause).to.match(c.cause);
      });
    }
  });

  it('never puts the presented secret into the private cause', async () => {
    const res = await post().send({ client_id: 'post-app', client_secret: 'guess-1234567890' });
    expect(res.status).to.equal(401);
    expect(lastError()?.privateCause).not.to.include('guess-1234567890');
  });

  it('serves the next good request after a failure', async () => {
    const bad = await post().set('Authorization', basic('basic-app', 'wrong')).send({});
    expect(bad.status).to.equal(401);
    const good = await post().set('Authorization', basic('basic-app', BASIC_SECRET)).send({});
    expect(good.status).to.equal(200);
    expect(good.body).to.deep.equal({ client_id: 'basic-app' });
  });

  it('refuses a non-string credential parameter as a malformed request', async () => {
    const bodyApp = express();
    const authenticate = createClientAuthenticator(options());
    bodyApp.post('/oauth/token', express.json(), async (req, res) => {
      res.json({ client_id: (await authenticate(req)).client_id });
    });
    bodyApp.use((err: OAuthError, _req: Request, res: Response, _next: NextFunction) => {
      res.status(err.status).json(err.toJSON());
    });
    const res = await request(bodyApp)
      .post('/oauth/token')
      .send({ client_id: ['post-app', 'post-app'], client_secret: POST_SECRET });
    expect(res.status).to.equal(400);
    expect(res.body).to.deep.equal({
      error: 'invalid_request',
      error_description: 'client_id must be a single string.',
    });
  });

  describe('options', () => {
    const invalid: Array<[string, Partial<ClientAuthenticatorOptions>, RegExp]> = [
      ['audiences empty', { audiences: [] }, /options\.audiences must be a non-empty array/],
      ['audiences with an empty string', { audiences: [''] }, /options\.audiences\[0\]/],
      [
        'getClient not a function',
        { getClient: 'x' as never },
        /options\.getClient must be a function/,
      ],
      [
        'replayStore without consume',
        { replayStore: {} as never },
        /options\.replayStore\.consume/,
      ],
      ['negative clock tolerance', { clockToleranceSeconds: -1 }, /options\.clockToleranceSeconds/],
      ['zero lifetime', { maxAssertionLifetimeSeconds: 0 }, /options\.maxAssertionLifetimeSeconds/],
      [
        'passport without strategies',
        { passport: { authenticator: new passport.Passport(), strategies: [] } },
        /options\.passport\.strategies/,
      ],
    ];
    for (const [name, extra, message] of invalid) {
      it(`throws a TypeError naming the option: ${name}`, () => {
        expect(() => createClientAuthenticator(options(extra))).to.throw(TypeError, message);
      });
    }
  });
});

describe('client-auth with passport', () => {
  it('leaves the global passport instance without our strategies', async () => {
    const strategiesOf = (instance: object) =>
      Object.keys((instance as { _strategies: Record<string, unknown> })._strategies).sort();
    const before = strategiesOf(passport);
    const { app } = clientAuthHarness(createClientAuthenticator(options()));
    const res = await request(app)
      .post('/oauth/token')
      .set('Authorization', basic('basic-app', BASIC_SECRET))
      .send();
    expect(res.status).to.equal(200);
    expect(strategiesOf(passport)).to.deep.equal(before);

    // And the global instance cannot run them by name.
    const outcome = await new Promise<unknown>((resolve) => {
      const middleware = passport.authenticate('client_secret_basic', { session: false }, () =>
        resolve('ran'),
      ) as (req: unknown, res: unknown, next: (err?: unknown) => void) => void;
      middleware({ headers: {} }, {}, resolve);
    });
    expect(outcome).to.be.instanceOf(Error);
    expect((outcome as Error).message).to.equal(
      'Unknown authentication strategy "client_secret_basic"',
    );
  });

  it("puts back the host's passport state on req (session manager, login helpers)", async () => {
    const marker = { host: 'session manager' };
    const { app } = clientAuthHarness(
      createClientAuthenticator(options()),
      (req, _res, next) => {
        (req as unknown as { _sessionManager: unknown })._sessionManager = marker;
        next();
      },
      (req) => ({
        sessionManagerKept:
          (req as unknown as { _sessionManager: unknown })._sessionManager === marker,
        loginAdded: Object.hasOwn(req, 'login') || Object.hasOwn(req, 'isAuthenticated'),
        user: (req as { user?: unknown }).user ?? null,
      }),
    );
    const res = await request(app).post('/oauth/token').type('form').send({ client_id: 'spa' });
    expect(res.status).to.equal(200);
    expect(res.body).to.deep.equal({
      client_id: 'spa',
      sessionManagerKept: true,
      loginAdded: false,
      user: null,
    });
  });

  describe("a host's own passport instance", () => {
    /** A host strategy reading an API key header; succeeds with an object or the id string. */
    class ApiKeyStrategy extends passport.Strategy {
      override name = 'host-api-key';
      override authenticate(req: Request): void {
        const key = req.headers['x-api-key'];
        if (key === 'good-object') this.success({ client_id: 'post-app', extra: true });
        else if (key === 'good-string') this.success('spa');
        else if (key === 'ghost') this.success({ client_id: 'not-registered' });
        else if (key === 'boom') this.error(new Error('host user database is down'));
        else if (key === 'pass') this.pass();
        else this.fail('ApiKey realm="host"', 401);
      }
    }

    const host = new passport.Passport();
    host.use(new ApiKeyStrategy());
    // Our exported strategies, registered under the host's own names.
    host.use('host-basic', new ClientSecretBasicStrategy({ getClient }));
    host.use('host-post', new ClientSecretPostStrategy({ getClient }));
    host.use('host-public', new PublicClientStrategy({ getClient }));
    host.use(
      'host-jwt',
      new PrivateKeyJwtStrategy({
        getClient,
        audiences: AUDIENCES,
        replayStore: new MemoryReplayStore(),
      }),
    );

    const apiKey = clientAuthHarness(
      createClientAuthenticator(
        options({ passport: { authenticator: host, strategies: ['host-api-key'] } }),
      ),
    );
    const chain = clientAuthHarness(
      createClientAuthenticator(
        options({
          passport: {
            authenticator: host,
            strategies: ['host-basic', 'host-post', 'host-jwt', 'host-public'],
          },
        }),
      ),
    );

    const apiKeyCases: Array<[string, number, object, RegExp | undefined]> = [
      ['good-object', 200, { client_id: 'post-app' }, undefined],
      ['good-string', 200, { client_id: 'spa' }, undefined],
      ['ghost', 401, INVALID_CLIENT, /"not-registered", which is not a registered client/],
      ['wrong', 401, INVALID_CLIENT, /no client authentication strategy succeeded.*ApiKey realm/],
      ['pass', 401, INVALID_CLIENT, /passed without a verdict/],
      [
        'boom',
        500,
        { error: 'server_error', error_description: 'The server encountered an unexpected error.' },
        /host user database is down/,
      ],
    ];
    for (const [key, status, body, cause] of apiKeyCases) {
      it(`runs the host's strategy by its name: x-api-key ${key} → ${status}`, async () => {
        const res = await request(apiKey.app).post('/oauth/token').set('x-api-key', key).send();
        expect(res.status).to.equal(status);
        expect(res.body).to.deep.equal(body);
        if (cause) expect(apiKey.lastError()?.privateCause).to.match(cause);
      });
    }

    it('keeps the one-method rule with host strategies', async () => {
      const res = await request(apiKey.app)
        .post('/oauth/token')
        .set('x-api-key', 'good-object')
        .set('Authorization', basic('basic-app', BASIC_SECRET))
        .type('form')
        .send({ client_secret: BASIC_SECRET });
      expect(res.status).to.equal(400);
      expect(res.body).to.deep.equal(ONE_METHOD);
    });

    it('runs our exported strategies in a host chain: each method authenticates', async () => {
      const viaBasic = await request(chain.app)
        .post('/oauth/token')
        .set('Authorization', basic('basic-app', BASIC_SECRET))
        .send();
      expect(viaBasic.status).to.equal(200);
      expect(viaBasic.body).to.deep.equal({ client_id: 'basic-app' });

      const viaPost = await request(chain.app)
        .post('/oauth/token')
        .type('form')
        .send({ client_id: 'post-app', client_secret: POST_SECRET });
      expect(viaPost.status).to.equal(200);
      expect(viaPost.body).to.deep.equal({ client_id: 'post-app' });

      const viaNone = await request(chain.app)
        .post('/oauth/token')
        .type('form')
        .send({ client_id: 'spa' });
      expect(viaNone.status).to.equal(200);
      expect(viaNone.body).to.deep.equal({ client_id: 'spa' });
    });

    it('answers a host chain failure with the failing strategy’s own error and challenge', async () => {
      const res = await request(chain.app)
        .post('/oauth/token')
        .set('Authorization', basic('basic-app', 'wrong'))
        .type('form')
        .send({ client_id: 'basic-app' });
      expect(res.status).to.equal(401);
      expect(res.body).to.deep.equal(INVALID_CLIENT);
      expect(res.headers['www-authenticate']).to.equal(BASIC_CHALLENGE);
      expect(chain.lastError()?.privateCause).to.equal('wrong client secret (client_secret_basic)');
    });

    it('does not fall back to the public strategy after a secret failed', async () => {
      const res = await request(chain.app)
        .post('/oauth/token')
        .type('form')
        .send({ client_id: 'spa', client_secret: 'anything' });
      expect(res.status).to.equal(401);
      expect(res.body).to.deep.equal(INVALID_CLIENT);
      expect(chain.lastError()?.privateCause).to.equal(
        'client is registered for none, not client_secret_post',
      );
    });
  });
});
