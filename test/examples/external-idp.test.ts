import { expect } from 'chai';
import { SignJWT, generateKeyPair } from 'jose';
import type { JWTPayload } from 'jose';
import { freePort } from '../support/example-process.js';
import {
  STARTUP_TIMEOUT_MS,
  exampleExchangeEntry,
  exampleSuccessEntry,
  exampleReader,
  expectExampleIssued,
  expectExampleRefused,
  invalidSubjectToken,
  postForm,
  partnerSignIn,
  runningExample,
} from '../support/example-http.js';
import type { ExampleLogEntry, Json } from '../support/example-http.js';
import { GRANT } from '../support/fixtures.js';

const SUBJECT_TOKEN_TYPE = 'urn:acme:partner-id-token';
const API = 'https://api.acme.example/orders';
const CLIENT_ID = 'partner-spa';
const SCOPE = 'openid profile email read:orders';
const SPA_EXCHANGE = exampleExchangeEntry(
  { id: CLIENT_ID, name: 'Partner SPA' },
  SUBJECT_TOKEN_TYPE,
  {
    audience: API,
    scope: SCOPE,
  },
);

/** Jane's partner profile once she changed her name. */
const JANE_SMITH = {
  sub: 'p-1001',
  email: 'jane@partner.example',
  email_verified: true,
  name: 'Jane Smith',
  given_name: 'Jane',
  family_name: 'Smith',
};

