import { expect } from 'chai';
import { decodeProtectedHeader } from 'jose';
import { capture } from '../support/example-process.js';
import { SERVER_ERROR } from '../support/oauth-responses.js';
import {
  STARTUP_TIMEOUT_MS,
  EXAMPLE_USER_AGENT,
  exampleExchangeEntry,
  exampleSuccessEntry,
  exampleReader,
  expectExampleIssued,
  expectExampleRefused,
  invalidSubjectToken,
  readReply,
  runningExample,
} from '../support/example-http.js';
import type { ExampleRefusal, ExampleReply } from '../support/example-http.js';
import { GRANT } from '../support/fixtures.js';

const SUBJECT_TOKEN_TYPE = 'urn:acme:legacy-access-token';
const API = 'https://api.acme.example/orders';
const SCOPE = 'openid profile email read:orders';
const APP_EXCHANGE = exampleExchangeEntry(
  { id: 'orders-app', name: 'Orders app' },
  SUBJECT_TOKEN_TYPE,
  { audience: API, scope: SCOPE, hostname: '127.0.0.1' },
);

interface Printed {
  url: string;
  client: string;
  grantType: string;
  subjectTokenType: string;
  subjectToken: string;
  scope: string;
  introspectionUrl: string;
  introspectionClient: string;
}

function parseBanner(out: string): Printed {
  const block = capture(out, /^(curl -s \S+ \\\n(?:\s+-[ud] .*\n?)+)/m, 'the exchange command');
  return {
    url: capture(block, /^curl -s (\S+) \\$/m, 'the token endpoint URL'),
    client: capture(block, /^\s+-u (\S+) \\$/m, '-u'),
    grantType: capture(block, /^\s+-d grant_type=(\S+) \\$/m, 'grant_type'),
    subjectTokenType: capture(block, /^\s+-d subject_token_type=(\S+) \\$/m, 'subject_token_type'),
    subjectToken: capture(block, /^\s+-d subject_token=(\S+) \\$/m, 'subject_token'),
    scope: capture(block, /^\s+-d 'scope=([^']*)'$/m, 'scope'),
    introspectionUrl: capture(out, /^curl -s (\S+\/introspect) -u /m, 'the introspection URL'),
    introspectionClient: capture(out, /\/introspect -u (\S+) -d token=/, 'the introspection -u'),
  };
}

function basic(credentials: string): string {
  return `Basic ${Buffer.from(credentials).toString('base64')}`;
}

