import express from 'express';
import type { Express } from 'express';
import { createLocalJWKSet, jwtVerify } from 'jose';
import type { JWTPayload, JWTVerifyResult } from 'jose';
import request from 'supertest';
import type { Response, Test } from 'supertest';
import { expect } from 'chai';
import type { LogEntry } from '../../lib/index.js';
import { mintAccessToken } from '../../lib/tokens/access-token.js';
import { ACCESS_TOKEN_TYPE, API, ISSUER, routerKeys, SECRET, basic, form } from './fixtures.js';
import { APP, NO_STORE } from './oauth-responses.js';

/** How {@link postToken} sends a request. */
export interface TokenRequestOptions {
  /** The `Authorization` header; `app`'s Basic credentials by default, none when ''. */
  auth?: string;
  userAgent?: string;
  /** More request headers (`X-Forwarded-For`, ...). */
  headers?: Record<string, string>;
}

/**
 * `POST /oauth/token` with `body` form-encoded (array values repeated): supertest's request, sent
 * when awaited (or `then`ed, to hold several in flight), its `expect` available.
 */
export function postToken(
  server: { app: Express },
  body: Record<string, string | string[]>,
  {
    auth = basic('app', SECRET),
    userAgent = 'cte-tests/1.0',
    headers = {},
  }: TokenRequestOptions = {},
): Test {
  const req = request(server.app).post('/oauth/token').set('User-Agent', userAgent).set(headers);
  if (auth) req.set('Authorization', auth);
  return req.type('form').send(form(body));
}

/** Verifies a token the router signed against its JWKS, for `audience`. */
export async function verifyToken(
  server: { app: Express },
  token: string,
  audience: string,
): Promise<JWTVerifyResult> {
  const jwks = await request(server.app).get('/.well-known/jwks.json').expect(200);
  return jwtVerify(token, createLocalJWKSet(jwks.body), { issuer: ISSUER, audience });
}

/** The newest entry of the router's tenant log; throws when there is none. */
export async function newestEntry(server: {
  cte: { logs: { list(): Promise<LogEntry[]> } };
}): Promise<LogEntry> {
  const [entry] = await server.cte.logs.list();
  if (entry === undefined) throw new Error('no log entry');
  return entry;
}

/**
 * Asserts a token exchange answered 200 with the no-store headers and exactly this body: an access
 * token of an hour, Bearer, then `rest` (`scope`, `id_token: res.body.id_token`, ...).
 */
export function expectIssued(res: Response, rest: Record<string, unknown>): void {
  expect(res.status, JSON.stringify(res.body)).to.equal(200);
  expect(res.headers).to.include(NO_STORE);
  expect(res.body).to.deep.equal({
    access_token: res.body.access_token,
    issued_token_type: ACCESS_TOKEN_TYPE,
    token_type: 'Bearer',
    expires_in: 3600,
    ...rest,
  });
}

/** Asserts a token endpoint refusal: `status`, the no-store headers and exactly `body`. */
export function expectRefusal(res: Response, status: number, body: Record<string, unknown>): void {
  expect(res.status, JSON.stringify(res.body)).to.equal(status);
  expect(res.headers).to.include(NO_STORE);
  expect(res.body).to.deep.equal(body);
}

/**
 * The claims an access token the router issued to `app` for the default API has, its own times and
 * id taken as they are; spread `rest` (`sub`, `scope`, custom claims) for the whole payload.
 */
export function appAccessClaims(payload: JWTPayload, rest: Record<string, unknown>) {
  const { iat, exp, jti } = payload;
  return { iss: ISSUER, aud: API, iat, exp, jti, client_id: 'app', ...rest };
}

/** `POST /oauth/token` of a refresh token grant, as {@link postToken} sends it (`app` by default). */
export function postRefresh(
  server: { app: Express },
  refreshToken: string,
  options: TokenRequestOptions = {},
): Test {
  return postToken(server, { grant_type: 'refresh_token', refresh_token: refreshToken }, options);
}

/**
 * `POST path` with `body` form-encoded (array values repeated), as `auth` (`app` by default, none
 * when null), with the User-Agent the log entries of these tests carry.
 */
export function postForm(
  app: Express,
  path: string,
  body: Record<string, string | string[]>,
  auth: string | null = APP,
): Test {
  const req = request(app).post(path).set('User-Agent', 'cte-tests/1.0');
  if (auth) req.set('Authorization', auth);
  return req.type('form').send(form(body));
}

/**
 * Mounts the host's own handler of `path` behind the router, as a host that serves the endpoint
 * for tokens that are not the router's: it records each form body it parses and answers
 * `{ host: true }`. Returns the record.
 */
export function hostEndpoint(app: Express, path: string): unknown[] {
  const received: unknown[] = [];
  app.post(path, express.urlencoded({ extended: false }), (req, res) => {
    received.push(req.body);
    res.status(200).json({ host: true });
  });
  return received;
}

/**
 * The claims of an ID token the router issued to `app`, its times taken as they are (ten hours of
 * life, authenticated when issued); spread `rest` (`sub`, profile claims) for the whole payload.
 */
export function appIdClaims(payload: JWTPayload, rest: Record<string, unknown>) {
  const { iat } = payload;
  return { iss: ISSUER, aud: 'app', iat, exp: iat! + 36000, auth_time: iat, ...rest };
}

/**
 * An access token for alice and `app` with the router's own keys and a minute of life, issued
 * `issuedSecondsAgo` ago: expired once that is over 60.
 */
export async function expiredAccessToken(issuedSecondsAgo: number): Promise<string> {
  const { token } = await mintAccessToken({
    issuer: ISSUER,
    audience: API,
    subject: 'auth0|alice',
    clientId: 'app',
    scope: ['read:orders'],
    lifetime: 60,
    alg: 'ES256',
    keys: await routerKeys(),
    now: Math.floor(Date.now() / 1000) - issuedSecondsAgo,
  });
  return token;
}
