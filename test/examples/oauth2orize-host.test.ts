import { expect } from 'chai';
import { createLocalJWKSet, decodeJwt, jwtVerify } from 'jose';
import {
  STARTUP_TIMEOUT_MS,
  exampleReader,
  expectExampleIssued,
  expectNoStore,
  runningExample,
} from '../support/example-http.js';
import type { Json } from '../support/example-http.js';
import { GRANT } from '../support/fixtures.js';

const SUBJECT_TOKEN_TYPE = 'urn:partner:id-token';
const API = 'https://api.bookshop.example/';
const CLIENT_ID = 'bookshop-app';
/** The host's tokens: 32 random bytes, base64url, no structure. */
const HOST_TOKEN = /^[\w-]{43}$/;

type LogEntry = Json & { log_id: string; type: string; details: Json };
/** How a request authenticates its client: Basic, or `client_id`/`client_secret` in the body. */
type ClientCredentials = { basic: [string, string] } | { post: [string, string] };

interface Printed {
  hostGrant: { url: string; clientId: string; clientSecret: string };
  exchange: { url: string; clientId: string; clientSecret: string; params: URLSearchParams };
}

function capture(text: string, pattern: RegExp, what: string): RegExpExecArray {
  const match = pattern.exec(text);
  if (match === null) throw new Error(`the example did not print ${what}:\n${text}`);
  return match;
}

/** The two curl commands of the banner. */
function parseBanner(output: string): Printed {
  const [, grantUrl, grantId, grantSecret] = capture(
    output,
    /^curl -s (\S+) -u ([^:\s]+):(\S+) -d grant_type=client_credentials$/m,
    'the client_credentials command',
  );
  const [block] = capture(
    output,
    /^curl -s \S+ \\\n(?:\s+-[ud] .*\n?)+/m,
    'the token exchange command',
  );
  const [, url] = capture(block, /^curl -s (\S+) \\$/m, 'the token endpoint');
  const [, clientId, clientSecret] = capture(block, /^\s+-u ([^:\s]+):(\S+) \\$/m, '-u');
  const params = new URLSearchParams();
  for (const [, arg] of block.matchAll(/^\s+-d (.*?)(?: \\)?$/gm)) {
    const pair = arg!.replace(/^'(.*)'$/, '$1');
    const at = pair.indexOf('=');
    params.append(pair.slice(0, at), pair.slice(at + 1));
  }
  return {
    hostGrant: { url: grantUrl!, clientId: grantId!, clientSecret: grantSecret! },
    exchange: { url: url!, clientId: clientId!, clientSecret: clientSecret!, params },
  };
}

