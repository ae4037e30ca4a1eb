import { expect } from 'chai';
import { SignJWT, importJWK } from 'jose';
import request from 'supertest';
import type { LogEntry } from '../../lib/index.js';
import type { ManagementApiOptions } from '../../lib/management/management-options.js';
import type { CustomTokenExchangeOptions } from '../../lib/options.js';
import { ISSUER, testServer, testSigningKeys } from '../support/fixtures.js';
import type { TestServer } from '../support/fixtures.js';

/** The default audience of the API for {@link ISSUER}. */
export const MANAGEMENT_AUDIENCE = `${ISSUER}api/v2/`;

/** Every scope the API knows, for a token allowed everything. */
export const ALL_SCOPES = [
  'read:token_exchange_profiles',
  'create:token_exchange_profiles',
  'update:token_exchange_profiles',
  'delete:token_exchange_profiles',
  'read:actions',
  'create:actions',
  'update:actions',
  'delete:actions',
  'read:attack_protection',
  'update:attack_protection',
  'read:anomaly_blocks',
  'delete:anomaly_blocks',
  'read:logs',
  'read:organizations',
  'create:organizations',
  'update:organizations',
  'delete:organizations',
  'read:organization_members',
  'create:organization_members',
  'delete:organization_members',
  'read:roles',
  'create:roles',
  'update:roles',
  'delete:roles',
  'read:role_members',
  'create:role_members',
  'delete:role_members',
  'read:users',
  'update:users',
];

export interface ManagementServer extends TestServer {
  /** A bearer access token signed by the router's RS256 key (every scope unless `scope`). */
  token(claims?: Record<string, unknown>): Promise<string>;
  /** A supertest agent call with `Authorization` set to a token of every scope. */
  api: {
    get(path: string, token?: string): request.Test;
    post(path: string, body?: object, token?: string): request.Test;
    patch(path: string, body: object, token?: string): request.Test;
    delete(path: string, token?: string): request.Test;
  };
  /** The tenant-log entries of `type` so far, oldest first. */
  entries(type: LogEntry['type']): Promise<LogEntry[]>;
}

/**
 * The test server with the Management API mounted at `/api/v2` (default options unless
 * `managementOptions`), tokens for it signed with the router's own keys.
 */
export async function managementServer(
  overrides: Partial<CustomTokenExchangeOptions> = {},
  managementOptions?: ManagementApiOptions,
): Promise<ManagementServer> {
  const server = await testServer(overrides);
  server.app.use('/api/v2', server.cte.managementApi(managementOptions));
  const token = (claims: Record<string, unknown> = {}) =>
    signedToken({ scope: ALL_SCOPES.join(' '), ...claims });
  const everything = await token();
  const bearer = (given?: string) => `Bearer ${given ?? everything}`;
  const api: ManagementServer['api'] = {
    get: (path, given) =>
      request(server.app).get(`/api/v2${path}`).set('Authorization', bearer(given)),
    post: (path, body, given) => {
      const call = request(server.app).post(`/api/v2${path}`).set('Authorization', bearer(given));
      return body === undefined ? call : call.send(body);
    },
    patch: (path, body, given) =>
      request(server.app).patch(`/api/v2${path}`).set('Authorization', bearer(given)).send(body),
    delete: (path, given) =>
      request(server.app).delete(`/api/v2${path}`).set('Authorization', bearer(given)),
  };
  return {
    ...server,
    token,
    api,
    entries: async (type) => (await server.cte.logs.list({ type })).reverse(),
  };
}

/**
 * Registers the hooks that give each test of the enclosing describe block a fresh
 * {@link managementServer} (of the options `overrides` makes anew for each test) and close it
 * after the test. The returned object stands for the running test's server: every property read
 * goes to it.
 */
export function managementServerPerTest(
  overrides: () => Partial<CustomTokenExchangeOptions> = () => ({}),
): ManagementServer {
  let current: ManagementServer | undefined;
  beforeEach(async () => {
    current = await managementServer(overrides());
  });
  afterEach(async () => {
    await current?.cte.close();
    current = undefined;
  });
  return new Proxy({} as ManagementServer, {
    get(_target, key) {
      if (current === undefined) throw new Error('the management server is read outside a test');
      return Reflect.get(current, key) as unknown;
    },
  });
}

/**
 * A JWT access token for the Management API, signed with the router's RS256 key unless `key`
 * (a private JWK with `kid` and `alg`) is given; issuer, audience, `sub` and a 5-minute lifetime
 * by default.
 */
export async function signedToken(
  claims: Record<string, unknown> = {},
  key?: Record<string, unknown>,
): Promise<string> {
  const jwk = key ?? (await testSigningKeys()).find((candidate) => candidate.alg === 'RS256')!;
  const alg = jwk.alg as string;
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({
    iss: ISSUER,
    aud: MANAGEMENT_AUDIENCE,
    sub: 'admin@clients',
    azp: 'admin-tool',
    iat: now,
    exp: now + 300,
    ...claims,
  })
    .setProtectedHeader({ alg, kid: jwk.kid as string, typ: 'at+jwt' })
    .sign(await importJWK(jwk as never, alg));
}

/** Auth0's error body. */
export function apiError(statusCode: number, error: string, message: string, errorCode: string) {
  return { statusCode, error, message, errorCode };
}

/** Auth0's error body for a write whose If-Match names an ETag the resource no longer has. */
export const STALE_ETAG = apiError(
  412,
  'Precondition Failed',
  'The resource has changed since it was read (If-Match does not match its ETag).',
  'precondition_failed',
);

/**
 * Checks that `entry` is the audit entry of one request made with the default token: its type,
 * description, `request` as `METHOD /api/v2/path`, and status.
 */
export function expectAudit(
  entry: LogEntry | undefined,
  type: 'sapi' | 'fapi',
  description: string,
  request: `${string} /api/v2${string}`,
  status: number,
): void {
  const [method, path] = request.split(' ');
  expect(entry, 'audit entry').to.not.equal(undefined);
  expect(entry).to.include({ type, description, client_id: 'admin-tool' });
  expect(entry!.details.request).to.eql({
    method,
    path,
    auth: { subject: 'admin@clients', client_id: 'admin-tool', scopes: [...ALL_SCOPES].sort() },
  });
  expect(entry!.details.status_code).to.equal(status);
}
