import { expect } from 'chai';
import { SERVER_ERROR } from '../support/oauth-responses.js';
import {
  STARTUP_TIMEOUT_MS,
  exampleExchangeEntry,
  exampleSuccessEntry,
  exampleReader,
  expectExampleIssued,
  expectExampleRefused,
  invalidSubjectToken,
  expectNoStore,
  postForm,
  runningExample,
} from '../support/example-http.js';
import type { ExampleRefusal, Json } from '../support/example-http.js';
import { GRANT } from '../support/fixtures.js';

const SUBJECT_TOKEN_TYPE = 'urn:acme:legacy-refresh-token';
const API = 'https://api.acme.example/orders';
const CLIENT_ID = 'acme-mobile';
const SCOPE = 'openid profile email offline_access read:orders';
const MOBILE_EXCHANGE = exampleExchangeEntry(
  { id: CLIENT_ID, name: 'Acme Mobile' },
  SUBJECT_TOKEN_TYPE,
  {
    audience: API,
    scope: SCOPE,
  },
);
const REVOKED = invalidSubjectToken('the legacy refresh token is invalid or revoked');

function printed(stdout: string, pattern: RegExp, what: string): string {
  const value = pattern.exec(stdout)?.[1];
  if (value === undefined) throw new Error(`the example did not print ${what}:\n${stdout}`);
  return value;
}

describe('examples/migration end to end (a legacy refresh token for an imported user)', function () {
  this.timeout(STARTUP_TIMEOUT_MS);
  const server = runningExample('examples/migration/server.ts');
  const { getJson, verify, latestLog, accessClaims, idClaims } = exampleReader(() => server.origin);
  let tokens: { alice: string; bob: string; carol: string };
  let importedUsers: Json[];
  /** The router's refresh token from Alice's exchange, and its family. */
  let routerRefreshToken: string;
  let familyId: unknown;

  before(async () => {
    const stdout = server.stdout;
    tokens = {
      alice: printed(stdout, /^\s+-d subject_token=(\S+) \\$/m, "Alice's token"),
      bob: printed(stdout, /BOB_TOKEN=(\S+)/, "Bob's token"),
      carol: printed(stdout, /CAROL_TOKEN=(\S+)/, "Carol's token"),
    };
    importedUsers = await getJson<Json[]>('/users');
  });

  afterEach(async () => {
    if (server.started) await setLegacyMode('up');
  });

  async function post(params: Record<string, string>) {
    return postForm(`${server.origin}/oauth/token`, { client_id: CLIENT_ID, ...params });
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
    const res = await fetch(`${server.origin}/legacy/admin/mode`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ mode }),
    });
    expect(await res.json()).to.deep.equal({ mode });
  }

  /**
   * Asserts `answer` refused the exchange as `refusal` says, and the `fecte` entry logged for it
   * (its fields the app's, or `fields`).
   */
  async function expectRefused(
    { res, body }: { res: Response; body: Json },
    refusal: ExampleRefusal & { status?: number },
    fields: Json = MOBILE_EXCHANGE.fields,
  ): Promise<void> {
    const entry = await latestLog();
    expectExampleRefused(res, body, entry, { ...refusal, ...MOBILE_EXCHANGE, fields });
  }

  /** The generic 500 of a failed action; its cause names the failure. */
  const SERVER_FAILURE = {
    status: 500,
    error: 'server_error',
    description: SERVER_ERROR.error_description,
  };

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
    expect(access).to.deep.equal(
      accessClaims(access, { sub: 'auth0|1001', aud: API, client_id: CLIENT_ID, scope: SCOPE }),
    );
    // The profile is the imported one: the action changed nothing.
    const id = await verify(String(body.id_token), CLIENT_ID, 'JWT');
    expect(id).to.deep.equal(
      idClaims(id, {
        sub: 'auth0|1001',
        aud: CLIENT_ID,
        name: 'Alice Martin',
        updated_at: id.updated_at,
        email: 'alice@acme.example',
        email_verified: true,
      }),
    );

    const entry = await latestLog();
    expect(entry).to.deep.equal(
      exampleSuccessEntry(
        entry,
        MOBILE_EXCHANGE,
        { user_id: 'auth0|1001', user_name: 'alice@acme.example', connection: 'legacy-users' },
        {
          access_token_jti: access.jti,
          refresh_token_family_id: entry.details.refresh_token_family_id,
        },
      ),
    );
    expect(entry.details.refresh_token_family_id).to.match(/^rtf_/);
    familyId = entry.details.refresh_token_family_id;

    const users = await getJson<Json[]>('/users');
    expect(users).to.deep.equal([
      { ...importedUsers[0], updated_at: users[0]!.updated_at, logins_count: 1 },
      importedUsers[1],
    ]);
  });

  it("Bob's revoked legacy token (the legacy IdP answers invalid_grant) is rejected: 400 invalid_request", async () => {
    await expectRefused(await exchange(tokens.bob), REVOKED);
  });

  it('a token the legacy IdP never issued is rejected the same way', async () => {
    await expectRefused(await exchange('lrt_made-up-by-someone'), REVOKED);
  });

  it("Carol's valid legacy token finds no imported user: 400 invalid_request, and nobody is created", async () => {
    await expectRefused(
      await exchange(tokens.carol),
      {
        error: 'invalid_request',
        description: 'user does not exist',
        cause:
          'setUserByConnection: no user at connection "legacy-users", user_id "1003" and creationBehavior is none',
      },
      { ...MOBILE_EXCHANGE.fields, connection: 'legacy-users' },
    );
    const users = await getJson<Json[]>('/users');
    expect(users.map((user) => user.user_id)).to.deep.equal(['auth0|1001', 'auth0|1002']);
  });

  it('a legacy IdP answering 503 fails the exchange with 500 server_error (the action throws)', async () => {
    await setLegacyMode('failing');
    const answer = await exchange(tokens.alice);
    const { details } = await latestLog();
    const cause = String(details.cause);
    expect(cause).to.match(
      /^action \S+ failed: Error: legacy token endpoint answered 503 \(line \d+, column \d+\)$/,
    );
    expect(cause).to.include(`action ${details.action_id} failed`);
    await expectRefused(answer, { ...SERVER_FAILURE, cause });
  });

  it('an unreachable legacy IdP (connections dropped) fails with 500 server_error too', async () => {
    await setLegacyMode('unreachable');
    const answer = await exchange(tokens.alice);
    const actionId = (await latestLog()).details.action_id;
    await expectRefused(answer, {
      ...SERVER_FAILURE,
      cause: `action ${actionId} failed: CapabilityError: fetch to ${server.origin} failed: connection reset`,
    });
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
      ...MOBILE_EXCHANGE.fields,
      user_id: 'auth0|1001',
      user_name: 'alice@acme.example',
      details: {
        access_token_jti: access.jti,
        refresh_token_family_id: familyId,
      },
    });
  });
});
