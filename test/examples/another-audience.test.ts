import { expect } from 'chai';
import {
  STARTUP_TIMEOUT_MS,
  exampleExchangeEntry,
  exampleSuccessEntry,
  exampleReader,
  expectNoStore,
  expectExampleIssued,
  expectExampleRefused,
  invalidSubjectToken,
  postForm,
  partnerSignIn,
  runningExample,
} from '../support/example-http.js';
import type { Json } from '../support/example-http.js';
import { GRANT } from '../support/fixtures.js';

const PARTNER_TOKEN_TYPE = 'urn:acme:partner-id-token';
const ORDERS_TOKEN_TYPE = 'urn:acme:orders-api-access-token';
const ORDERS_API = 'https://orders.acme.example/api';
const INVOICES_API = 'https://invoices.acme.example/api';
const WEB_CLIENT_ID = 'acme-web';
const SERVICE_CLIENT_ID = 'orders-service';
/** What every log entry of the Orders service's step 2 exchanges shares. */
const SERVICE_EXCHANGE = exampleExchangeEntry(
  { id: SERVICE_CLIENT_ID, name: 'Orders service' },
  ORDERS_TOKEN_TYPE,
  { audience: INVOICES_API, scope: 'read:invoices' },
);
const NOT_AN_ORDERS_TOKEN = 'the subject token is not a valid Orders API access token';

