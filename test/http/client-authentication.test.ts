import { expect } from 'chai';
import type { Request } from 'express';
import { createLocalJWKSet, jwtVerify } from 'jose';
import passport from 'passport';
import request from 'supertest';
import { MemoryReplayStore } from '../../lib/index.js';
import type { CustomTokenExchangeOptions } from '../../lib/index.js';
import { TOKEN_ENDPOINT, assertionParams, clientAssertion } from '../support/client-assertion.js';
import type { AssertionOptions } from '../support/client-assertion.js';
import {
  ACCESS_TOKEN_TYPE,
  API,
  GRANT,
  ISSUER,
  SECRET,
  SUBJECT_TYPE,
  basic,
  exchangeBody,
  form,
  testServer,
} from '../support/fixtures.js';
import { expectIssued } from '../support/token-requests.js';
import type { TestServer } from '../support/fixtures.js';
import { INVALID_CLIENT, NO_STORE, APP } from '../support/oauth-responses.js';

/**
 * Client authentication through the router (spec §1 "client credentials", security.md
 * "Requests and client authentication"): every refusal is checked for its status, whole body,
 * headers, the absence of a token, its `fecte` entry, and the next good request.
 */

const BASIC_CHALLENGE = 'Basic realm="token", error="invalid_client"';

interface OAuthErrorBody {
  error: string;
  error_description: string;
}

function post(
  server: TestServer,
  body: Record<string, string | string[]>,
  auth?: string,
  headers: Record<string, string> = {},
) {
  const req = request(server.app).post('/oauth/token').set('User-Agent', 'cte-client-auth/1.0');
  if (auth !== undefined) req.set('Authorization', auth);
  for (const [name, value] of Object.entries(headers)) req.set(name, value);
  return req.type('form').send(form(body));
}

/** Asserts a 200 exchange; returns the verified access token payload. */
async function expectIssuedFor(server: TestServer, res: request.Response, clientId: string) {
  expectIssued(res, {
    scope: '',
  });
  const jwks = await request(server.app).get('/.well-known/jwks.json').expect(200);
  const { payload } = await jwtVerify(res.body.access_token, createLocalJWKSet(jwks.body), {
    issuer: ISSUER,
    audience: API,
  });
  expect(payload.client_id).to.equal(clientId);
  const [entry] = await server.cte.logs.list();
  expect(entry).to.include({ type: 'secte', client_id: clientId });
  return payload;
}

interface Refusal {
  status: number;
  body: OAuthErrorBody;
  /** Whether the answer carries the Basic challenge (a 401 to a request that used Basic). */
  challenge: boolean;
  /** The private cause in the fecte entry. */
  cause: RegExp;
  /** Credentials that must appear nowhere in the log (the fixture secret is always added). */
  credentials?: string[];
  /**
   * The registered client the request claimed to be, which the entry is logged under (none when
   * it named no registered client).
   */
  claimed?: string;
  /** A good request sent afterwards, which must succeed for `nextClient`. */
  next: () => PromiseLike<request.Response>;
  nextClient: string;
}

/**
 * A refused request: exact status and body, no-store headers, WWW-Authenticate only for Basic,
 * no token, nothing reached the host, one new fecte entry with the cause and no credential;
 * then the next good request succeeds.
 */
