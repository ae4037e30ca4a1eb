import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { expect } from 'chai';
import request from 'supertest';
import {
  API,
  CONSENT_API,
  GRANT,
  SECRET,
  SUBJECT_TYPE,
  exchangeBody,
  form,
  testServer,
} from '../support/fixtures.js';
import type { TestServer } from '../support/fixtures.js';
import { NO_STORE, SERVER_ERROR, APP } from '../support/oauth-responses.js';

function post(server: TestServer, body: Record<string, string | string[]>, auth = APP) {
  const req = request(server.app).post('/oauth/token');
  if (auth) req.set('Authorization', auth);
  return req.type('form').send(form(body));
}

/** Sends raw bytes, which supertest would re-serialize. */
async function postRaw(server: TestServer, body: Buffer, headers: Record<string, string>) {
  const listener = server.app.listen(0, '127.0.0.1');
  await once(listener, 'listening');
  try {
    const { port } = listener.address() as AddressInfo;
    const res = await fetch(`http://127.0.0.1:${port}/oauth/token`, {
      method: 'POST',
      headers,
      body,
    });
    return { status: res.status, headers: Object.fromEntries(res.headers), body: await res.json() };
  } finally {
    listener.close();
  }
}

/** Asserts a refusal: status, whole body, no-store headers, no token, host not reached. */
function expectRefusal(
  server: TestServer,
  res: request.Response,
  status: number,
  body: { error: string; error_description: string },
): void {
  expect(res.status, JSON.stringify(res.body)).to.equal(status);
  expect(res.body).to.deep.equal(body);
  expect(res.headers).to.include(NO_STORE);
  expect(server.hostRequests).to.have.length(0);
}

/** Asserts the one fecte entry of a refused exchange. */
async function expectFailureLog(
  server: TestServer,
  body: { error: string; error_description: string },
  details: Record<string, unknown> = {},
): Promise<void> {
  const entries = await server.cte.logs.list();
  expect(entries).to.have.length(1);
  const entry = entries[0]!;
  expect(entry.type).to.equal('fecte');
  expect(entry.description).to.equal(body.error_description);
  expect(entry.details).to.include({
    error: body.error,
    error_description: body.error_description,
    ...details,
  });
}

describe('POST /oauth/token: bodies that cannot be parsed (any grant)', () => {
  let server: TestServer;
  beforeEach(async () => {
    server = await testServer();
  });

  const cases: Array<[string, (r: request.Test) => request.Test, string]> = [
    [
      'a wrong content type',
      (r) => r.set('Content-Type', 'text/plain').send('grant_type=x'),
      'the request body must be application/x-www-form-urlencoded or application/json',
    ],
    [
      'malformed JSON',
      (r) => r.set('Content-Type', 'application/json').send('{"grant_type":'),
      'the request body is not valid JSON',
    ],
    [
      'a JSON array body',
      (r) => r.set('Content-Type', 'application/json').send('["grant_type"]'),
      'the request body must be application/x-www-form-urlencoded or application/json',
    ],
    [
      'a body over 1 MB',
      (r) => r.type('form').send(`grant_type=x&big=${'a'.repeat(1024 * 1024 + 10)}`),
      'the request body is too large',
    ],
    [
      'too many parameters',
      (r) => r.type('form').send(Array.from({ length: 1001 }, (_, i) => `p${i}=1`).join('&')),
      'the request has too many parameters',
    ],
  ];
  for (const [name, send, description] of cases) {
    it(`refuses ${name} with 400 invalid_request`, async () => {
      const res = await send(request(server.app).post('/oauth/token'));
      expectRefusal(server, res, 400, { error: 'invalid_request', error_description: description });
      expect(await server.cte.logs.list()).to.have.length(0);
    });
  }
});