describe('examples/introspection end to end (spawned with --no-node-snapshot)', function () {
  this.timeout(STARTUP_TIMEOUT_MS);
  const server = runningExample('examples/introspection/server.ts', { host: '127.0.0.1' });
  let printed: Printed;
  let origin: string;
  const { verify, latestLog, accessClaims, idClaims } = exampleReader(() => origin);

  before(() => {
    origin = server.origin;
    printed = parseBanner(server.stdout);
  });

  async function exchange(subjectToken: string): Promise<ExampleReply> {
    return readReply(
      await fetch(printed.url, {
        method: 'POST',
        headers: {
          authorization: basic(printed.client),
          'content-type': 'application/x-www-form-urlencoded',
          'user-agent': EXAMPLE_USER_AGENT,
        },
        body: new URLSearchParams({
          grant_type: printed.grantType,
          subject_token_type: printed.subjectTokenType,
          subject_token: subjectToken,
          scope: printed.scope,
        }),
      }),
    );
  }

  async function post(
    path: string,
    form: Record<string, string>,
    auth?: string,
  ): Promise<ExampleReply> {
    return readReply(
      await fetch(`${origin}${path}`, {
        method: 'POST',
        headers: auth === undefined ? {} : { authorization: auth },
        body: new URLSearchParams(form),
      }),
    );
  }

  /** A fresh opaque token from the legacy authorization server. */
  async function legacyToken(sub: string, scope: string, expiresIn = 3600): Promise<string> {
    const res = await post('/legacy-as/tokens', { sub, scope, expires_in: String(expiresIn) });
    expect(res.status, JSON.stringify(res.body)).to.equal(200);
    return String(res.body.access_token);
  }

  /** Asserts `res` refused the exchange as `refusal` says, and the `fecte` entry logged for it. */
  async function expectRefused(
    res: ExampleReply,
    refusal: ExampleRefusal & { status?: number },
  ): Promise<void> {
    expectExampleRefused(res, res.body, await latestLog(), {
      ...refusal,
      ...APP_EXCHANGE,
    });
  }

  /** The refusal of a token the action found inactive, with its console line. */
  function expectNotActive(res: ExampleReply, consoleLine: string): Promise<void> {
    return expectRefused(res, invalidSubjectToken('the subject token is not active', consoleLine));
  }

  /** The generic 500 of an action that threw `thrown` (logged in the cause with the action id). */
  async function expectServerError(res: ExampleReply, thrown: string): Promise<void> {
    const actionId = String((await latestLog()).details.action_id);
    await expectRefused(res, {
      status: 500,
      error: SERVER_ERROR.error,
      description: SERVER_ERROR.error_description,
      cause: `action ${actionId} failed: ${thrown}`,
    });
  }

  it('prints an exchange for its own port with a fresh opaque token, and the introspection call', () => {
    expect(printed).to.deep.equal({
      url: `${origin}/oauth/token`,
      client: 'orders-app:orders-app-secret-change-me',
      grantType: GRANT,
      subjectTokenType: SUBJECT_TOKEN_TYPE,
      subjectToken: printed.subjectToken,
      scope: SCOPE,
      introspectionUrl: `${origin}/legacy-as/introspect`,
      introspectionClient: 'cte-router:introspection-secret-change-me',
    });
    // Opaque: 256 random bits, nothing to decode.
    expect(printed.subjectToken).to.match(/^[\w-]{43}$/);
  });

  it('the legacy server introspects the printed token as active (RFC 7662), for Basic-authenticated callers only', async () => {
    const res = await post(
      '/legacy-as/introspect',
      { token: printed.subjectToken },
      basic(printed.introspectionClient),
    );
    expect(res.status).to.equal(200);
    expect(res.body).to.deep.equal({
      active: true,
      scope: 'profile orders.read',
      client_id: 'legacy-web',
      username: 'jane',
      token_type: 'Bearer',
      exp: Number(res.body.iat) + 3600,
      iat: res.body.iat,
      sub: 'u-1001',
      iss: `${origin}/legacy-as/`,
      email: 'jane@legacy.example',
      name: 'Jane Legacy',
    });

    const wrong = await post(
      '/legacy-as/introspect',
      { token: printed.subjectToken },
      basic('cte-router:wrong'),
    );
    expect(wrong.status).to.equal(401);
    expect(wrong.headers.get('www-authenticate')).to.equal('Basic realm="legacy-as"');
    expect(wrong.body).to.deep.equal({ error: 'invalid_client' });
  });

  it('an active token: 200, tokens for legacy|u-1001 that verify, a secte entry without the token', async () => {
    const res = await exchange(printed.subjectToken);
    expectExampleIssued(res, res.body, {
      scope: SCOPE,
      id_token: res.body.id_token,
    });

    const accessToken = String(res.body.access_token);
    expect(decodeProtectedHeader(accessToken)).to.deep.equal({
      alg: 'ES256',
      typ: 'at+jwt',
      kid: 'router-es256-1',
    });
    const access = await verify(accessToken, API, 'at+jwt');
    expect(access).to.deep.equal(
      accessClaims(access, {
        sub: 'legacy|u-1001',
        aud: API,
        exp: access.iat! + 3600,
        client_id: 'orders-app',
        scope: SCOPE,
      }),
    );
    expect(access.iat).to.be.closeTo(Math.floor(Date.now() / 1000), 30);
    const id = await verify(String(res.body.id_token), 'orders-app', 'JWT');
    expect(id).to.deep.equal(
      idClaims(id, {
        sub: 'legacy|u-1001',
        aud: 'orders-app',
        exp: id.iat! + 36000,
        name: 'Jane Legacy',
        updated_at: id.updated_at,
        email: 'jane@legacy.example',
        email_verified: false,
      }),
    );

    const entry = await latestLog();
    expect(entry).to.deep.equal(
      exampleSuccessEntry(
        entry,
        APP_EXCHANGE,
        { user_id: 'legacy|u-1001', user_name: 'jane@legacy.example', connection: 'legacy' },
        { access_token_jti: access.jti },
      ),
    );
    expect(JSON.stringify(await (await fetch(`${origin}/logs`)).json())).not.to.include(
      printed.subjectToken.slice(0, 16),
    );
  });

  it('an unknown token (introspection says active: false): 400, the action console line logged', async () => {
    const res = await exchange('not-a-token-the-legacy-server-issued');
    await expectNotActive(res, 'introspection: the token is not active');
  });

  it('an expired token: inactive, the same 400', async () => {
    const token = await legacyToken('u-1002', 'orders.read', 1);
    await new Promise((resolve) => setTimeout(resolve, 1100));
    const res = await exchange(token);
    await expectNotActive(res, 'introspection: the token is not active');
  });

  it('an active token without orders.read: 400 invalid_scope, no token', async () => {
    const res = await exchange(await legacyToken('u-1002', 'profile'));
    await expectRefused(res, {
      error: 'invalid_scope',
      description: 'the subject token does not grant orders.read',
      console: ['introspection: scope "profile" lacks orders.read'],
    });
  });

  it('a token of the other legacy user with the scope: 200 for legacy|u-1002 (created on first use)', async () => {
    const res = await exchange(await legacyToken('u-1002', 'orders.read'));
    expect(res.status, JSON.stringify(res.body)).to.equal(200);
    const access = await verify(String(res.body.access_token), API, 'at+jwt');
    expect(access.sub).to.equal('legacy|u-1002');
    expect(await latestLog()).to.deep.include({
      type: 'secte',
      user_id: 'legacy|u-1002',
      user_name: 'omar@legacy.example',
      connection: 'legacy',
    });
  });

  describe('when the introspection endpoint is faulty', () => {
    async function fault(mode: 'none' | 'error' | 'down' | 'stale'): Promise<void> {
      const res = await post('/legacy-as/fault', { mode });
      expect(res.body).to.deep.equal({ fault: mode });
    }

    afterEach(() => fault('none'));

    it('answers 503: 500 server_error with the generic body, the status in the cause', async () => {
      await fault('error');
      const res = await exchange(printed.subjectToken);
      await expectServerError(
        res,
        'Error: introspection endpoint answered 503 (line 20, column 33)',
      );
    });

    it('drops the connection: 500 server_error, the fetch failure in the cause (its URL, a secret, redacted)', async () => {
      await fault('down');
      const res = await exchange(printed.subjectToken);
      await expectServerError(res, 'CapabilityError: fetch to [redacted] failed: connection reset');
    });

    it('answers active: true past exp (a stale answer): the action checks exp itself, 400', async () => {
      const token = await legacyToken('u-1002', 'orders.read', 1);
      await new Promise((resolve) => setTimeout(resolve, 1100));
      await fault('stale');
      const introspected = await post(
        '/legacy-as/introspect',
        { token },
        basic(printed.introspectionClient),
      );
      expect(introspected.body).to.deep.include({ active: true, sub: 'u-1002' });
      const exp = Number(introspected.body.exp);
      expect(exp).to.be.at.most(Date.now() / 1000);

      const res = await exchange(token);
      await expectNotActive(res, `introspection: active, but exp ${exp} has passed`);
    });

    it('is back: the same token exchanges again', async () => {
      const res = await exchange(printed.subjectToken);
      expect(res.status, JSON.stringify(res.body)).to.equal(200);
      expect((await verify(String(res.body.access_token), API, 'at+jwt')).sub).to.equal(
        'legacy|u-1001',
      );
    });
  });
});