describe('examples/oauth2orize-host end to end (spawned with --no-node-snapshot)', function () {
  this.timeout(STARTUP_TIMEOUT_MS);
  const server = runningExample('examples/oauth2orize-host/server.ts', {
    ready: /^Host users: \S+ {3}Tenant logs: \S+ {3}Public keys: \S+$/m,
  });
  let origin: string;
  const { getJson } = exampleReader(() => origin);
  let printed: Printed;
  let secret: string;
  let jwks: ReturnType<typeof createLocalJWKSet>;

  before(async () => {
    origin = server.origin;
    printed = parseBanner(server.stdout);
    secret = printed.hostGrant.clientSecret;
    const res = await fetch(`${origin}/.well-known/jwks.json`);
    expect(res.status).to.equal(200);
    jwks = createLocalJWKSet((await res.json()) as Parameters<typeof createLocalJWKSet>[0]);
  });

  async function token(
    credentials: ClientCredentials,
    params: Record<string, string> | URLSearchParams,
  ): Promise<{ res: Response; body: Json }> {
    const body = new URLSearchParams(params);
    const headers: Record<string, string> = {
      'content-type': 'application/x-www-form-urlencoded',
    };
    if ('basic' in credentials) {
      const [id, password] = credentials.basic;
      headers.authorization = `Basic ${Buffer.from(`${id}:${password}`).toString('base64')}`;
    } else {
      body.set('client_id', credentials.post[0]);
      body.set('client_secret', credentials.post[1]);
    }
    const res = await fetch(`${origin}/oauth/token`, { method: 'POST', headers, body });
    return { res, body: (await res.json()) as Json };
  }

  /** The tenant log entries written after `mark` (a log_id, or '' for all), oldest first. */
  async function logsAfter(mark: string): Promise<LogEntry[]> {
    const entries = await getJson<LogEntry[]>('/logs');
    return entries.filter((entry) => entry.log_id > mark).reverse();
  }

  async function logMark(): Promise<string> {
    const [newest] = await getJson<LogEntry[]>('/logs');
    return newest?.log_id ?? '';
  }

  /** A partner ID token for `username`, from the simulated partner IdP. */
  async function partnerToken(username: string): Promise<string> {
    const res = await fetch(`${origin}/partner-idp/sign-in`, {
      method: 'POST',
      body: new URLSearchParams({ username, client_id: CLIENT_ID }),
    });
    expect(res.status).to.equal(200);
    return ((await res.json()) as { id_token: string }).id_token;
  }

  /**
   * Asserts an answer of the host's own grants: 200, no-store, an opaque host access token of an
   * hour for `scope`, and an opaque refresh token when `withRefresh`.
   */
  function expectHostTokens(
    { res, body }: { res: Response; body: Json },
    scope: string,
    withRefresh = false,
  ): void {
    expect(res.status, JSON.stringify(body)).to.equal(200);
    expectNoStore(res);
    const refresh = withRefresh ? { refresh_token: body.refresh_token } : {};
    expect(body).to.deep.equal({
      access_token: body.access_token,
      ...refresh,
      expires_in: 3600,
      scope,
      token_type: 'Bearer',
    });
    expect(body.access_token).to.match(HOST_TOKEN);
    if (withRefresh) expect(body.refresh_token).to.match(HOST_TOKEN);
  }

  /** Asserts a refusal: `status`, no-store, exactly this error and description. */
  function expectError(
    { res, body }: { res: Response; body: Json },
    status: number,
    error: string,
    description: string,
  ): void {
    expect(res.status, JSON.stringify(body)).to.equal(status);
    expectNoStore(res);
    expect(body).to.deep.equal({ error, error_description: description });
  }

  function exchange(subjectToken: string, scope: string): Record<string, string> {
    return {
      grant_type: GRANT,
      subject_token_type: SUBJECT_TOKEN_TYPE,
      subject_token: subjectToken,
      scope,
    };
  }

  it('prints curl commands for its own port: the host grant and a token exchange', () => {
    const url = `${origin}/oauth/token`;
    expect(printed.hostGrant).to.deep.equal({ url, clientId: CLIENT_ID, clientSecret: secret });
    expect(printed.exchange).to.deep.include({ url, clientId: CLIENT_ID, clientSecret: secret });
    const params = Object.fromEntries(printed.exchange.params);
    expect(params).to.deep.equal({
      grant_type: GRANT,
      subject_token_type: SUBJECT_TOKEN_TYPE,
      subject_token: params.subject_token,
      scope: 'openid profile email read:books offline_access',
    });
    expect(decodeJwt(String(params.subject_token))).to.include({
      iss: `${origin}/partner-idp/`,
      aud: CLIENT_ID,
      sub: 'p-jane-42',
    });
  });

  describe("the host's own grants (oauth2orize, passport strategies)", () => {
    it('client_credentials with Basic (the printed command): an opaque host token', async () => {
      const mark = await logMark();
      const { clientId, clientSecret } = printed.hostGrant;
      const granted = await token(
        { basic: [clientId, clientSecret] },
        { grant_type: 'client_credentials' },
      );
      expectHostTokens(granted, 'read:books write:orders');
      expect(await logsAfter(mark), 'the router logs nothing it did not claim').to.deep.equal([]);
    });

    it('client_credentials with client_secret_post, scope within the client row', async () => {
      const same = await token({ post: [CLIENT_ID, secret] }, { grant_type: 'client_credentials' });
      expectHostTokens(same, 'read:books write:orders');

      const stockSync: ClientCredentials = { post: ['stock-sync', 'stock-sync-secret-change-me'] };
      const narrower = await token(stockSync, { grant_type: 'client_credentials' });
      expectHostTokens(narrower, 'read:books');

      const wider = await token(stockSync, {
        grant_type: 'client_credentials',
        scope: 'read:books write:orders',
      });
      expectError(wider, 400, 'invalid_scope', 'The requested scope is not allowed.');
    });

    it('refuses a wrong secret on its own grant with its own invalid_client', async () => {
      const refused = await token(
        { basic: [CLIENT_ID, 'not-the-secret'] },
        { grant_type: 'client_credentials' },
      );
      expectError(refused, 401, 'invalid_client', 'Client authentication failed.');
      expect(refused.res.headers.get('www-authenticate')).to.equal(
        'Basic realm="bookshop", error="invalid_client"',
      );
    });

    it('password then refresh_token: host refresh tokens rotate, a used one is refused', async () => {
      const signIn = await token(
        { post: [CLIENT_ID, secret] },
        {
          grant_type: 'password',
          username: 'alice@bookshop.example',
          password: 'alice-password-change-me',
          scope: 'read:books',
        },
      );
      expectHostTokens(signIn, 'read:books', true);

      const mark = await logMark();
      const refreshed = await token(
        { basic: [CLIENT_ID, secret] },
        { grant_type: 'refresh_token', refresh_token: String(signIn.body.refresh_token) },
      );
      expectHostTokens(refreshed, 'read:books', true);
      expect(refreshed.body.refresh_token).not.to.equal(signIn.body.refresh_token);

      const reused = await token(
        { basic: [CLIENT_ID, secret] },
        { grant_type: 'refresh_token', refresh_token: String(signIn.body.refresh_token) },
      );
      expectError(reused, 400, 'invalid_grant', 'Invalid refresh token.');
      expect(await logsAfter(mark)).to.deep.equal([]);
    });
  });

  describe('custom token exchange at the same endpoint, clients authenticated by the host', () => {
    it('Basic, the printed exchange: Jane becomes a host user, tokens verify against the JWKS', async () => {
      const usersBefore = await getJson<Json[]>('/users');
      expect(usersBefore.map((u) => u.id)).to.deep.equal(['usr_1001', 'usr_1002', 'usr_1003']);
      const mark = await logMark();

      const { clientId, clientSecret, params } = printed.exchange;
      const { res, body } = await token({ basic: [clientId, clientSecret] }, params);
      expectExampleIssued(res, body, {
        scope: 'openid profile email read:books offline_access',
        id_token: body.id_token,
        refresh_token: body.refresh_token,
      });
      expect(body.refresh_token).to.match(/^cte_rt_[\w-]{22}\.[\w-]{43}$/);

      // The host's users table now has Jane, with the host's own id and her partner identity.
      const users = await getJson<Json[]>('/users');
      expect(users).to.have.length(4);
      const jane = users[3]!;
      expect(jane).to.deep.equal({
        id: 'usr_1004',
        email: 'jane@partner.example',
        emailVerified: true,
        name: 'Jane Partner',
        hasPassword: false,
        blocked: false,
        identities: [{ connection: 'partner-idp', externalId: 'p-jane-42' }],
        appMetadata: {},
        userMetadata: {},
        loginCount: 1,
        createdAt: jane.createdAt,
        updatedAt: jane.updatedAt,
      });

      const issuer = `${origin}/`;
      const access = await jwtVerify(String(body.access_token), jwks, {
        issuer,
        audience: API,
        typ: 'at+jwt',
        algorithms: ['ES256'],
      });
      const { iat, exp, jti } = access.payload;
      expect(exp! - iat!).to.equal(3600);
      expect(iat).to.be.closeTo(Math.floor(Date.now() / 1000), 30);
      expect(access.payload).to.deep.equal({
        iss: issuer,
        sub: 'usr_1004',
        aud: API,
        iat,
        exp,
        jti,
        client_id: CLIENT_ID,
        scope: 'openid profile email read:books offline_access',
      });
      const id = await jwtVerify(String(body.id_token), jwks, {
        issuer,
        audience: CLIENT_ID,
        typ: 'JWT',
        algorithms: ['ES256'],
      });
      expect(id.payload).to.deep.equal({
        iss: issuer,
        sub: 'usr_1004',
        aud: CLIENT_ID,
        iat: id.payload.iat,
        exp: id.payload.exp,
        auth_time: id.payload.iat,
        name: 'Jane Partner',
        updated_at: Math.floor(Date.parse(String(jane.updatedAt)) / 1000),
        email: 'jane@partner.example',
        email_verified: true,
      });

      const entries = await logsAfter(mark);
      expect(entries.map((e) => e.type)).to.deep.equal(['secte']);
      expect(entries[0]).to.deep.include({
        type: 'secte',
        client_id: CLIENT_ID,
        client_name: 'Bookshop app',
        audience: API,
        scope: 'openid profile email read:books offline_access',
        user_id: 'usr_1004',
        user_name: 'jane@partner.example',
        connection: 'partner-idp',
      });
      expect(entries[0]!.details).to.deep.include({
        subject_token_type: SUBJECT_TOKEN_TYPE,
        access_token_jti: jti,
      });
      expect(entries[0]!.details.refresh_token_family_id).to.match(/^rtf_/);
    });

    it('client_secret_post: Bob is found in the host table by his partner identity', async () => {
      const before = await getJson<Json[]>('/users');
      const bobBefore = before.find((u) => u.id === 'usr_1002')!;
      const mark = await logMark();

      const { res, body } = await token(
        { post: [CLIENT_ID, secret] },
        exchange(await partnerToken('bob'), 'openid email read:books'),
      );
      expectExampleIssued(res, body, {
        scope: 'openid email read:books',
        id_token: body.id_token,
      });
      const access = await jwtVerify(String(body.access_token), jwks, {
        issuer: `${origin}/`,
        audience: API,
        algorithms: ['ES256'],
      });
      expect(access.payload).to.include({ sub: 'usr_1002', client_id: CLIENT_ID });
      const id = await jwtVerify(String(body.id_token), jwks, {
        issuer: `${origin}/`,
        audience: CLIENT_ID,
        algorithms: ['ES256'],
      });
      expect(id.payload).to.deep.equal({
        iss: `${origin}/`,
        sub: 'usr_1002',
        aud: CLIENT_ID,
        iat: id.payload.iat,
        exp: id.payload.exp,
        auth_time: id.payload.iat,
        email: 'bob@partner.example',
        email_verified: true,
      });

      // No new row: the host's row is used, its data kept (updateBehavior none), a login counted.
      const after = await getJson<Json[]>('/users');
      expect(after.map((u) => u.id)).to.deep.equal(before.map((u) => u.id));
      const bob = after.find((u) => u.id === 'usr_1002')!;
      expect(bob).to.deep.equal({
        ...bobBefore,
        loginCount: Number(bobBefore.loginCount) + 1,
        updatedAt: bob.updatedAt,
      });
      expect(bob.appMetadata).to.deep.equal({ plan: 'gold' });

      const entries = await logsAfter(mark);
      expect(entries.map((e) => [e.type, e.client_id, e.user_id, e.connection])).to.deep.equal([
        ['secte', CLIENT_ID, 'usr_1002', 'partner-idp'],
      ]);
    });

    it('a wrong client secret is 401 invalid_client, with Basic and with the form body', async () => {
      const subjectToken = await partnerToken('jane');
      const mark = await logMark();

      const basic = await token(
        { basic: [CLIENT_ID, 'not-the-secret'] },
        exchange(subjectToken, 'openid'),
      );
      expectError(basic, 401, 'invalid_client', 'Client authentication failed.');
      expect(basic.res.headers.get('www-authenticate')).to.equal(
        'Basic realm="token", error="invalid_client"',
      );

      const post = await token(
        { post: [CLIENT_ID, 'not-the-secret'] },
        exchange(subjectToken, 'openid'),
      );
      expectError(post, 401, 'invalid_client', 'Client authentication failed.');
      expect(post.res.headers.get('www-authenticate')).to.equal(null);

      const entries = await logsAfter(mark);
      expect(entries).to.have.length(2);
      for (const entry of entries) {
        expect(entry).to.deep.include({
          type: 'fecte',
          description: 'Client authentication failed.',
          // Logged under the client the requests named, though it did not authenticate.
          client_id: CLIENT_ID,
          client_name: 'Bookshop app',
        });
        expect(entry.details).to.deep.include({
          subject_token_type: SUBJECT_TOKEN_TYPE,
          error: 'invalid_client',
          error_description: 'Client authentication failed.',
        });
        expect(entry.details.cause).to.match(/^no client authentication strategy succeeded/);
      }
      expect(JSON.stringify(entries)).not.to.include('not-the-secret');
    });

    it("an invalid subject token is the action's rejection, logged as fecte", async () => {
      const mark = await logMark();
      // Signed by someone else's key: the partner's JWKS does not verify it.
      const jane = await partnerToken('jane');
      const [header, payload] = jane.split('.');
      const forged = `${header}.${payload}.${Buffer.alloc(64, 7).toString('base64url')}`;

      const refused = await token({ basic: [CLIENT_ID, secret] }, exchange(forged, 'openid'));
      expectError(refused, 400, 'invalid_request', 'the partner ID token is invalid');

      const entries = await logsAfter(mark);
      expect(entries).to.have.length(1);
      expect(entries[0]).to.deep.include({
        type: 'fecte',
        description: 'the partner ID token is invalid',
        client_id: CLIENT_ID,
        client_name: 'Bookshop app',
        audience: API,
      });
      expect(entries[0]!.details).to.deep.include({
        subject_token_type: SUBJECT_TOKEN_TYPE,
        error: 'invalid_request',
        error_description: 'the partner ID token is invalid',
        cause: 'invalid subject token',
        console: ['partner token refused: ERR_JWS_SIGNATURE_VERIFICATION_FAILED'],
      });
      expect(JSON.stringify(entries)).not.to.include(forged.split('.')[2]!.slice(0, 16));
      expect((await getJson<Json[]>('/users')).map((u) => u.id)).to.deep.equal([
        'usr_1001',
        'usr_1002',
        'usr_1003',
        'usr_1004',
      ]);
    });

    it("the host's blocked flag holds: Carol's exchange is 401 unauthorized", async () => {
      const refused = await token(
        { basic: [CLIENT_ID, secret] },
        exchange(await partnerToken('carol'), 'openid'),
      );
      expectError(refused, 401, 'unauthorized', 'user is blocked');
    });

    it('a client row without the token exchange grant is 400 unauthorized_client', async () => {
      const refused = await token(
        { basic: ['stock-sync', 'stock-sync-secret-change-me'] },
        exchange(await partnerToken('jane'), 'openid'),
      );
      expectError(
        refused,
        400,
        'unauthorized_client',
        'the client is not allowed to use custom token exchange',
      );
    });
  });

  describe('refresh tokens: each goes to the server that issued it', () => {
    it("the router's refresh token to the router, the host's to the host, an unknown one to the host", async () => {
      const host = await token(
        { basic: [CLIENT_ID, secret] },
        {
          grant_type: 'password',
          username: 'alice@bookshop.example',
          password: 'alice-password-change-me',
        },
      );
      expect(host.res.status, JSON.stringify(host.body)).to.equal(200);
      const exchanged = await token(
        { basic: [CLIENT_ID, secret] },
        exchange(await partnerToken('jane'), 'openid read:books offline_access'),
      );
      expect(exchanged.res.status, JSON.stringify(exchanged.body)).to.equal(200);
      const routerRefreshToken = String(exchanged.body.refresh_token);
      expect(routerRefreshToken).to.match(/^cte_rt_/);

      // The host's refresh token: answered by oauth2orize, nothing in the router's log.
      let mark = await logMark();
      const hostRefresh = await token(
        { post: [CLIENT_ID, secret] },
        { grant_type: 'refresh_token', refresh_token: String(host.body.refresh_token) },
      );
      expectHostTokens(hostRefresh, 'read:books write:orders', true);
      expect(await logsAfter(mark)).to.deep.equal([]);

      // The router's refresh token: answered by the router with a JWT, logged as sertft.
      mark = await logMark();
      const routerRefresh = await token(
        { post: [CLIENT_ID, secret] },
        { grant_type: 'refresh_token', refresh_token: routerRefreshToken },
      );
      expect(routerRefresh.res.status, JSON.stringify(routerRefresh.body)).to.equal(200);
      expectNoStore(routerRefresh.res);
      expect(routerRefresh.body).to.deep.equal({
        access_token: routerRefresh.body.access_token,
        token_type: 'Bearer',
        expires_in: 3600,
        scope: 'openid read:books offline_access',
        id_token: routerRefresh.body.id_token,
        refresh_token: routerRefresh.body.refresh_token,
      });
      const access = await jwtVerify(String(routerRefresh.body.access_token), jwks, {
        issuer: `${origin}/`,
        audience: API,
        algorithms: ['ES256'],
      });
      expect(access.payload).to.include({ sub: 'usr_1004', client_id: CLIENT_ID });
      const entries = await logsAfter(mark);
      expect(entries.map((e) => [e.type, e.client_id, e.user_id])).to.deep.equal([
        ['sertft', CLIENT_ID, 'usr_1004'],
      ]);

      // A token of the router's shape that its store does not know is the host's to answer.
      mark = await logMark();
      const unknown = await token(
        { basic: [CLIENT_ID, secret] },
        {
          grant_type: 'refresh_token',
          refresh_token: `cte_rt_${'A'.repeat(22)}.${'A'.repeat(43)}`,
        },
      );
      expectError(unknown, 400, 'invalid_grant', 'Invalid refresh token.');
      expect(await logsAfter(mark)).to.deep.equal([]);
    });
  });
});