describe('POST /oauth/token: request hygiene for our requests', () => {
  let server: TestServer;
  beforeEach(async () => {
    server = await testServer();
  });

  const formCases: Array<[string, string, string]> = [
    [
      'a repeated parameter',
      `${form(exchangeBody())}&subject_token=again`,
      'parameter subject_token is repeated',
    ],
    [
      'a repeated grant_type',
      `${form(exchangeBody())}&grant_type=${encodeURIComponent(GRANT)}`,
      'parameter grant_type is repeated',
    ],
    [
      'a bracket key',
      `${form(exchangeBody())}&a%5Bb%5D=1`,
      'the request has a parameter with an invalid name',
    ],
    [
      'a NUL character',
      form(exchangeBody({ subject_token: 'user:auth0|alice\u0000' })),
      'parameter subject_token contains invalid characters',
    ],
  ];
  for (const [name, body, description] of formCases) {
    it(`refuses ${name}`, async () => {
      const res = await request(server.app)
        .post('/oauth/token')
        .set('Authorization', APP)
        .type('form')
        .send(body);
      const expected = { error: 'invalid_request', error_description: description };
      expectRefusal(server, res, 400, expected);
      await expectFailureLog(server, expected);
    });
  }

  it('refuses bytes that are not UTF-8', async () => {
    const raw = Buffer.concat([
      Buffer.from(`${form(exchangeBody())}&device=`),
      Buffer.from([0xff, 0xfe, 0x41]),
    ]);
    const res = await postRaw(server, raw, {
      authorization: APP,
      'content-type': 'application/x-www-form-urlencoded',
    });
    expectRefusal(server, res as unknown as request.Response, 400, {
      error: 'invalid_request',
      error_description: 'parameter device contains invalid characters',
    });
  });

  const jsonCases: Array<[string, Record<string, unknown>, string]> = [
    [
      'an array value',
      { ...exchangeBody(), scope: ['openid'] },
      'parameter scope must be a string',
    ],
    [
      'an object value',
      { ...exchangeBody(), subject_token: { a: 1 } },
      'parameter subject_token must be a string',
    ],
    ['a number value', { ...exchangeBody(), device: 7 }, 'parameter device must be a string'],
    [
      'a __proto__ key',
      JSON.parse(
        `{"grant_type":"${GRANT}","subject_token_type":"${SUBJECT_TYPE}","subject_token":"x","__proto__":{"admin":true}}`,
      ),
      'the request has a parameter with an invalid name',
    ],
  ];
  for (const [name, body, description] of jsonCases) {
    it(`refuses a JSON body with ${name}`, async () => {
      const res = await request(server.app)
        .post('/oauth/token')
        .set('Authorization', APP)
        .set('Content-Type', 'application/json')
        .send(JSON.stringify(body));
      expectRefusal(server, res, 400, { error: 'invalid_request', error_description: description });
      expect(({} as Record<string, unknown>).admin).to.equal(undefined);
    });
  }
});