async function expectRefused(
  server: TestServer,
  res: request.Response,
  logsBefore: number,
  refusal: Refusal,
): Promise<void> {
  expect(res.status, JSON.stringify(res.body)).to.equal(refusal.status);
  expect(res.body).to.deep.equal(refusal.body);
  expect(res.headers).to.include(NO_STORE);
  expect(res.headers['content-type']).to.match(/^application\/json/);
  expect(res.headers['www-authenticate']).to.equal(refusal.challenge ? BASIC_CHALLENGE : undefined);
  expect(res.text).not.to.match(/access_token|id_token|refresh_token/);
  expect(server.hostRequests).to.have.length(0);

  const entries = await server.cte.logs.list();
  expect(entries).to.have.length(logsBefore + 1);
  const entry = entries[0]!;
  expect(entry.type).to.equal('fecte');
  expect(entry.description).to.equal(refusal.body.error_description);
  // No client authenticated: the failure is logged under the registered client it claimed to be.
  const claimed = (await server.cte.clients.list()).find(
    (client) => client.client_id === refusal.claimed,
  );
  expect(entry.client_id).to.equal(claimed?.client_id ?? null);
  expect(entry.client_name).to.equal(claimed?.name ?? '');
  // ...and says that client did not authenticate.
  expect(entry.details.client_authenticated).to.equal(claimed ? false : undefined);
  expect(entry.details).to.include({
    error: refusal.body.error,
    error_description: refusal.body.error_description,
    subject_token_type: SUBJECT_TYPE,
  });
  expect(entry.details.cause).to.be.a('string').and.match(refusal.cause);
  const logged = JSON.stringify(entry);
  for (const credential of [SECRET, ...(refusal.credentials ?? [])]) {
    expect(logged).not.to.include(credential);
  }
  expect(entry.details).not.to.have.property('access_token_jti');

  await expectIssuedFor(server, await refusal.next(), refusal.nextClient);
}

describe('client authentication through the router: client secrets', () => {
  let server: TestServer;
  beforeEach(async () => {
    server = await testServer();
  });

  const goodBasic = () => post(server, exchangeBody(), APP);
  const goodPost = () =>
    post(server, exchangeBody({ client_id: 'post-app', client_secret: SECRET }));
  const sameLength = `${SECRET.slice(0, -1)}X`;

  it('accepts client_secret_basic, with or without the matching client_id in the body', async () => {
    await expectIssuedFor(server, await goodBasic(), 'app');
    const withId = await post(server, exchangeBody({ client_id: 'app' }), APP);
    await expectIssuedFor(server, withId, 'app');
  });

  it('accepts client_secret_post', async () => {
    await expectIssuedFor(server, await goodPost(), 'post-app');
  });

  const cases: Array<{
    name: string;
    auth?: string;
    body: Record<string, string>;
    refusal: Omit<Refusal, 'next' | 'nextClient'>;
    next: 'basic' | 'post';
  }> = [
    {
      name: 'Basic with a wrong secret of the same length',
      auth: basic('app', sameLength),
      body: {},
      refusal: {
        status: 401,
        body: INVALID_CLIENT,
        challenge: true,
        cause: /^wrong client secret \(client_secret_basic\)$/,
        claimed: 'app',
        credentials: [sameLength],
      },
      next: 'basic',
    },
    {
      name: 'Basic with a wrong secret of a different length',
      auth: basic('app', 'short-wrong'),
      body: {},
      refusal: {
        status: 401,
        body: INVALID_CLIENT,
        challenge: true,
        cause: /^wrong client secret \(client_secret_basic\)$/,
        claimed: 'app',
        credentials: ['short-wrong'],
      },
      next: 'basic',
    },
    {
      name: 'Basic for an unknown client',
      auth: basic('nobody', SECRET),
      body: {},
      refusal: {
        status: 401,
        body: INVALID_CLIENT,
        challenge: true,
        cause: /^unknown client "nobody" \(client_secret_basic\)$/,
      },
      next: 'basic',
    },
    {
      name: 'Basic and a body client_secret together',
      auth: APP,
      body: { client_secret: SECRET },
      refusal: {
        status: 400,
        body: {
          error: 'invalid_request',
          error_description: 'Client authentication must use only one method.',
        },
        challenge: false,
        cause: /several client authentication methods: client_secret_basic, client_secret_post/,
        claimed: 'app',
      },
      next: 'basic',
    },
    {
      name: 'a body client_id different from the Basic one',
      auth: APP,
      body: { client_id: 'post-app' },
      refusal: {
        status: 400,
        body: {
          error: 'invalid_request',
          error_description: 'client_id in the body does not match the Authorization header.',
        },
        challenge: false,
        cause: /^body client_id "post-app" differs from Basic client id "app"$/,
        claimed: 'app',
      },
      next: 'basic',
    },
    {
      name: 'Basic for a client registered for client_secret_post',
      auth: basic('post-app', SECRET),
      body: {},
      refusal: {
        status: 401,
        body: INVALID_CLIENT,
        challenge: true,
        cause: /^client is registered for client_secret_post, not client_secret_basic$/,
        claimed: 'post-app',
      },
      next: 'post',
    },
    {
      name: 'client_secret_post with a wrong secret',
      body: { client_id: 'post-app', client_secret: sameLength },
      refusal: {
        status: 401,
        body: INVALID_CLIENT,
        challenge: false,
        cause: /^wrong client secret \(client_secret_post\)$/,
        claimed: 'post-app',
        credentials: [sameLength],
      },
      next: 'post',
    },
    {
      name: 'client_secret_post for an unknown client',
      body: { client_id: 'nobody', client_secret: SECRET },
      refusal: {
        status: 401,
        body: INVALID_CLIENT,
        challenge: false,
        cause: /^unknown client "nobody" \(client_secret_post\)$/,
      },
      next: 'post',
    },
    {
      name: 'client_secret_post for a client registered for Basic',
      body: { client_id: 'app', client_secret: SECRET },
      refusal: {
        status: 401,
        body: INVALID_CLIENT,
        challenge: false,
        cause: /^client is registered for client_secret_basic, not client_secret_post$/,
        claimed: 'app',
      },
      next: 'basic',
    },
    {
      name: 'client_secret without client_id',
      body: { client_secret: SECRET },
      refusal: {
        status: 400,
        body: {
          error: 'invalid_request',
          error_description: 'client_id is required with client_secret.',
        },
        challenge: false,
        cause: /^client_secret_post without client_id$/,
      },
      next: 'post',
    },
    {
      name: 'a confidential client sending only its client_id',
      body: { client_id: 'app' },
      refusal: {
        status: 401,
        body: INVALID_CLIENT,
        challenge: false,
        cause: /^client is registered for client_secret_basic but sent no credentials$/,
        claimed: 'app',
      },
      next: 'basic',
    },
    {
      name: 'no credentials and no client_id',
      body: {},
      refusal: {
        status: 401,
        body: { error: 'invalid_client', error_description: 'Client authentication is required.' },
        challenge: false,
        cause: /^no client credentials and no client_id in the request$/,
      },
      next: 'basic',
    },
    {
      name: 'the public client sending a client_secret',
      body: { client_id: 'spa', client_secret: SECRET },
      refusal: {
        status: 401,
        body: INVALID_CLIENT,
        challenge: false,
        cause: /^client is registered for none, not client_secret_post$/,
        claimed: 'spa',
      },
      next: 'post',
    },
  ];
  for (const c of cases) {
    it(`refuses ${c.name}: ${c.refusal.status} ${c.refusal.body.error}`, async () => {
      const res = await post(server, exchangeBody(c.body), c.auth);
      await expectRefused(server, res, 0, {
        ...c.refusal,
        next: c.next === 'basic' ? goodBasic : goodPost,
        nextClient: c.next === 'basic' ? 'app' : 'post-app',
      });
    });
  }
});

