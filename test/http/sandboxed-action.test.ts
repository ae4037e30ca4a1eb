import { randomBytes } from 'node:crypto';
import { expect } from 'chai';
import { createLocalJWKSet, jwtVerify } from 'jose';
import request from 'supertest';
import type { Response } from 'supertest';
import { ManagementError } from '../../lib/index.js';
import type { LogEntry } from '../../lib/logs/log-entry.js';
import { IDP_AUDIENCE, IDP_ISSUER, foreignKey } from '../sandbox/fixtures/local-idp.js';
import { assertionParams, clientAssertion } from '../support/client-assertion.js';
import { API, GRANT, ISSUER, SECRET, testServer } from '../support/fixtures.js';
import type { TestServer } from '../support/fixtures.js';
import { postToken, expectIssued, appAccessClaims } from '../support/token-requests.js';
import { actionCode, deployCodeProfile, sandboxPeers } from '../support/sandboxed-actions.js';
import type { CodeProfile } from '../support/sandboxed-actions.js';
import { NO_STORE, SERVER_ERROR, APP } from '../support/oauth-responses.js';
import { appEntryFields, SECTE } from '../support/log-entries.js';

const USER_AGENT = 'cte-sandbox-tests/1.0';

/** A token exchange through the fixture router: `app` with Basic credentials unless `auth` is ''. */
function exchange(
  server: TestServer,
  subjectTokenType: string,
  subjectToken: string,
  extra: Record<string, string> = {},
  auth = APP,
): Promise<Response> {
  const body = {
    grant_type: GRANT,
    subject_token: subjectToken,
    subject_token_type: subjectTokenType,
    ...extra,
  };
  return postToken(server, body, { auth, userAgent: USER_AGENT }).then((res) => res);
}

async function verifyAccessToken(server: TestServer, token: string) {
  const jwks = await request(server.app).get('/.well-known/jwks.json').expect(200);
  return jwtVerify(token, createLocalJWKSet(jwks.body), {
    issuer: ISSUER,
    audience: API,
    typ: 'at+jwt',
  });
}

/** The one log entry written since `before` entries existed (the ring lists newest first). */
async function newestEntry(server: TestServer, before = 0): Promise<LogEntry> {
  const entries = await server.cte.logs.list();
  expect(entries).to.have.length(before + 1);
  return entries[0]!;
}

/** The fields every entry of a request by `app` shares, written just now. */
function commonFields(entry: LogEntry) {
  expect(Date.parse(entry.date)).to.be.closeTo(Date.now(), 10_000);
  return appEntryFields(entry, USER_AGENT);
}

const BUSY = 'The server is busy; retry later.';

/** An OAuth error answer: the status, the no-store headers (and `headers`), the whole body. */
function expectOAuthError(
  res: Response,
  status: number,
  error: string,
  description: string,
  headers: Record<string, string> = {},
): void {
  expect(res.status).to.equal(status);
  expect(res.headers).to.include({ ...NO_STORE, ...headers });
  expect(res.body).to.deep.equal({ error, error_description: description });
}

function expectServerError(res: Response): void {
  expectOAuthError(res, 500, SERVER_ERROR.error, SERVER_ERROR.error_description);
}

/** A 200 without ID token for `app` (no scope requested): the body shape of spec §2. */
function expectIssuedWithoutScope(res: Response): void {
  expectIssued(res, {
    scope: '',
  });
  expect(res.body.access_token).to.be.a('string');
}

/** The `fecte` entry of a request of `profile` answered `error`, with the private cause. */
function fecteEntry(
  entry: LogEntry,
  profile: CodeProfile,
  [error, description]: [string, string],
  cause: string,
  consoleLines?: string[],
): LogEntry {
  return {
    ...commonFields(entry),
    type: 'fecte',
    description,
    details: {
      subject_token_type: profile.subjectTokenType,
      profile_id: profile.profileId,
      action_id: profile.actionId,
      ...(consoleLines ? { console: consoleLines } : {}),
      error,
      error_description: description,
      cause,
    },
  };
}

/** The `fecte` entry of an action failure: the generic 500 plus the private cause. */
function failureEntry(
  entry: LogEntry,
  profile: CodeProfile,
  cause: string,
  consoleLines?: string[],
): LogEntry {
  const serverError: [string, string] = [SERVER_ERROR.error, SERVER_ERROR.error_description];
  return fecteEntry(entry, profile, serverError, cause, consoleLines);
}

