/**
 * The fixture server with MFA: a post-exchange action whose behaviour each test sets, a verifier
 * that records its calls and answers what the test says, an API that allows offline access, and
 * clients `app` (Basic), `post-app` (body credentials) and `mfa-app` (`mfa_policy: 'always'`).
 */
import { expect } from 'chai';
import { createLocalJWKSet, jwtVerify } from 'jose';
import request from 'supertest';
import type { Response } from 'supertest';
import type { CustomTokenExchangeOptions, LogEntry, PostExchangeHandler } from '../../lib/index.js';
import type { MfaVerification, MfaVerificationResult } from '../../lib/mfa/mfa-options.js';
import { API, ISSUER, SECRET, basic, exchangeBody, form, testServer } from './fixtures.js';
import type { TestServer } from './fixtures.js';

export const MFA_OTP = 'http://auth0.com/oauth/grant-type/mfa-otp';
export const MFA_OOB = 'http://auth0.com/oauth/grant-type/mfa-oob';
export const MFA_SECRET = 'mfa-secret-shared-by-every-instance-0123';
export const MFA_USER_AGENT = 'cte-mfa-tests/1.0';
export const NO_STORE = { 'cache-control': 'no-store', pragma: 'no-cache' };
export const MFA_REQUIRED = {
  error: 'mfa_required',
  error_description: 'Multifactor authentication required',
};

export interface MfaHarness extends TestServer {
  /** Every verification the router asked for, in order. */
  verifications: MfaVerification[];
  /** What the verifier answers (or does) next; replaced per test. */
  verifier: { answer: (verification: MfaVerification) => Promise<MfaVerificationResult> };
  /** What the post-exchange action does; replaced per test. */
  behave: { current: PostExchangeHandler };
}

const CLIENT = {
  token_exchange: { allow_any_profile_of_type: ['custom_authentication'] },
};

/** The harness; `mfa` options beyond `verify` and `overrides` of the router options. */
export async function mfaServer(
  mfa: Record<string, unknown> = {},
  overrides: Partial<CustomTokenExchangeOptions> = {},
): Promise<MfaHarness> {
  const verifications: MfaVerification[] = [];
  const verifier: MfaHarness['verifier'] = { answer: async () => true };
  const server = await testServer({
    mfa: {
      verify: (verification) => {
        verifications.push(structuredClone(verification));
        return verifier.answer(verification);
      },
      secret: MFA_SECRET,
      ...mfa,
    },
    clients: [
      {
        client_id: 'app',
        client_secret: SECRET,
        name: 'First-party app',
        token_endpoint_auth_method: 'client_secret_basic',
        ...CLIENT,
      },
      {
        client_id: 'post-app',
        client_secret: SECRET,
        name: 'Post app',
        token_endpoint_auth_method: 'client_secret_post',
        ...CLIENT,
      },
      {
        client_id: 'mfa-app',
        client_secret: SECRET,
        name: 'MFA app',
        token_endpoint_auth_method: 'client_secret_basic',
        mfa_policy: 'always',
        ...CLIENT,
      },
    ],
    resourceServers: [
      {
        identifier: API,
        name: 'Orders API',
        scopes: [{ value: 'read:orders' }],
        signing_alg: 'ES256',
        token_lifetime: 3600,
        allow_offline_access: true,
      },
    ],
    ...overrides,
  });
  const behave: MfaHarness['behave'] = { current: () => undefined };
  const action = await server.cte.actions.create({
    name: 'mfa-hook',
    handler: { onExecutePostExchange: (event, api) => behave.current(event, api) },
  });
  await server.cte.actions.deploy(action.id);
  await server.cte.postExchange.set(action.id);
  return { ...server, verifications, verifier, behave };
}

/** POSTs a form to the token endpoint as `clientId` (Basic, or body credentials for post-app). */
export function tokenRequest(
  server: TestServer,
  body: Record<string, string>,
  clientId = 'app',
): Promise<Response> {
  const req = request(server.app)
    .post('/oauth/token')
    .set('User-Agent', MFA_USER_AGENT)
    .type('form');
  if (clientId === 'post-app') {
    return req.send(form({ ...body, client_id: clientId, client_secret: SECRET })).then((r) => r);
  }
  return req
    .set('Authorization', basic(clientId, SECRET))
    .send(form(body))
    .then((r) => r);
}

/** An exchange for alice; answers its `mfa_token` after checking the whole `mfa_required` answer. */
export async function mfaToken(
  server: TestServer,
  extra: Record<string, string> = {},
  clientId = 'app',
): Promise<string> {
  const res = await tokenRequest(server, exchangeBody(extra) as Record<string, string>, clientId);
  expect(res.status, JSON.stringify(res.body)).to.equal(403);
  expect(res.headers).to.include(NO_STORE);
  expect(res.body).to.deep.equal({ ...MFA_REQUIRED, mfa_token: res.body.mfa_token });
  expect(res.body.mfa_token).to.be.a('string');
  return res.body.mfa_token as string;
}

/** Redeems with `mfa-otp`. */
export function redeemOtp(
  server: TestServer,
  token: string,
  otp: string,
  clientId = 'app',
): Promise<Response> {
  return tokenRequest(server, { grant_type: MFA_OTP, mfa_token: token, otp }, clientId);
}

/** Verifies a token the router signed, against its JWKS. */
export async function verifyToken(server: TestServer, token: string, audience: string) {
  const jwks = await request(server.app).get('/.well-known/jwks.json').expect(200);
  return jwtVerify(token, createLocalJWKSet(jwks.body), { issuer: ISSUER, audience });
}

/** The newest tenant-log entry. */
export async function newestEntry(server: TestServer): Promise<LogEntry> {
  const entry = (await server.cte.logs.list())[0];
  expect(entry).not.to.equal(undefined);
  return entry!;
}