describe('client authentication through the router: RFC 6749 Appendix B Basic credentials', () => {
  const CLIENT_ID = 'encoded-app';
  // Every character Appendix B form-urlencoding must escape, and a space.
  const ODD_SECRET = 'p:ss+w%rd with space-0123456789';
  let server: TestServer;
  beforeEach(async () => {
    server = await testServer();
    await server.cte.clients.create({
      client_id: CLIENT_ID,
      client_secret: ODD_SECRET,
      name: 'Encoded secret app',
      token_endpoint_auth_method: 'client_secret_basic',
      token_exchange: { allow_any_profile_of_type: ['custom_authentication'] },
    });
  });
  const raw = (id: string, secret: string) =>
    `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`;
  const good = () => post(server, exchangeBody(), basic(CLIENT_ID, ODD_SECRET));

  it('accepts the secret form-urlencoded, a space as "+"', async () => {
    await expectIssuedFor(server, await good(), CLIENT_ID);
  });

  it('accepts the secret percent-encoded, a space as "%20"', async () => {
    const auth = raw(encodeURIComponent(CLIENT_ID), encodeURIComponent(ODD_SECRET));
    expect(auth).not.to.equal(basic(CLIENT_ID, ODD_SECRET));
    await expectIssuedFor(server, await post(server, exchangeBody(), auth), CLIENT_ID);
  });

  it('decodes a literal "+" as a space: the unescaped "+" is a wrong secret (401)', async () => {
    const auth = raw(CLIENT_ID, encodeURIComponent(ODD_SECRET).replace('%2B', '+'));
    const res = await post(server, exchangeBody(), auth);
    await expectRefused(server, res, 0, {
      status: 401,
      body: INVALID_CLIENT,
      challenge: true,
      cause: /^wrong client secret \(client_secret_basic\)$/,
      credentials: [ODD_SECRET, encodeURIComponent(ODD_SECRET)],
      claimed: CLIENT_ID,
      next: good,
      nextClient: CLIENT_ID,
    });
  });

  it('refuses the secret sent without encoding ("%rd" is no escape): 400 invalid_request', async () => {
    const res = await post(server, exchangeBody(), raw(CLIENT_ID, ODD_SECRET));
    await expectRefused(server, res, 0, {
      status: 400,
      body: {
        error: 'invalid_request',
        error_description: 'The Authorization header does not hold valid Basic client credentials.',
      },
      challenge: false,
      cause: /^Basic credentials are not properly form-urlencoded \(RFC 6749 Appendix B\)$/,
      credentials: [ODD_SECRET],
      next: good,
      nextClient: CLIENT_ID,
    });
  });
});