describe('POST /oauth/token: the parameter rules of spec §1', () => {
  let server: TestServer;
  beforeEach(async () => {
    server = await testServer();
  });

  const cases: Array<[string, Record<string, string | string[]>, number, string, string]> = [
    [
      'no subject_token',
      exchangeBody({ subject_token: '' }),
      400,
      'invalid_request',
      'subject_token is required',
    ],
    [
      'an unknown subject_token_type',
      exchangeBody({ subject_token_type: 'urn:acme:unknown' }),
      400,
      'invalid_request',
      'subject_token_type is not supported',
    ],
    [
      'an actor_token without its type',
      exchangeBody({ actor_token: 'a' }),
      400,
      'invalid_request',
      'actor_token and actor_token_type must be sent together',
    ],
    [
      'an actor_token_type without the token',
      exchangeBody({ actor_token_type: 'urn:acme:agent' }),
      400,
      'invalid_request',
      'actor_token and actor_token_type must be sent together',
    ],
    [
      'an organization from a client whose organization_usage is deny (the default)',
      exchangeBody({ organization: 'org_1' }),
      400,
      'invalid_request',
      'the client does not use organizations',
    ],
    [
      'two distinct audiences',
      exchangeBody({ audience: [API, 'https://rs256.example.com/'] }),
      400,
      'invalid_target',
      'only one target API can be requested',
    ],
    [
      'an unknown audience',
      exchangeBody({ audience: 'https://nowhere.example.com/' }),
      400,
      'invalid_target',
      'the requested audience is not known',
    ],
    [
      'a relative resource',
      exchangeBody({ resource: '/orders' }),
      400,
      'invalid_target',
      'resource must be an absolute URI without a fragment',
    ],
    [
      'a resource with a fragment',
      exchangeBody({ resource: `${API}#x` }),
      400,
      'invalid_target',
      'resource must be an absolute URI without a fragment',
    ],
    [
      'a resource naming another API than audience',
      exchangeBody({ audience: API, resource: 'https://rs256.example.com/' }),
      400,
      'invalid_target',
      'audience and resource name different APIs',
    ],
    [
      'an unsupported requested_token_type',
      exchangeBody({ requested_token_type: 'urn:ietf:params:oauth:token-type:refresh_token' }),
      400,
      'invalid_request',
      'requested_token_type is not supported',
    ],
    [
      'a malformed scope',
      exchangeBody({ scope: 'openid "quoted"' }),
      400,
      'invalid_scope',
      'the scope parameter is malformed',
    ],
    [
      'an API that does not allow skipping consent',
      exchangeBody({ audience: CONSENT_API }),
      400,
      'invalid_request',
      'consent_required',
    ],
  ];
  for (const [name, body, status, error, description] of cases) {
    it(`refuses ${name}: ${status} ${error}`, async () => {
      const res = await post(server, body);
      const expected = { error, error_description: description };
      expectRefusal(server, res, status, expected);
      await expectFailureLog(server, expected);
    });
  }

  it('accepts the same audience repeated', async () => {
    const res = await post(server, exchangeBody({ audience: [API, API] }));
    expect(res.status).to.equal(200);
  });

  it('refuses a JSON body with 140,000 distinct audiences as any two: 400 invalid_target', async function () {
    // Repeats are dropped as the body is read, in constant time each: such a body (within the
    // 1 MB cap, and JSON has no parameter limit) took 6 s and more with a quadratic check, time the
    // event loop is held before any client authentication. Well under a second when done right.
    this.timeout(3000);
    const audience = Array.from({ length: 140_000 }, (_, i) => i.toString(36));
    const res = await request(server.app)
      .post('/oauth/token')
      .set('Authorization', APP)
      .send({ ...exchangeBody(), audience });
    const expected = {
      error: 'invalid_target',
      error_description: 'only one target API can be requested',
    };
    expectRefusal(server, res, 400, expected);
    await expectFailureLog(server, expected);
  });

  const clientRules: Array<[string, string]> = [
    ['third-party', 'third-party clients cannot use token exchange'],
    ['legacy', 'the client must be OIDC conformant to use token exchange'],
    ['no-cte', 'the client is not allowed to use custom token exchange'],
  ];
  for (const [clientId, description] of clientRules) {
    it(`refuses the ${clientId} client with 400 unauthorized_client`, async () => {
      const res = await post(
        server,
        exchangeBody({ client_id: clientId, client_secret: SECRET }),
        '',
      );
      const expected = { error: 'unauthorized_client', error_description: description };
      expectRefusal(server, res, 400, expected);
      await expectFailureLog(server, expected);
      expect((await server.cte.logs.list())[0]!.client_id).to.equal(clientId);
    });
  }

  it('needs an audience when no defaultAudience is configured', async () => {
    const noDefault = await testServer({}, { withoutDefaultAudience: true });
    const res = await post(noDefault, exchangeBody());
    expectRefusal(noDefault, res, 400, {
      error: 'invalid_request',
      error_description: 'audience is required',
    });
  });

  it('restricts clients to their client grants when clientGrants is configured', async () => {
    const granted = await testServer({
      clientGrants: [{ client_id: 'app', audience: API, scope: ['read:orders'] }],
    });
    const narrowed = await post(
      granted,
      exchangeBody({ scope: 'openid read:orders write:orders' }),
    );
    expect(narrowed.status).to.equal(200);
    expect(narrowed.body.scope).to.equal('openid read:orders');
    const other = await post(granted, exchangeBody({ audience: 'https://rs256.example.com/' }));
    expectRefusal(granted, other, 400, {
      error: 'invalid_target',
      error_description: 'the client is not allowed to access the requested audience',
    });
  });
});

describe('POST /oauth/token: requests that are not ours reach the host untouched', () => {
  let server: TestServer;
  beforeEach(async () => {
    server = await testServer();
  });

  const cases: Array<[string, Record<string, string | string[]>]> = [
    [
      'client_credentials',
      { grant_type: 'client_credentials', client_id: 'host-client', client_secret: 's' },
    ],
    [
      'refresh_token for a token the router did not issue',
      { grant_type: 'refresh_token', refresh_token: 'host-rt' },
    ],
    ['password with repeated parameters', { grant_type: 'password', username: ['a', 'b'] }],
    [
      'token exchange with a reserved subject_token_type',
      {
        grant_type: GRANT,
        subject_token: 't',
        subject_token_type: 'urn:ietf:params:oauth:token-type:access_token',
      },
    ],
    [
      'token exchange with an auth0.com type',
      { grant_type: GRANT, subject_token: 't', subject_token_type: 'https://auth0.com/token' },
    ],
  ];
  for (const [name, body] of cases) {
    it(`hands ${name} to the host with the body it parsed`, async () => {
      const res = await request(server.app)
        .post('/oauth/token')
        .set('Authorization', 'Basic aG9zdDpob3N0')
        .type('form')
        .send(form(body))
        .expect(200);
      expect(res.body).to.deep.equal({ host: true, body });
      expect(server.hostRequests).to.have.length(1);
      expect(await server.cte.logs.list()).to.have.length(0);
    });
  }

  it('hands a large assertion grant (500 kB) to the host', async () => {
    const body = {
      grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer',
      assertion: 'a'.repeat(500_000),
    };
    const res = await request(server.app)
      .post('/oauth/token')
      .type('form')
      .send(form(body))
      .expect(200);
    expect(res.body.body.assertion).to.have.length(500_000);
  });

  it('hands a JSON body to the host as express.json() reads it', async () => {
    const body = { grant_type: 'client_credentials', nested: { a: [1, 2] } };
    const res = await request(server.app).post('/oauth/token').send(body).expect(200);
    expect(res.body).to.deep.equal({ host: true, body });
  });

  it("hands unknown types to the host when unknownSubjectTokenType is 'next'", async () => {
    const next = await testServer({ unknownSubjectTokenType: 'next' });
    const body = exchangeBody({ subject_token_type: 'urn:acme:unknown' });
    const res = await request(next.app)
      .post('/oauth/token')
      .type('form')
      .send(form(body))
      .expect(200);
    expect(res.body).to.deep.equal({ host: true, body });
  });

  it('leaves GET /oauth/token to the host', async () => {
    await request(server.app).get('/oauth/token').expect(404);
  });
});