describe('POST /oauth/token through sandboxed code actions (isolated-vm)', function () {
  this.timeout(20_000);
  const peers = sandboxPeers();
  let server: TestServer;
  beforeEach(async () => {
    server = await testServer({ sandbox: true });
  });
  afterEach(async () => {
    await server.cte.close();
    peers.hold.release();
  });

  /** An exchange of `token` as `type` that must be answered within `ms`. */
  async function exchangeWithin(ms: number, type: string, token: string): Promise<Response> {
    const started = Date.now();
    const res = await exchange(server, type, token);
    expect(Date.now() - started).to.be.below(ms);
    return res;
  }

  /** The 503 of an action that may not run now, and its fecte entry (after `before` others). */
  async function expectBusy(
    res: Response,
    profile: CodeProfile,
    retryAfter: string,
    cause: string,
    before = 0,
  ): Promise<void> {
    expectOAuthError(res, 503, 'temporarily_unavailable', BUSY, { 'retry-after': retryAfter });
    const entry = await newestEntry(server, before);
    const busy: [string, string] = ['temporarily_unavailable', BUSY];
    expect(entry).to.deep.equal(
      fecteEntry(entry, profile, busy, `action ${profile.actionId}: ${cause}`),
    );
  }

  /** The 500 of an action that failed, and its fecte entry: `action <id> failed: <cause>`. */
  async function expectActionFailed(
    res: Response,
    profile: CodeProfile,
    cause: string,
    consoleLines?: string[],
  ): Promise<LogEntry> {
    expectServerError(res);
    const entry = await newestEntry(server);
    const failed = `action ${profile.actionId} failed: ${cause}`;
    expect(entry).to.deep.equal(failureEntry(entry, profile, failed, consoleLines));
    return entry;
  }

  describe('an action verifying an ES256 JWT against a JWKS on a local server', () => {
    const TYPE = 'urn:acme:legacy-idp-jwt';
    const code = `const { jwtVerify, createRemoteJWKSet } = require('jose');

exports.onExecuteCustomTokenExchange = async (event, api) => {
  const jwks = createRemoteJWKSet(new URL(event.secrets.JWKS_URL));
  let payload;
  try {
    ({ payload } = await jwtVerify(event.transaction.subject_token, jwks, {
      issuer: '${IDP_ISSUER}',
      audience: '${IDP_AUDIENCE}',
      algorithms: ['ES256'],
      typ: 'JWT',
    }));
  } catch (err) {
    if (err.code === 'ERR_JWT_EXPIRED') console.log('expired token:', err.code);
    else if (err.code === 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED') console.log('forged token:', err.code);
    else console.log('other failure:', err.code);
    api.access.rejectInvalidSubjectToken('the legacy IdP token is not valid');
    return;
  }
  api.authentication.setUserByConnection(
    'legacy-idp',
    { user_id: payload.sub, email: payload.sub + '@legacy-idp.example', email_verified: true },
    { creationBehavior: 'create_if_not_exists', updateBehavior: 'none' },
  );
};`;
    let profile: CodeProfile;
    beforeEach(async () => {
      profile = await deployCodeProfile(server.cte, {
        name: 'verify-legacy-idp-jwt',
        code,
        subjectTokenType: TYPE,
        secrets: { JWKS_URL: `${peers.idp.origin}/.well-known/jwks.json` },
        allowed_hosts: [peers.idp.host],
      });
    });

    const rejection = (entry: LogEntry, consoleLine: string): LogEntry => ({
      ...commonFields(entry),
      type: 'fecte',
      description: 'the legacy IdP token is not valid',
      details: {
        subject_token_type: TYPE,
        profile_id: profile.profileId,
        action_id: profile.actionId,
        console: [consoleLine],
        error: 'invalid_request',
        error_description: 'the legacy IdP token is not valid',
        cause: 'invalid subject token',
      },
    });

    it('issues tokens for a valid token: the access token verifies against the router JWKS', async () => {
      const jwksFetches = peers.idp.requests.filter(
        (r) => r.path === '/.well-known/jwks.json',
      ).length;
      const res = await exchange(server, TYPE, await peers.idp.token('jane-42'), {
        scope: 'openid read:orders',
      });
      expectIssued(res, {
        scope: 'openid read:orders',
        id_token: res.body.id_token,
      });

      const access = await verifyAccessToken(server, res.body.access_token);
      expect(access.protectedHeader).to.deep.equal({ alg: 'ES256', typ: 'at+jwt', kid: 'es-1' });
      const { iat, exp, jti } = access.payload;
      expect(exp! - iat!).to.equal(3600);
      expect(iat).to.be.closeTo(Math.floor(Date.now() / 1000), 10);
      expect(access.payload).to.deep.equal(
        appAccessClaims(access.payload, {
          sub: 'legacy-idp|jane-42',
          scope: 'openid read:orders',
        }),
      );
      const user = server.users.getByIdentity('legacy-idp', 'jane-42');
      expect(user?.email).to.equal('jane-42@legacy-idp.example');

      expect(await newestEntry(server)).to.deep.equal({
        ...commonFields(await newestEntry(server)),
        ...SECTE,
        scope: 'openid read:orders',
        user_id: 'legacy-idp|jane-42',
        user_name: 'jane-42@legacy-idp.example',
        connection: 'legacy-idp',
        details: {
          subject_token_type: TYPE,
          profile_id: profile.profileId,
          action_id: profile.actionId,
          access_token_jti: jti,
        },
      });
      // The JWKS was fetched on the host, from the local IdP.
      expect(peers.idp.requests.filter((r) => r.path === '/.well-known/jwks.json').length).to.equal(
        jwksFetches + 1,
      );
    });

    it("rejects an expired token with the action's reason, and the action saw ERR_JWT_EXPIRED", async () => {
      const token = await peers.idp.token('jane-42', { expiresInSeconds: -30 });
      const res = await exchange(server, TYPE, token);
      expectOAuthError(res, 400, 'invalid_request', 'the legacy IdP token is not valid');
      const entry = await newestEntry(server);
      expect(entry).to.deep.equal(rejection(entry, 'expired token: ERR_JWT_EXPIRED'));
    });

    it("rejects a token signed by another key with the action's reason, and the action saw the signature error", async () => {
      const token = await peers.idp.token('jane-42', { key: await foreignKey() });
      const res = await exchange(server, TYPE, token);
      expectOAuthError(res, 400, 'invalid_request', 'the legacy IdP token is not valid');
      const entry = await newestEntry(server);
      expect(entry).to.deep.equal(
        rejection(entry, 'forged token: ERR_JWS_SIGNATURE_VERIFICATION_FAILED'),
      );
      // Neither refusal left anything behind: a good token still exchanges.
      const good = await exchange(server, TYPE, await peers.idp.token('jane-42'));
      expectIssuedWithoutScope(good);
      const access = await verifyAccessToken(server, good.body.access_token);
      expect(access.payload.sub).to.equal('legacy-idp|jane-42');
    });
  });

  describe('failures of an action: 500 server_error within the limit, and the next exchange succeeds', () => {
    /** An action that sets alice for the subject token `ok` and does `body` otherwise. */
    const failing = (body: string) =>
      actionCode(`  if (event.transaction.subject_token === 'ok') {
    api.authentication.setUserById('auth0|alice');
    return;
  }
${body}`);

    it('a throw: the fecte cause names the line and column of the throw', async () => {
      const profile = await deployCodeProfile(server.cte, {
        name: 'throws-on-line-7',
        subjectTokenType: 'urn:acme:throws',
        // Line 1 is the export, lines 2-5 the `ok` branch, line 6 and 7 below.
        code: failing(`  const parts = event.transaction.subject_token.split('.');
  throw new Error('cannot parse a legacy token of ' + parts.length + ' parts');`),
      });
      const res = await exchange(server, profile.subjectTokenType, 'not-a-jwt');
      await expectActionFailed(
        res,
        profile,
        'Error: cannot parse a legacy token of 1 parts (line 7, column 9)',
      );
      expectIssuedWithoutScope(await exchange(server, profile.subjectTokenType, 'ok'));
      expect((await server.cte.logs.list())[0]!.type).to.equal('secte');
    });

    it('an infinite loop: stopped at its CPU budget (cpuTimeMs 50)', async () => {
      const profile = await deployCodeProfile(server.cte, {
        name: 'spins-forever',
        subjectTokenType: 'urn:acme:spins',
        code: failing('  for (;;) {}'),
        limits: { cpuTimeMs: 50 },
      });
      const res = await exchangeWithin(1_000, profile.subjectTokenType, 'spin');
      await expectActionFailed(res, profile, 'action exceeded its CPU budget of 50 ms');
      expectIssuedWithoutScope(await exchange(server, profile.subjectTokenType, 'ok'));
    });

    it('deep recursion: a RangeError, and the next exchange succeeds', async () => {
      const profile = await deployCodeProfile(server.cte, {
        name: 'recurses-forever',
        subjectTokenType: 'urn:acme:recurses',
        code: failing('  const dive = (n) => dive(n + 1) + 1;\n  dive(0);'),
      });
      const res = await exchangeWithin(1_000, profile.subjectTokenType, 'dive');
      expectServerError(res);
      const cause = (await newestEntry(server)).details.cause;
      expect(cause).to.match(
        new RegExp(
          `^action ${profile.actionId} failed: RangeError: Maximum call stack size exceeded \\(line 6, column \\d+\\)$`,
        ),
      );
      expectIssuedWithoutScope(await exchange(server, profile.subjectTokenType, 'ok'));
    });

    it("a memory bomb (memoryMb 16): fails its exchange only; another action's execution in flight is unaffected", async () => {
      const bystander = await deployCodeProfile(server.cte, {
        name: 'bystander',
        subjectTokenType: 'urn:acme:bystander',
        code: actionCode(`  const kept = 'auth0|alice';
  const answer = await fetch('${peers.hold.origin}/hold/bystander');
  console.log('bystander resumed', answer.status);
  api.authentication.setUserById(kept);`),
        allowed_hosts: [peers.hold.host],
      });
      const bomb = await deployCodeProfile(server.cte, {
        name: 'memory-bomb',
        subjectTokenType: 'urn:acme:memory-bomb',
        code: failing(
          '  const hoard = [];\n  for (;;) hoard.push(new Array(100000).fill(hoard.length));',
        ),
        limits: { memoryMb: 16, cpuTimeMs: 5_000 },
      });
      const seen = peers.hold.requests.length;
      const inFlight = exchange(server, bystander.subjectTokenType, 'anything');
      await peers.hold.waitForRequests(seen + 1);

      const res = await exchangeWithin(5_000, bomb.subjectTokenType, 'explode');
      await expectActionFailed(
        res,
        bomb,
        'action exceeded its memory limit of 16 MB (its isolate was disposed and is replaced for the next execution)',
      );

      expect(peers.hold.release('/hold/bystander')).to.equal(1);
      const survived = await inFlight;
      expectIssuedWithoutScope(survived);
      expect((await server.cte.logs.list())[0]!.details.console).to.deep.equal([
        'bystander resumed 200',
      ]);

      // The bomb's isolate was replaced: the same profile works again.
      expectIssuedWithoutScope(await exchange(server, bomb.subjectTokenType, 'ok'));
      expect((await server.cte.logs.list()).map((e) => e.type)).to.deep.equal([
        'secte',
        'secte',
        'fecte',
      ]);
    });

    it('a new version whose context no longer fits in the isolate (an exchange in flight holds 17 of its 16 MB): both exchanges fail, the next succeeds', async () => {
      // isolated-vm stops running code only past the limit plus V8's young generation, but checks
      // the heap against the limit itself after creating a context.
      const holds = (marker: string) =>
        failing(`  // ${marker}
  const hoard = [];
  for (let i = 0; i < (17 * 1024 * 1024) / 8 / 10000; i++) hoard.push(new Array(10000).fill(i + 0.5));
  await fetch('${peers.hold.origin}/hold/hoard');
  api.authentication.setUserById('auth0|' + hoard.length);`);
      const profile = await deployCodeProfile(server.cte, {
        name: 'memory-holder',
        subjectTokenType: 'urn:acme:memory-holder',
        code: holds('version 1'),
        allowed_hosts: [peers.hold.host],
        limits: { memoryMb: 16, cpuTimeMs: 5_000 },
      });
      const seen = peers.hold.requests.length;
      const holding = exchange(server, profile.subjectTokenType, 'hold');
      await peers.hold.waitForRequests(seen + 1);
      await server.cte.actions.update(profile.actionId, { code: holds('version 2') });
      expect((await server.cte.actions.deploy(profile.actionId)).deployed_version?.number).to.equal(
        2,
      );

      expectServerError(await exchangeWithin(5_000, profile.subjectTokenType, 'ok'));
      // The exchange holding the memory lost the isolate with it, without waiting for its fetch.
      expectServerError(await holding);
      const entries = await server.cte.logs.list();
      expect(entries).to.have.length(2);
      for (const cause of [
        'the sandbox ran out of memory preparing the action (memory limit 16 MB)',
        'action exceeded its memory limit of 16 MB (its isolate was disposed and is replaced for the next execution)',
      ]) {
        const failed = `action ${profile.actionId} failed: ${cause}`;
        const entry = entries.find((item) => item.details.cause === failed);
        expect(entry, failed).to.not.equal(undefined);
        expect(entry).to.deep.equal(failureEntry(entry!, profile, failed));
      }

      expectIssuedWithoutScope(await exchange(server, profile.subjectTokenType, 'ok'));
      expect((await server.cte.logs.list()).map((e) => e.type)).to.deep.equal([
        'secte',
        'fecte',
        'fecte',
      ]);
    });

    it('a host call that never settles: a fetch to a server that never answers ends at timeoutMs 300', async () => {
      const profile = await deployCodeProfile(server.cte, {
        name: 'waits-forever',
        subjectTokenType: 'urn:acme:waits',
        code: failing(`  await fetch('${peers.hold.origin}/never');
  api.authentication.setUserById('auth0|alice');`),
        allowed_hosts: [peers.hold.host],
        limits: { timeoutMs: 300 },
      });
      const seen = peers.hold.requests.length;
      const started = Date.now();
      const res = await exchange(server, profile.subjectTokenType, 'wait');
      expect(Date.now() - started).to.be.within(280, 2_000);
      expectServerError(res);
      // The request did reach the server: it is the answer that never came.
      expect(peers.hold.requests.slice(seen)).to.deep.equal(['/never']);
      const entry = await newestEntry(server);
      // Three timers expire together: the runner's wall-clock deadline, the capability's deadline
      // and the fetch's own deadline-bound timeout; whichever fires first words the cause (see
      // the report), and each says the execution ran out of time.
      expect(entry).to.deep.equal(failureEntry(entry, profile, entry.details.cause!));
      expect(entry.details.cause).to.match(
        new RegExp(
          `^action ${profile.actionId} failed: (` +
            [
              'action exceeded its wall-clock deadline of 300 ms \\(still waiting for fetch\\)',
              "CapabilityError: fetch did not finish before the action's deadline",
              `CapabilityError: fetch to ${peers.hold.origin.replace(/\./g, '\\.')} timed out after \\d+ ms`,
            ].join('|') +
            ')$',
        ),
      );
      expectIssuedWithoutScope(await exchange(server, profile.subjectTokenType, 'ok'));
    });

    it('huge console output: bounded in the log; the action, which never stops, ends at its CPU budget', async () => {
      const profile = await deployCodeProfile(server.cte, {
        name: 'floods-the-console',
        subjectTokenType: 'urn:acme:floods',
        code: failing(`  console.log('y'.repeat(1024 * 1024));
  for (let i = 0; i < 3000; i++) console.error('x'.repeat(10000), i);
  for (;;) {}`),
        limits: { cpuTimeMs: 300 },
      });
      const res = await exchangeWithin(3_000, profile.subjectTokenType, 'flood');
      const entry = await expectActionFailed(
        res,
        profile,
        'action exceeded its CPU budget of 300 ms',
        [
          'y'.repeat(256),
          ...Array<string>(99).fill('x'.repeat(256)),
          '2901 more console lines dropped (at most 100 are kept)',
        ],
      );
      expect(JSON.stringify(entry).length).to.be.below(30_000);
      expectIssuedWithoutScope(await exchange(server, profile.subjectTokenType, 'ok'));
    });
  });

  describe('an action that keeps running away (3 CPU-budget stops in a row)', () => {
    it('is suspended: 503 temporarily_unavailable with Retry-After 10 at once, until fixed', async () => {
      const profile = await deployCodeProfile(server.cte, {
        name: 'runaway',
        subjectTokenType: 'urn:acme:runaway',
        code: actionCode('  for (;;) {}'),
        limits: { cpuTimeMs: 20 },
      });
      for (let i = 0; i < 3; i += 1) {
        expectServerError(await exchange(server, profile.subjectTokenType, `spin-${i}`));
      }
      const refused = await exchangeWithin(200, profile.subjectTokenType, 'ok');
      await expectBusy(
        refused,
        profile,
        '10',
        `action ${profile.actionId} is suspended for this caller for 10 s: its last 3 executions ran until the sandbox stopped them (CPU budget or memory limit)`,
        3,
      );
      // A fixed version deployed: the suspension is lifted at once.
      await server.cte.actions.update(profile.actionId, {
        code: actionCode("  api.authentication.setUserById('auth0|alice');"),
      });
      await server.cte.actions.deploy(profile.actionId);
      expectIssuedWithoutScope(await exchange(server, profile.subjectTokenType, 'ok'));
    });
  });

  describe('over the concurrency cap (maxConcurrency 1)', () => {
    it('answers 503 temporarily_unavailable with Retry-After, and both requests succeed later', async () => {
      const profile = await deployCodeProfile(server.cte, {
        name: 'one-at-a-time',
        subjectTokenType: 'urn:acme:one-at-a-time',
        code: actionCode(`  console.log('started', event.transaction.subject_token);
  await fetch('${peers.hold.origin}/hold/' + event.transaction.subject_token);
  api.authentication.setUserById('auth0|alice');`),
        allowed_hosts: [peers.hold.host],
        limits: { maxConcurrency: 1 },
      });
      const seen = peers.hold.requests.length;
      const first = exchange(server, profile.subjectTokenType, 'first');
      await peers.hold.waitForRequests(seen + 1);

      const refused = await exchange(server, profile.subjectTokenType, 'second');
      await expectBusy(
        refused,
        profile,
        '1',
        `action ${profile.actionId} already runs 1 executions (maxConcurrency 1)`,
      );
      // Nothing of the refused request ran: only the first one reached the server.
      expect(peers.hold.requests.slice(seen)).to.deep.equal(['/hold/first']);

      expect(peers.hold.release('/hold/first')).to.equal(1);
      expectIssuedWithoutScope(await first);
      const retried = exchange(server, profile.subjectTokenType, 'second');
      await peers.hold.waitForRequests(seen + 2);
      expect(peers.hold.release('/hold/second')).to.equal(1);
      expectIssuedWithoutScope(await retried);
      expect((await server.cte.logs.list()).map((e) => [e.type, e.details.console])).to.deep.equal([
        ['secte', ['started second']],
        ['secte', ['started first']],
        ['fecte', undefined],
      ]);
    });
  });

  describe('secrets redaction in the tenant log', () => {
    const TYPE = 'urn:acme:leaky';
    const code = actionCode(`  const subject = event.transaction.subject_token;
  const actor = event.transaction.actor_token;
  const key = event.secrets.API_KEY;
  console.log('subject token:', subject);
  console.log('api key:', key);
  console.log('actor token:', actor);
  console.log('fragments:', subject.slice(7, 23), '|', key.slice(4, 20), '|', actor.slice(1, 17));
  console.log('request body:', JSON.stringify(event.request.body));
  if (event.request.body.outcome === 'throw') {
    throw new Error('cannot use ' + subject + ' with ' + key);
  }
  api.authentication.setUserById('auth0|alice');`);

    /** Every full value, and every 16-character window of it. */
    const needles = (values: string[]): string[] =>
      values.flatMap((value) => [
        value,
        ...Array.from({ length: value.length - 15 }, (_, i) => value.slice(i, i + 16)),
      ]);
    const leaks = (text: string, values: string[]): string[] =>
      needles(values).filter((needle) => text.includes(needle));

    it('keeps tokens, secrets, client secret and assertion (and 16-character fragments) out of fecte and secte', async () => {
      const subject = `legacy-${randomBytes(24).toString('hex')}`;
      const actor = `agent-${randomBytes(24).toString('hex')}`;
      const apiKey = `sk_live_${randomBytes(16).toString('hex')}`;
      const profile = await deployCodeProfile(server.cte, {
        name: 'leaky-action',
        code,
        subjectTokenType: TYPE,
        secrets: { API_KEY: apiKey },
      });
      const actorParams = { actor_token: actor, actor_token_type: 'urn:acme:agent-token' };

      // 1. app with Basic credentials, the action throws with the token in its message.
      const failed = await exchange(server, TYPE, subject, { ...actorParams, outcome: 'throw' });
      expectServerError(failed);
      const fecte = await newestEntry(server);
      const expectedConsole = [
        'subject token: [redacted]',
        'api key: [redacted]',
        'actor token: [redacted]',
        'fragments: [redacted] | [redacted] | [redacted]',
        'request body: {"outcome":"throw"}',
      ];
      expect(fecte).to.deep.equal(
        failureEntry(
          fecte,
          profile,
          `action ${profile.actionId} failed: Error: cannot use [redacted] with [redacted] (line 11, column 11)`,
          expectedConsole,
        ),
      );

      // 2. jwt-app with a private_key_jwt assertion, the action succeeds.
      const assertion = await clientAssertion();
      const succeeded = await exchange(
        server,
        TYPE,
        subject,
        { ...actorParams, outcome: 'issue', client_id: 'jwt-app', ...assertionParams(assertion) },
        '',
      );
      expect(succeeded.status, JSON.stringify(succeeded.body)).to.equal(200);
      const secte = await newestEntry(server, 1);
      expect(secte.type).to.equal('secte');
      expect(secte.client_id).to.equal('jwt-app');
      expect(secte.details.console).to.deep.equal([
        ...expectedConsole.slice(0, 4),
        'request body: {"outcome":"issue"}',
      ]);

      const values = [subject, actor, apiKey, SECRET, assertion];
      for (const entry of [fecte, secte]) {
        const json = JSON.stringify(entry);
        expect(leaks(json, values)).to.deep.equal([]);
        expect(json).to.include('[redacted]');
      }
      expect(leaks(JSON.stringify(await server.cte.logs.list()), values)).to.deep.equal([]);
      expect(leaks(JSON.stringify(failed.body), values)).to.deep.equal([]);
    });
  });

  describe('no state leaks between executions', () => {
    it('a second execution finds nothing of the first in globals, module state or Object.prototype', async () => {
      const profile = await deployCodeProfile(server.cte, {
        name: 'leaves-traces',
        subjectTokenType: 'urn:acme:traces',
        code: `let counter = 0;
const loadsBefore = typeof globalThis.moduleLoads;
exports.onExecuteCustomTokenExchange = async (event, api) => {
  counter += 1;
  const found = {
    counter,
    loadsBefore,
    seen: typeof globalThis.seen,
    polluted: typeof ({}).polluted,
  };
  const attempts = [];
  try { globalThis.seen = event.transaction.subject_token; attempts.push('global:' + typeof globalThis.seen); } catch (err) { attempts.push('global:' + err.name); }
  try { globalThis.moduleLoads = 1; attempts.push('loads:' + typeof globalThis.moduleLoads); } catch (err) { attempts.push('loads:' + err.name); }
  try { Object.prototype.polluted = 'yes'; attempts.push('proto:' + typeof ({}).polluted); } catch (err) { attempts.push('proto:' + err.name); }
  console.log(JSON.stringify(found));
  api.authentication.setUserById('auth0|alice');
  api.user.setAppMetadata('found', found);
};`,
      });
      const run = async (token: string) => {
        expectIssuedWithoutScope(await exchange(server, profile.subjectTokenType, token));
        const alice = server.users.getById('auth0|alice');
        return {
          found: alice!.app_metadata.found,
          console: (await server.cte.logs.list())[0]!.details.console,
        };
      };
      const clean = {
        counter: 1,
        loadsBefore: 'undefined',
        seen: 'undefined',
        polluted: 'undefined',
      };
      const first = await run('first-run');
      expect(first).to.deep.equal({ found: clean, console: [JSON.stringify(clean)] });
      const second = await run('second-run');
      expect(second).to.deep.equal(first);
      // Nothing reached the host either.
      expect(({} as Record<string, unknown>).polluted).to.equal(undefined);
      expect((globalThis as Record<string, unknown>).seen).to.equal(undefined);
    });
  });

  describe('deploy during traffic', () => {
    it('finishes a request in flight on the version it started with; new requests run the new one', async () => {
      const TYPE = 'urn:acme:versioned';
      const version = (n: number, body = '') =>
        actionCode(`${body}  console.log('running version ${n}');
  api.authentication.setUserByConnection(
    'legacy',
    { user_id: 'v${n}-user' },
    { creationBehavior: 'create_if_not_exists', updateBehavior: 'none' },
  );`);
      const profile = await deployCodeProfile(server.cte, {
        name: 'versioned',
        subjectTokenType: TYPE,
        code: version(1, `  await fetch('${peers.hold.origin}/hold/v1');\n`),
        allowed_hosts: [peers.hold.host],
      });
      const seen = peers.hold.requests.length;
      const onVersion1 = exchange(server, TYPE, 'first');
      await peers.hold.waitForRequests(seen + 1);

      await server.cte.actions.update(profile.actionId, { code: version(2) });
      const deployed = await server.cte.actions.deploy(profile.actionId);
      expect(deployed.deployed_version?.number).to.equal(2);

      const onVersion2 = await exchange(server, TYPE, 'second');
      expectIssuedWithoutScope(onVersion2);
      expect((await verifyAccessToken(server, onVersion2.body.access_token)).payload.sub).to.equal(
        'legacy|v2-user',
      );
      expect((await server.cte.logs.list())[0]!.details.console).to.deep.equal([
        'running version 2',
      ]);

      expect(peers.hold.release('/hold/v1')).to.equal(1);
      const finished = await onVersion1;
      expectIssuedWithoutScope(finished);
      expect((await verifyAccessToken(server, finished.body.access_token)).payload.sub).to.equal(
        'legacy|v1-user',
      );
      expect((await server.cte.logs.list())[0]!.details.console).to.deep.equal([
        'running version 1',
      ]);

      // Version 1 is gone for new requests.
      const later = await exchange(server, TYPE, 'third');
      expect((await verifyAccessToken(server, later.body.access_token)).payload.sub).to.equal(
        'legacy|v2-user',
      );
      expect(peers.hold.requests.slice(seen)).to.deep.equal(['/hold/v1']);
    });
  });

  describe('a syntax error at create time', () => {
    it('throws ManagementError invalid_body with the line and column, and creates nothing', async () => {
      const before = (await server.cte.actions.list()).length;
      const attempt = server.cte.actions.create({
        name: 'broken',
        code: actionCode(`  const token = event.transaction.subject_token;
  const parts = token.split('.'));
  api.authentication.setUserById(parts[0]);`),
      });
      const err = await attempt.then(
        () => undefined,
        (error: unknown) => error,
      );
      expect(err).to.be.instanceOf(ManagementError);
      expect((err as ManagementError).code).to.equal('invalid_body');
      expect((err as ManagementError).status).to.equal(400);
      expect((err as ManagementError).message).to.equal(
        "SyntaxError: Unexpected token ')' (line 3, column 33)",
      );
      expect(await server.cte.actions.list()).to.have.length(before);
    });
  });

  describe('the fetch allow-list', () => {
    it('refuses a host outside allowed_hosts with ERR_FETCH_HOST_NOT_ALLOWED; the exchange ends as the action decided', async () => {
      const profile = await deployCodeProfile(server.cte, {
        name: 'fetches-two-hosts',
        subjectTokenType: 'urn:acme:fetches',
        code: actionCode(`  const allowed = await fetch('${peers.idp.origin}/echo');
  console.log('allowed host answered', allowed.status);
  try {
    await fetch('${peers.hold.origin}/profile');
  } catch (err) {
    console.log('fetch refused:', err.code, err.message);
    if (event.request.body.on_refusal === 'deny') {
      api.access.deny('access_denied', 'the profile service may not be called');
      return;
    }
  }
  api.authentication.setUserById('auth0|alice');`),
        // The IdP only: the hold server is on the same address, another port.
        allowed_hosts: [peers.idp.host],
      });
      const holdSeen = peers.hold.requests.length;
      const refusedLine = `fetch refused: ERR_FETCH_HOST_NOT_ALLOWED fetch: ${peers.hold.host} is not in the action's allowed_hosts`;

      const denied = await exchange(server, profile.subjectTokenType, 'token', {
        on_refusal: 'deny',
      });
      const deniedError: [string, string] = [
        'access_denied',
        'the profile service may not be called',
      ];
      expectOAuthError(denied, 400, ...deniedError);
      const entry = await newestEntry(server);
      expect(entry).to.deep.equal(
        fecteEntry(entry, profile, deniedError, `denied by the action ${profile.actionId}`, [
          'allowed host answered 200',
          refusedLine,
        ]),
      );

      // The same refusal, caught and ignored by the action: the exchange succeeds.
      expectIssuedWithoutScope(await exchange(server, profile.subjectTokenType, 'token'));
      expect((await server.cte.logs.list())[0]!.details.console).to.deep.equal([
        'allowed host answered 200',
        refusedLine,
      ]);
      // No connection was ever made to the host that is not allowed.
      expect(peers.hold.requests.slice(holdSeen)).to.deep.equal([]);
    });
  });
});