describe('client authentication through the router: the public client', () => {
  it('authenticates spa with its client_id alone, and gives its ID token aud = spa', async () => {
    const server = await testServer();
    const res = await post(server, exchangeBody({ client_id: 'spa', scope: 'openid' }));
    expect(res.status, JSON.stringify(res.body)).to.equal(200);
    expect(res.body.scope).to.equal('openid');
    const jwks = createLocalJWKSet(
      (await request(server.app).get('/.well-known/jwks.json').expect(200)).body,
    );
    const access = await jwtVerify(res.body.access_token, jwks, { issuer: ISSUER, audience: API });
    expect(access.payload.client_id).to.equal('spa');
    await jwtVerify(res.body.id_token, jwks, { issuer: ISSUER, audience: 'spa' });
    expect((await server.cte.logs.list())[0]).to.include({ type: 'secte', client_id: 'spa' });
  });
});

describe('client authentication through the router: private_key_jwt', () => {
  let server: TestServer;
  beforeEach(async () => {
    server = await testServer();
  });

  async function postAssertion(target: TestServer, assertion: string) {
    return post(target, exchangeBody(assertionParams(assertion)));
  }
  const good = (target: TestServer) => async () => postAssertion(target, await clientAssertion());

  const accepted: Array<[string, AssertionOptions, Record<string, string>]> = [
    ['aud = the issuer', { claims: { aud: ISSUER } }, {}],
    ['aud = the token endpoint', { claims: { aud: TOKEN_ENDPOINT } }, {}],
    ['aud = [issuer, token endpoint]', { claims: { aud: [ISSUER, TOKEN_ENDPOINT] } }, {}],
    ['aud = the issuer and client_id = iss in the body', {}, { client_id: 'jwt-app' }],
  ];
  for (const [name, options, extra] of accepted) {
    it(`accepts an ES256 assertion with ${name}`, async () => {
      const assertion = await clientAssertion(options);
      const res = await post(server, exchangeBody({ ...assertionParams(assertion), ...extra }));
      await expectIssuedFor(server, res, 'jwt-app');
      expect(JSON.stringify(await server.cte.logs.list())).not.to.include(assertion.split('.')[2]!);
    });
  }

  it('refuses the same assertion a second time (replayed jti): 401', async () => {
    const assertion = await clientAssertion();
    await expectIssuedFor(server, await postAssertion(server, assertion), 'jwt-app');
    const replay = await postAssertion(server, assertion);
    await expectRefused(server, replay, 1, {
      status: 401,
      body: INVALID_CLIENT,
      challenge: false,
      cause: /^client_assertion jti "[0-9a-f-]{36}" was already used$/,
      credentials: [assertion, assertion.split('.')[2]!],
      claimed: 'jwt-app',
      next: good(server),
      nextClient: 'jwt-app',
    });
  });

  const refused: Array<[string, AssertionOptions, RegExp]> = [
    [
      'a wrong aud',
      { claims: { aud: 'https://other-as.example.net/' } },
      /^client_assertion rejected: ERR_JWT_CLAIM_VALIDATION_FAILED: .*"aud"/,
    ],
    [
      'an aud array with a foreign element',
      { claims: { aud: [ISSUER, 'https://other-as.example.net/oauth/token'] } },
      /^client_assertion aud contains values that are not this server: .*other-as\.example\.net/,
    ],
    ['alg HS256', { alg: 'HS256' }, /^client_assertion rejected: ERR_JOSE_ALG_NOT_ALLOWED: /],
    ['alg none', { alg: 'none' }, /^client_assertion rejected: ERR_JOSE_ALG_NOT_ALLOWED: /],
    [
      'an expired assertion',
      {
        claims: {
          iat: Math.floor(Date.now() / 1000) - 180,
          exp: Math.floor(Date.now() / 1000) - 120,
        },
      },
      /^client_assertion rejected: ERR_JWT_EXPIRED: /,
    ],
    [
      'no jti',
      { omit: ['jti'] },
      /^client_assertion rejected: ERR_JWT_CLAIM_VALIDATION_FAILED: missing required "jti" claim$/,
    ],
  ];
  for (const [name, options, cause] of refused) {
    it(`refuses ${name}: 401 invalid_client`, async () => {
      const assertion = await clientAssertion(options);
      const res = await postAssertion(server, assertion);
      await expectRefused(server, res, 0, {
        status: 401,
        body: INVALID_CLIENT,
        challenge: false,
        cause,
        credentials: [assertion, assertion.split('.')[1]!],
        claimed: 'jwt-app',
        next: good(server),
        nextClient: 'jwt-app',
      });
    });
  }

  const notOurs: Array<[string, (assertion: string) => Record<string, string>]> = [
    [
      'a client_credentials grant',
      (assertion) => ({ grant_type: 'client_credentials', ...assertionParams(assertion) }),
    ],
    [
      'a token exchange with the reserved access_token subject_token_type',
      (assertion) => ({
        grant_type: GRANT,
        subject_token: 'host-access-token',
        subject_token_type: ACCESS_TOKEN_TYPE,
        audience: API,
        ...assertionParams(assertion),
      }),
    ],
  ];
  for (const [name, hostBody] of notOurs) {
    it(`hands an assertion sent with ${name} to the host unconsumed; it then works here once`, async () => {
      const assertion = await clientAssertion();
      const body = hostBody(assertion);
      const res = await request(server.app)
        .post('/oauth/token')
        .type('form')
        .send(form(body))
        .expect(200);
      expect(res.body).to.deep.equal({ host: true, body });
      expect(server.hostRequests).to.have.length(1);
      expect(server.hostRequests[0]!.body).to.deep.equal(body);
      expect(await server.cte.logs.list()).to.have.length(0);

      // Not consumed by the router: the same assertion authenticates a custom token exchange...
      const ours = await request(server.app)
        .post('/oauth/token')
        .type('form')
        .send(form(exchangeBody(assertionParams(assertion))));
      await expectIssuedFor(server, ours, 'jwt-app');
      // ...exactly once, the router's replay store being live.
      const again = await request(server.app)
        .post('/oauth/token')
        .type('form')
        .send(form(exchangeBody(assertionParams(assertion))));
      expect(again.status).to.equal(401);
      expect(again.body).to.deep.equal(INVALID_CLIENT);
      expect(server.hostRequests).to.have.length(1);
    });
  }
});