describe('examples/external-idp end to end (a partner ID token for the partner connection)', function () {
  this.timeout(STARTUP_TIMEOUT_MS);
  let spaPort: number;
  before(async () => {
    spaPort = await freePort();
  });
  const server = runningExample('examples/external-idp/server.ts', {
    env: () => ({ SPA_PORT: String(spaPort) }),
  });
  const { getJson, verifyResult, latestLog, accessClaims, idClaims } = exampleReader(
    () => server.origin,
  );
  let spaOrigin: string;
  let bannerToken: string;

  before(() => {
    spaOrigin = `http://localhost:${spaPort}`;
    const match = /^\s+-d subject_token=(\S+) \\$/m.exec(server.stdout);
    if (match?.[1] === undefined)
      throw new Error(`no subject token in the banner:\n${server.stdout}`);
    bannerToken = match[1];
  });

  async function exchange(subjectToken: string) {
    return postForm(`${server.origin}/oauth/token`, {
      client_id: CLIENT_ID,
      grant_type: GRANT,
      subject_token_type: SUBJECT_TOKEN_TYPE,
      subject_token: subjectToken,
      audience: API,
      scope: SCOPE,
    });
  }

  /** The simulated partner's sign-in: an ID token for `user`. */
  async function signIn(user: Json): Promise<string> {
    return partnerSignIn(server.origin, user);
  }

  async function verify(token: string, audience: string, typ: string): Promise<JWTPayload> {
    const { payload, protectedHeader } = await verifyResult(token, audience, typ);
    expect(protectedHeader).to.deep.equal({ alg: 'ES256', typ, kid: 'router-es256-1' });
    return payload;
  }

  /** Checks a success: the body, both tokens, and the secte entry; returns the ID token claims. */
  async function expectTokensFor(res: Response, body: Json, sub: string): Promise<JWTPayload> {
    expectExampleIssued(res, body, {
      scope: SCOPE,
      id_token: body.id_token,
    });
    const access = await verify(String(body.access_token), API, 'at+jwt');
    expect(access).to.deep.equal(
      accessClaims(access, {
        sub,
        aud: API,
        exp: access.iat! + 3600,
        client_id: CLIENT_ID,
        scope: SCOPE,
      }),
    );
    const entry = await latestLog();
    expect(entry).to.deep.equal(
      exampleSuccessEntry(
        entry,
        SPA_EXCHANGE,
        { user_id: sub, user_name: 'jane@partner.example', connection: 'partner' },
        { access_token_jti: access.jti },
      ),
    );
    return verify(String(body.id_token), CLIENT_ID, 'JWT');
  }

  /** Checks a rejection of the subject token: 400 invalid_request and its fecte entry. */
  async function expectRejected(subjectToken: string, description: string, consoleLine: string) {
    const { res, body } = await exchange(subjectToken);
    expectExampleRefused(res, body, await latestLog(), {
      ...invalidSubjectToken(description, consoleLine),
      ...SPA_EXCHANGE,
    });
  }

  it('prints a curl command for its own port with a partner ID token for p-1001', () => {
    const stdout = server.stdout;
    expect(stdout).to.include(
      `curl -s ${server.origin}/oauth/token \\\n  -d client_id=${CLIENT_ID} \\`,
    );
    expect(stdout).to.include(`-d subject_token_type=${SUBJECT_TOKEN_TYPE} \\`);
    const [header, payload] = bannerToken
      .split('.')
      .slice(0, 2)
      .map((part) => JSON.parse(Buffer.from(part, 'base64url').toString()) as Json);
    expect(header).to.deep.equal({ alg: 'ES256', typ: 'JWT', kid: 'partner-key-1' });
    expect(payload).to.deep.equal({
      iss: `${server.origin}/partner/`,
      sub: 'p-1001',
      aud: 'acme-storefront',
      iat: payload!.iat,
      exp: payload!.exp,
      jti: payload!.jti,
      email: 'jane@partner.example',
      email_verified: true,
      name: 'Jane Doe',
      given_name: 'Jane',
      family_name: 'Doe',
    });
  });

  it('the first exchange creates partner|p-1001 from the ID token claims', async () => {
    expect(await getJson('/users')).to.deep.equal([]);
    const { res, body } = await exchange(bannerToken);
    const id = await expectTokensFor(res, body, 'partner|p-1001');
    expect(id).to.deep.equal(
      idClaims(id, {
        sub: 'partner|p-1001',
        aud: CLIENT_ID,
        name: 'Jane Doe',
        given_name: 'Jane',
        family_name: 'Doe',
        updated_at: id.updated_at,
        email: 'jane@partner.example',
        email_verified: true,
      }),
    );
    const users = await getJson<Json[]>('/users');
    expect(users).to.deep.equal([
      {
        user_id: 'partner|p-1001',
        email: 'jane@partner.example',
        email_verified: true,
        phone_verified: false,
        name: 'Jane Doe',
        given_name: 'Jane',
        family_name: 'Doe',
        identities: [
          { connection: 'partner', user_id: 'p-1001', provider: 'partner', isSocial: false },
        ],
        app_metadata: {},
        user_metadata: {},
        created_at: users[0]!.created_at,
        updated_at: users[0]!.updated_at,
        logins_count: 1,
      },
    ]);
  });

  it('a later exchange with a changed profile replaces it (same user_id, new name)', async () => {
    const [before] = await getJson<Json[]>('/users');
    const token = await signIn(JANE_SMITH);
    const { res, body } = await exchange(token);
    const id = await expectTokensFor(res, body, 'partner|p-1001');
    expect(id).to.deep.include({ name: 'Jane Smith', given_name: 'Jane', family_name: 'Smith' });
    const users = await getJson<Json[]>('/users');
    expect(users).to.deep.equal([
      {
        ...before,
        name: 'Jane Smith',
        family_name: 'Smith',
        updated_at: users[0]!.updated_at,
        logins_count: 2,
      },
    ]);
    expect(Date.parse(String(users[0]!.updated_at))).to.be.at.least(
      Date.parse(String(before!.updated_at)),
    );
  });

  it('the same partner ID token a second time is refused: 400 invalid_request and a fecte entry', async () => {
    const payload = JSON.parse(
      Buffer.from(bannerToken.split('.')[1]!, 'base64url').toString(),
    ) as Json;
    expect(payload.jti).to.match(/^[0-9a-f-]{36}$/);
    await expectRejected(
      bannerToken,
      'the partner ID token was already used',
      `partner ID token refused: jti ${String(payload.jti)} was already used`,
    );
  });

  it('an expired partner ID token is refused: 400 invalid_request and a fecte entry', async () => {
    const token = await signIn({
      sub: 'p-1001',
      email: 'jane@partner.example',
      issued_seconds_ago: 3600,
    });
    await expectRejected(
      token,
      'the partner ID token has expired',
      'partner ID token refused: ERR_JWT_EXPIRED: "exp" claim timestamp check failed',
    );
  });

  it('a token signed by a key the partner never published is refused', async () => {
    const { privateKey } = await generateKeyPair('ES256');
    const forge = (kid: string) =>
      new SignJWT({ email: 'mallory@partner.example' })
        .setProtectedHeader({ alg: 'ES256', typ: 'JWT', kid })
        .setIssuer(`${server.origin}/partner/`)
        .setSubject('p-1001')
        .setAudience('acme-storefront')
        .setIssuedAt()
        .setExpirationTime('10m')
        .sign(privateKey);
    await expectRejected(
      await forge('attacker-key'),
      'the partner ID token is invalid',
      'partner ID token refused: ERR_JWKS_NO_MATCHING_KEY: no applicable key found in the JSON Web Key Set',
    );
    // The partner's own kid does not help: the signature does not verify with its key.
    await expectRejected(
      await forge('partner-key-1'),
      'the partner ID token is invalid',
      'partner ID token refused: ERR_JWS_SIGNATURE_VERIFICATION_FAILED: signature verification failed',
    );
  });

  it('an ID token the partner issued to another app (wrong aud) is refused', async () => {
    const token = await signIn({
      sub: 'p-1001',
      email: 'jane@partner.example',
      audience: 'another-partner-app',
    });
    await expectRejected(
      token,
      'the partner ID token is invalid',
      'partner ID token refused: ERR_JWT_CLAIM_VALIDATION_FAILED: unexpected "aud" claim value',
    );
  });

  it('the refusals created no user and touched none', async () => {
    const users = await getJson<Json[]>('/users');
    expect(users.map((user) => [user.user_id, user.name, user.logins_count])).to.deep.equal([
      ['partner|p-1001', 'Jane Smith', 2],
    ]);
    const logs = await getJson<ExampleLogEntry[]>('/logs');
    expect(logs.map((entry) => entry.type)).to.deep.equal([
      'fecte',
      'fecte',
      'fecte',
      'fecte',
      'fecte',
      'secte',
      'secte',
    ]);
  });

  it('the partner’s single-page app, on another origin, exchanges through CORS', async () => {
    const page = await fetch(`${spaOrigin}/`);
    expect(page.status).to.equal(200);
    const html = await page.text();
    expect(html).to.include(`"tokenEndpoint":"${server.origin}/oauth/token"`);
    expect(html).to.include(`"clientId":"${CLIENT_ID}"`);

    // The page's sign-in is same-origin; its exchange is the cross-origin call a browser makes.
    const signIn = await fetch(`${spaOrigin}/partner/sign-in`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(JANE_SMITH),
    });
    const { id_token } = (await signIn.json()) as { id_token: string };
    const preflight = await fetch(`${server.origin}/oauth/token`, {
      method: 'OPTIONS',
      headers: {
        origin: spaOrigin,
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'content-type',
      },
    });
    expect(preflight.status).to.equal(204);
    expect(preflight.headers.get('access-control-allow-origin')).to.equal(spaOrigin);
    expect(preflight.headers.get('access-control-allow-methods')).to.equal('POST');

    const exchangeFrom = (pageOrigin: string) =>
      fetch(`${server.origin}/oauth/token`, {
        method: 'POST',
        headers: { origin: pageOrigin, 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({
          grant_type: GRANT,
          client_id: CLIENT_ID,
          subject_token_type: SUBJECT_TOKEN_TYPE,
          subject_token: id_token,
          audience: API,
          scope: SCOPE,
        }),
      });
    const res = await exchangeFrom(spaOrigin);
    expect(res.status).to.equal(200);
    expect(res.headers.get('access-control-allow-origin')).to.equal(spaOrigin);
    expect(((await res.json()) as Json).token_type).to.equal('Bearer');
    // A page of any other origin is answered too, but its browser may not read the answer.
    const elsewhere = await exchangeFrom('http://evil.localhost:1');
    expect(elsewhere.headers.get('access-control-allow-origin')).to.equal(null);
  });
});