describe('POST /oauth/token: what the action decides', () => {
  let server: TestServer;
  beforeEach(async () => {
    server = await testServer();
  });

  const cases: Array<
    [string, string, number, { error: string; error_description: string }, Record<string, unknown>]
  > = [
    [
      'rejectInvalidSubjectToken',
      'reject',
      400,
      { error: 'invalid_request', error_description: 'the subject token is invalid' },
      { cause: 'invalid subject token' },
    ],
    [
      'deny with a custom code',
      'deny:unauthorized_actor:not on the list',
      400,
      { error: 'unauthorized_actor', error_description: 'not on the list' },
      {},
    ],
    [
      'deny with server_error',
      'deny:server_error:upstream down',
      500,
      { error: 'server_error', error_description: 'upstream down' },
      {},
    ],
    ['a throw', 'throw', 500, SERVER_ERROR, {}],
    ['no setUser call', 'none', 500, SERVER_ERROR, {}],
    ['a second setUser call, even caught', 'twice', 500, SERVER_ERROR, {}],
    [
      'setUserById of a missing user',
      'user:auth0|nobody',
      400,
      { error: 'invalid_request', error_description: 'user does not exist' },
      {},
    ],
    [
      'setUserById of a blocked user',
      'user:auth0|blocked',
      401,
      { error: 'unauthorized', error_description: 'user is blocked' },
      {},
    ],
  ];
  for (const [name, subjectToken, status, expected, details] of cases) {
    it(`answers ${name} with ${status} ${expected.error}, and the next exchange succeeds`, async () => {
      const res = await post(server, exchangeBody({ subject_token: subjectToken }));
      expectRefusal(server, res, status, expected);
      await expectFailureLog(server, expected, details);
      expect((await server.cte.logs.list())[0]!.details.subject_token_type).to.equal(SUBJECT_TYPE);
      await post(server, exchangeBody()).expect(200);
    });
  }

  it('keeps a deny reason quoting the subject token out of the log, not out of the answer', async () => {
    const quoted = 'Q'.repeat(40);
    const res = await post(server, exchangeBody({ subject_token: `deny:access_denied:${quoted}` }));
    expectRefusal(server, res, 400, { error: 'access_denied', error_description: quoted });
    const entry = (await server.cte.logs.list())[0]!;
    expect(entry.description).to.equal('[redacted]');
    expect(entry.details.error_description).to.equal('[redacted]');
    expect(JSON.stringify(entry)).not.to.include('Q'.repeat(16));
  });

  it('redacts the subject token from a user-resolution cause', async () => {
    const id = `auth0|${'u'.repeat(40)}`;
    const res = await post(server, exchangeBody({ subject_token: `user:${id}` }));
    expectRefusal(server, res, 400, {
      error: 'invalid_request',
      error_description: 'user does not exist',
    });
    const entry = (await server.cte.logs.list())[0]!;
    expect(entry.details.cause).to.include('[redacted]');
    expect(JSON.stringify(entry)).not.to.include('u'.repeat(16));
  });

  it('logs why an action failed, with the subject token redacted', async () => {
    const token = `throw:${'s3cr3t-subject-token-'.repeat(3)}`;
    const res = await post(server, exchangeBody({ subject_token: token }));
    expectRefusal(server, res, 500, SERVER_ERROR);
    const cause = (await server.cte.logs.list())[0]!.details.cause!;
    expect(cause).to.match(/failed: .*boom/);
    expect(cause).to.include('[redacted]');
    expect(cause).not.to.include('s3cr3t-subject-token-s3cr3t');
  });
});