describe('client authentication through the router: a replay store shared by two routers', () => {
  it('refuses on one router a jti consumed on the other', async () => {
    const replay = new MemoryReplayStore();
    const a = await testServer({ stores: { replay } });
    const b = await testServer({ stores: { replay } });
    const assertion = await clientAssertion();
    const first = await post(a, exchangeBody(assertionParams(assertion)));
    await expectIssuedFor(a, first, 'jwt-app');
    const replayed = await post(b, exchangeBody(assertionParams(assertion)));
    await expectRefused(b, replayed, 0, {
      status: 401,
      body: INVALID_CLIENT,
      challenge: false,
      cause: /^client_assertion jti "[0-9a-f-]{36}" was already used$/,
      credentials: [assertion],
      claimed: 'jwt-app',
      next: async () => post(b, exchangeBody(assertionParams(await clientAssertion()))),
      nextClient: 'jwt-app',
    });
    // And back the other way: b's jti is now refused by a.
    const bAssertion = await clientAssertion();
    await expectIssuedFor(b, await post(b, exchangeBody(assertionParams(bAssertion))), 'jwt-app');
    const back = await post(a, exchangeBody(assertionParams(bAssertion)));
    expect(back.status).to.equal(401);
    expect(back.body).to.deep.equal(INVALID_CLIENT);
  });

  it('(control) routers with their own default stores each accept the assertion once', async () => {
    const a = await testServer();
    const b = await testServer();
    const assertion = await clientAssertion();
    await expectIssuedFor(a, await post(a, exchangeBody(assertionParams(assertion))), 'jwt-app');
    await expectIssuedFor(b, await post(b, exchangeBody(assertionParams(assertion))), 'jwt-app');
  });
});

