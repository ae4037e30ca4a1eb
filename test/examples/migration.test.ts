import { expect } from 'chai';
import { startExample } from '../support/example-process.js';
import type { ExampleProcess } from '../support/example-process.js';
import { SERVER_ERROR } from '../support/oauth-responses.js';
import {
  STARTUP_TIMEOUT_MS,
  exampleReader,
  expectExampleIssued,
  expectNoStore,
} from '../support/example-http.js';
import type { ExampleLogEntry, Json } from '../support/example-http.js';
import { GRANT } from '../support/fixtures.js';
import { SECTE } from '../support/log-entries.js';

const SUBJECT_TOKEN_TYPE = 'urn:acme:legacy-refresh-token';
const API = 'https://api.acme.example/orders';
const CLIENT_ID = 'acme-mobile';
const SCOPE = 'openid profile email offline_access read:orders';

function printed(stdout: string, pattern: RegExp, what: string): string {
  const value = pattern.exec(stdout)?.[1];
  if (value === undefined) throw new Error(`the example did not print ${what}:\n${stdout}`);
  return value;
}

describe('examples/migration end to end (a legacy refresh token for an imported user)', function () {
  this.timeout(STARTUP_TIMEOUT_MS);
  let example: ExampleProcess | undefined;
  let origin: string;
  const { getJson, verify, latestLog } = exampleReader(() => origin);
  let tokens: { alice: string; bob: string; carol: string };
  let importedUsers: Json[];
  /** The router's refresh token from Alice's exchange, and its family. */
  let routerRefreshToken: string;
  let familyId: unknown;

  before(async () => {
    example = await startExample('examples/migration/server.ts', {
      ready: /^Public keys: .*Tenant logs: \S+$/m,
    });
    origin = `http://localhost:${example.port}`;
    const stdout = example.output.stdout;
    tokens = {
      alice: printed(stdout, /^\s+-d subject_token=(\S+) \\$/m, "Alice's token"),
      bob: printed(stdout, /BOB_TOKEN=(\S+)/, "Bob's token"),
      carol: printed(stdout, /CAROL_TOKEN=(\S+)/, "Carol's token"),
    };
    importedUsers = await getJson<Json[]>('/users');
  });

  afterEach(async () => {
    if (example) await setLegacyMode('up');
  });

  after(async () => {
    await example?.stop();
  });

  async function post(params: Record<string, string>): Promise<{ res: Response; body: Json }> {
    const res = await fetch(`${origin}/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ client_id: CLIENT_ID, ...params }),
    });
    return { res, body: (await res.json()) as Json };
  }

  const exchange = (legacyRefreshToken: string) =>
    post({
      grant_type: GRANT,
      subject_token_type: SUBJECT_TOKEN_TYPE,
      subject_token: legacyRefreshToken,
      audience: API,
      scope: SCOPE,
    });

  async function setLegacyMode(mode: string): Promise<void> {
    const res = await fetch(`${origin}/legacy/admin/mode`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ mode }),
    });
    expect(await res.json()).to.deep.equal({ mode });
  }

  /** The fields every fecte entry of this example's exchanges has. */
  function failureEntry(
    entry: ExampleLogEntry,
    error: string,
    description: string,
    cause: string,
  ): Json {
    return {
      log_id: entry.log_id,
      date: entry.date,
      type: 'fecte',
      description,
      client_id: CLIENT_ID,
      client_name: 'Acme Mobile',
      ip: '127.0.0.1',
      user_agent: entry.user_agent,
      hostname: 'localhost',
      audience: API,
      scope: SCOPE,
      details: {
        subject_token_type: SUBJECT_TOKEN_TYPE,
        profile_id: entry.details.profile_id,
        action_id: entry.details.action_id,
        error,
        error_description: description,
        cause,
      },
    };
  }

  it('starts with the bulk import: Alice and Bob under their legacy ids, not Carol', () => {
    expect(importedUsers.map((user) => [user.user_id, user.email, user.identities])).to.deep.equal([
      [
        'auth0|1001',
        'alice@acme.example',
        [{ connection: 'legacy-users', user_id: '1001', provider: 'auth0', isSocial: false }],
      ],
      [
        'auth0|1002',
        'bob@acme.example',
        [{ connection: 'legacy-users', user_id: '1002', provider: 'auth0', isSocial: false }],
      ],
    ]);
    for (const token of Object.values(tokens)) expect(token).to.match(/^lrt_[\w-]{32}$/);
  });

  it("Alice's legacy refresh token becomes the router's tokens for auth0|1001, refresh token included", async () => {
    const { res, body } = await exchange(tokens.alice);
    expectExampleIssued(res, body, {
      scope: SCOPE,
      id_token: body.id_token,
      refresh_token: body.refresh_token,
    });
    expect(body.refresh_token).to.match(/^cte_rt_[\w-]{22}\.[\w-]{43}$/);
    routerRefreshToken = String(body.refresh_token);

    const access = await verify(String(body.access_token), API, 'at+jwt');
    expect(access).to.deep.equal({
      iss: `${origin}/`,
      sub: 'auth0|1001',
      aud: API,
      iat: access.iat,
      exp: access.exp,
      jti: access.jti,
      client_id: CLIENT_ID,
      scope: SCOPE,
    });
    // The profile is the imported one: the action changed nothing.
    const id = await verify(String(body.id_token), CLIENT_ID, 'JWT');
    expect(id).to.deep.equal({
      iss: `${origin}/`,
      sub: 'auth0|1001',
      aud: CLIENT_ID,
      iat: id.iat,
      exp: id.exp,
      auth_time: id.iat,
      name: 'Alice Martin',
      updated_at: id.updated_at,
      email: 'alice@acme.example',
      email_verified: true,
    });

    const entry = await latestLog();
    expect(entry).to.deep.equal({
      log_id: entry.log_id,
      date: entry.date,
      ...SECTE,
      client_id: CLIENT_ID,
      client_name: 'Acme Mobile',
      ip: '127.0.0.1',
      user_agent: entry.user_agent,
      hostname: 'localhost',
      audience: API,
      scope: SCOPE,
      user_id: 'auth0|1001',
      user_name: 'alice@acme.example',
      connection: 'legacy-users',
      details: {
        subject_token_type: SUBJECT_TOKEN_TYPE,
        profile_id: entry.details.profile_id,
        action_id: entry.details.action_id,
        access_token_jti: access.jti,
        refresh_token_family_id: entry.details.refresh_token_family_id,
      },
    });
    expect(entry.details.refresh_token_family_id).to.match(/^rtf_/);
    familyId = entry.details.refresh_token_family_id;

    const users = await getJson<Json[]>('/users');
    expect(users).to.deep.equal([
      { ...importedUsers[0], updated_at: users[0]!.updated_at, logins_count: 1 },
      importedUsers[1],
    ]);
  });

  it("Bob's revoked legacy token (the legacy IdP answers invalid_grant) is rejected: 400 invalid_request", async () => {
    const { res, body } = await exchange(tokens.bob);
    expect(res.status, JSON.stringify(body)).to.equal(400);
    expectNoStore(res);
    const description = 'the legacy refresh token is invalid or revoked';
    expect(body).to.deep.equal({ error: 'invalid_request', error_description: description });
    const entry = await latestLog();
    expect(entry).to.deep.equal(
      failureEntry(entry, 'invalid_request', description, 'invalid subject token'),
    );
  });

  it('a token the legacy IdP never issued is rejected the same way', async () => {
    const { res, body } = await exchange('lrt_made-up-by-someone');
    expect(res.status).to.equal(400);
    expect(body).to.deep.equal({
      error: 'invalid_request',
      error_description: 'the legacy refresh token is invalid or revoked',
    });
    expect((await latestLog()).details.cause).to.equal('invalid subject token');
  });

  it("Carol's valid legacy token finds no imported user: 400 invalid_request, and nobody is created", async () => {
    const { res, body } = await exchange(tokens.carol);
    expect(res.status, JSON.stringify(body)).to.equal(400);
    expectNoStore(res);
    expect(body).to.deep.equal({
      error: 'invalid_request',
      error_description: 'user does not exist',
    });
    const entry = await latestLog();
    expect(entry).to.deep.equal({
      ...failureEntry(
        entry,
        'invalid_request',
        'user does not exist',
        'setUserByConnection: no user at connection "legacy-users", user_id "1003" and creationBehavior is none',
      ),
      connection: 'legacy-users',
    });
    const users = await getJson<Json[]>('/users');
    expect(users.map((user) => user.user_id)).to.deep.equal(['auth0|1001', 'auth0|1002']);
  });

  it('a legacy IdP answering 503 fails the exchange with 500 server_error (the action throws)', async () => {
    await setLegacyMode('failing');
    const { res, body } = await exchange(tokens.alice);
    expect(res.status, JSON.stringify(body)).to.equal(500);
    expectNoStore(res);
    expect(body).to.deep.equal(SERVER_ERROR);
    const entry = await latestLog();
    const cause = String(entry.details.cause);
    expect(cause).to.match(
      /^action \S+ failed: Error: legacy token endpoint answered 503 \(line \d+, column \d+\)$/,
    );
    expect(entry).to.deep.equal(
      failureEntry(entry, 'server_error', SERVER_ERROR.error_description, cause),
    );
    expect(cause).to.include(`action ${entry.details.action_id} failed`);
  });

  it('an unreachable legacy IdP (connections dropped) fails with 500 server_error too', async () => {
    await setLegacyMode('unreachable');
    const { res, body } = await exchange(tokens.alice);
    expect(res.status, JSON.stringify(body)).to.equal(500);
    expectNoStore(res);
    expect(body).to.deep.equal(SERVER_ERROR);
    const entry = await latestLog();
    expect(entry).to.deep.equal(
      failureEntry(
        entry,
        'server_error',
        SERVER_ERROR.error_description,
        `action ${entry.details.action_id} failed: CapabilityError: fetch to ${origin} failed: connection reset`,
      ),
    );
  });

  it("after an outage Alice's legacy token still works: an outage does not burn it", async () => {
    const { res, body } = await exchange(tokens.alice);
    expect(res.status, JSON.stringify(body)).to.equal(200);
    expect(await verify(String(body.access_token), API, 'at+jwt')).to.include({
      sub: 'auth0|1001',
    });
  });

  it("the router's own refresh token keeps Alice signed in while the legacy IdP is down", async () => {
    await setLegacyMode('unreachable');
    const { res, body } = await post({
      grant_type: 'refresh_token',
      refresh_token: routerRefreshToken,
    });
    expect(res.status, JSON.stringify(body)).to.equal(200);
    expectNoStore(res);
    expect(body).to.deep.equal({
      access_token: body.access_token,
      token_type: 'Bearer',
      expires_in: 3600,
      scope: SCOPE,
      id_token: body.id_token,
      refresh_token: body.refresh_token,
    });
    expect(body.refresh_token).to.not.equal(routerRefreshToken); // rotated
    const access = await verify(String(body.access_token), API, 'at+jwt');
    expect(access).to.include({ sub: 'auth0|1001', client_id: CLIENT_ID, scope: SCOPE });
    const entry = await latestLog();
    expect(entry).to.deep.equal({
      log_id: entry.log_id,
      date: entry.date,
      type: 'sertft',
      description: 'Successful Exchange of Refresh Token for Access Token',
      client_id: CLIENT_ID,
      client_name: 'Acme Mobile',
      ip: '127.0.0.1',
      user_agent: entry.user_agent,
      hostname: 'localhost',
      audience: API,
      scope: SCOPE,
      user_id: 'auth0|1001',
      user_name: 'alice@acme.example',
      details: {
        access_token_jti: access.jti,
        refresh_token_family_id: familyId,
      },
    });
  });
});