describe('examples/another-audience end to end (an API A token for an API B token)', function () {
  this.timeout(STARTUP_TIMEOUT_MS);
  const server = runningExample('examples/another-audience/server.ts');
  const { verify, latestLog, accessClaims } = exampleReader(() => server.origin);
  let partnerToken: string;
  let serviceCredentials: string;
  /** Sam's Orders API token (scope read:orders read:invoices), from step 1. */
  let ordersToken: string;
  /** The Invoices API token step 2 issued for it. */
  let invoicesToken: string;

  before(() => {
    const stdout = server.stdout;
    const token = /^\s+-d subject_token=(\S+) \\$/m.exec(stdout)?.[1];
    const credentials = /^\s+-u (\S+) \\$/m.exec(stdout)?.[1];
    if (token === undefined || credentials === undefined) {
      throw new Error(`the example did not print its commands:\n${stdout}`);
    }
    partnerToken = token;
    serviceCredentials = credentials;
  });

  /** Step 1, as the web app: a partner ID token for an Orders API token. */
  async function webAppExchange(subjectToken: string, scope: string) {
    return post(
      {
        client_id: WEB_CLIENT_ID,
        subject_token_type: PARTNER_TOKEN_TYPE,
        subject_token: subjectToken,
        audience: ORDERS_API,
        scope,
      },
      {},
    );
  }

  /** Step 2, as the Orders service: an Orders API token for an Invoices API token. */
  async function serviceExchange(subjectToken: string, scope = 'read:invoices') {
    return post(
      {
        subject_token_type: ORDERS_TOKEN_TYPE,
        subject_token: subjectToken,
        audience: INVOICES_API,
        scope,
      },
      { authorization: `Basic ${Buffer.from(serviceCredentials).toString('base64')}` },
    );
  }

  async function post(params: Record<string, string>, headers: Record<string, string>) {
    return postForm(`${server.origin}/oauth/token`, { grant_type: GRANT, ...params }, headers);
  }

  async function signIn(user: Json): Promise<string> {
    return partnerSignIn(server.origin, user);
  }

  /** Verifies `token` as Sam's access token for `audience`, of `clientId` and `scope` alone. */
  async function expectSamsToken(token: string, audience: string, clientId: string, scope: string) {
    const claims = await verify(token, audience, 'at+jwt');
    expect(claims).to.deep.equal(
      accessClaims(claims, { sub: 'partner|p-2002', aud: audience, client_id: clientId, scope }),
    );
    return claims;
  }

  /** Step 2 refused the subject token: 400 invalid_request and the fecte entry. */
  async function expectRejected(subjectToken: string, description: string, consoleLine: string) {
    const { res, body } = await serviceExchange(subjectToken);
    expectExampleRefused(res, body, await latestLog(), {
      ...invalidSubjectToken(description, consoleLine),
      ...SERVICE_EXCHANGE,
    });
  }

  it('prints both steps for its own port', () => {
    const stdout = server.stdout;
    expect(stdout).to.include(
      `ORDERS_TOKEN=$(curl -s ${server.origin}/oauth/token \\\n  -d client_id=${WEB_CLIENT_ID} \\`,
    );
    expect(stdout).to.include(
      `-d audience=${ORDERS_API} \\\n  -d 'scope=read:orders read:invoices' \\`,
    );
    expect(stdout).to.include(
      `curl -s ${server.origin}/oauth/token \\\n  -u ${serviceCredentials} \\`,
    );
    expect(stdout).to.include(
      `-d subject_token_type=${ORDERS_TOKEN_TYPE} \\\n  -d "subject_token=$ORDERS_TOKEN" \\`,
    );
    expect(serviceCredentials).to.match(/^orders-service:\S+$/);
  });

  it('step 1: the web app gets an Orders API token for partner|p-2002', async () => {
    const { res, body } = await webAppExchange(partnerToken, 'read:orders read:invoices');
    expectExampleIssued(res, body, {
      scope: 'read:orders read:invoices',
    });
    ordersToken = String(body.access_token);
    await expectSamsToken(ordersToken, ORDERS_API, WEB_CLIENT_ID, 'read:orders read:invoices');
  });

  it('step 2: the Orders service exchanges it for an Invoices API token with the same sub', async () => {
    const { res, body } = await serviceExchange(ordersToken);
    expectExampleIssued(res, body, { expires_in: 600, scope: 'read:invoices' });
    invoicesToken = String(body.access_token);
    const claims = await expectSamsToken(
      invoicesToken,
      INVOICES_API,
      SERVICE_CLIENT_ID,
      'read:invoices',
    );
    expect(claims.exp! - claims.iat!).to.equal(600);
    const entry = await latestLog();
    expect(entry).to.deep.equal(
      exampleSuccessEntry(
        entry,
        SERVICE_EXCHANGE,
        { user_id: 'partner|p-2002', user_name: 'sam@partner.example' },
        { access_token_jti: claims.jti },
      ),
    );
  });

  it("the Invoices token carries only what the Orders service's grant allows (no write:invoices)", async () => {
    const { res, body } = await serviceExchange(ordersToken, 'read:invoices write:invoices');
    expect(res.status, JSON.stringify(body)).to.equal(200);
    expect(body.scope).to.equal('read:invoices');
    expect(await verify(String(body.access_token), INVOICES_API, 'at+jwt')).to.include({
      sub: 'partner|p-2002',
      scope: 'read:invoices',
    });
  });

  it('an Orders token without read:invoices is rejected', async () => {
    const { body } = await webAppExchange(partnerToken, 'read:orders');
    expect(body.scope).to.equal('read:orders');
    await expectRejected(
      String(body.access_token),
      'the Orders API access token does not carry read:invoices',
      'Orders API token of partner|p-2002 has scope "read:orders"',
    );
  });

  it('an Invoices API token (aud B itself) is rejected', async () => {
    await expectRejected(
      invoicesToken,
      NOT_AN_ORDERS_TOKEN,
      'Orders API token refused: ERR_JWT_CLAIM_VALIDATION_FAILED: unexpected "aud" claim value',
    );
  });

  it("the router's own ID token (aud the web app, typ JWT) is rejected", async () => {
    const { body } = await webAppExchange(partnerToken, 'openid read:invoices');
    const idToken = String(body.id_token);
    expect(await verify(idToken, WEB_CLIENT_ID, 'JWT')).to.include({ sub: 'partner|p-2002' });
    await expectRejected(
      idToken,
      NOT_AN_ORDERS_TOKEN,
      'Orders API token refused: ERR_JWT_CLAIM_VALIDATION_FAILED: unexpected "typ" JWT header value',
    );
  });

  it("a token from another issuer (the partner's ID token) is rejected", async () => {
    const token = await signIn({ sub: 'p-2002', email: 'sam@partner.example' });
    await expectRejected(
      token,
      NOT_AN_ORDERS_TOKEN,
      'Orders API token refused: ERR_JWKS_NO_MATCHING_KEY: no applicable key found in the JSON Web Key Set',
    );
  });

  it('the web app cannot get an Invoices API token directly: its grant is for the Orders API only', async () => {
    const { res, body } = await post(
      {
        client_id: WEB_CLIENT_ID,
        subject_token_type: PARTNER_TOKEN_TYPE,
        subject_token: partnerToken,
        audience: INVOICES_API,
        scope: 'read:invoices',
      },
      {},
    );
    expect(res.status, JSON.stringify(body)).to.equal(400);
    expectNoStore(res);
    const description = 'the client is not allowed to access the requested audience';
    expect(body).to.deep.equal({ error: 'invalid_target', error_description: description });
    const entry = await latestLog();
    expect(entry).to.include({ type: 'fecte', client_id: WEB_CLIENT_ID, description });
    expect(entry.details).to.include({ error: 'invalid_target', error_description: description });
  });
});