describe("client authentication through the router: the host's passport strategies", () => {
  /** A host strategy: the client named by `x-host-client`, only `app` is known to it. */
  class HostHeaderStrategy extends passport.Strategy {
    override name = 'host-header';
    override authenticate(req: Request): void {
      if (req.headers['x-host-client'] === 'app') this.success({ client_id: 'app' });
      else this.fail('HostHeader realm="host"', 401);
    }
  }

  let server: TestServer;
  beforeEach(async () => {
    const host = new passport.Passport();
    host.use(new HostHeaderStrategy());
    const clientAuthentication: CustomTokenExchangeOptions['clientAuthentication'] = {
      passport: host,
      strategies: ['host-header'],
    };
    server = await testServer({ clientAuthentication });
  });
  const good = () => post(server, exchangeBody(), undefined, { 'x-host-client': 'app' });

  it('authenticates the client the host strategy names', async () => {
    await expectIssuedFor(server, await good(), 'app');
  });

  it('refuses a request the host strategy fails: 401 invalid_client', async () => {
    const res = await post(server, exchangeBody(), undefined, { 'x-host-client': 'mallory' });
    await expectRefused(server, res, 0, {
      status: 401,
      body: INVALID_CLIENT,
      challenge: false,
      cause:
        /^no client authentication strategy succeeded \(challenges: "HostHeader realm=\\"host\\""\)$/,
      next: good,
      nextClient: 'app',
    });
  });

  it('needs no client_secret (or jwks) in definitions: the host’s strategies hold the credentials', async () => {
    class HostTableStrategy extends passport.Strategy {
      override name = 'host-table';
      override authenticate(req: Request): void {
        const id = req.headers['x-host-client'];
        if (id === 'secretless' || id === 'keyless') this.success({ client_id: id });
        else this.fail('HostTable realm="host"', 401);
      }
    }
    const host = new passport.Passport();
    host.use(new HostTableStrategy());
    const hashedSecrets = await testServer({
      clientAuthentication: { passport: host, strategies: ['host-table'] },
    });
    await hashedSecrets.cte.clients.create({
      client_id: 'secretless',
      name: 'Secrets kept hashed by the host',
      token_endpoint_auth_method: 'client_secret_basic',
      token_exchange: { allow_any_profile_of_type: ['custom_authentication'] },
    });
    await hashedSecrets.cte.clients.create({
      client_id: 'keyless',
      name: 'Keys kept by the host',
      token_endpoint_auth_method: 'private_key_jwt',
      token_exchange: { allow_any_profile_of_type: ['custom_authentication'] },
    });
    for (const clientId of ['secretless', 'keyless']) {
      const res = await post(hashedSecrets, exchangeBody(), undefined, {
        'x-host-client': clientId,
      });
      await expectIssuedFor(hashedSecrets, res, clientId);
    }
  });

  it('runs the host strategies instead of the built-in ones: good Basic credentials fail', async () => {
    const res = await post(server, exchangeBody(), APP);
    await expectRefused(server, res, 0, {
      status: 401,
      body: INVALID_CLIENT,
      challenge: true,
      cause: /^no client authentication strategy succeeded/,
      // The host's strategies ignore the Basic header, but it is the client the request named.
      claimed: 'app',
      next: good,
      nextClient: 'app',
    });
  });
});
