import type { Store } from 'express-rate-limit';
import { fail } from '../definition-checks.js';

/**
 * Options of `cte.managementApi(options)`. Every one is optional: without any, the API accepts
 * access tokens the router itself signed for the audience `<issuer>api/v2/`.
 */
export interface ManagementApiOptions {
  /**
   * The `aud` an access token must carry. Default: the router's issuer followed by `api/v2/`
   * (`https://auth.example.com/api/v2/`), as Auth0's Management API audience.
   */
  audience?: string;
  /** The `iss` an access token must carry. Default: the router's `issuer`. */
  issuer?: string;
  /**
   * Where the keys that sign access tokens are published: the JWKS URL of the authorization
   * server that issues them (fetched and cached by jose). Default: the router's own signing keys
   * (`cte.keys`), for tokens the router issued itself.
   */
  jwksUri?: string;
  /**
   * Requests each token subject (`sub`) may make per window, counted with express-rate-limit and
   * answered with Auth0's `X-RateLimit-Limit`, `-Remaining` and `-Reset` headers; `false` turns
   * the limit off (only when a proxy in front limits). Default `{ windowMs: 60_000, limit: 100 }`.
   * Give a shared `store` (rate-limit-redis) so the limit holds across instances.
   */
  rateLimit?: { windowMs?: number; limit?: number; store?: Store } | false;
}

/** The options validated, with their defaults. */
export interface ManagementApiConfig {
  audience: string;
  issuer: string;
  jwksUri: URL | undefined;
  rateLimit: { windowMs: number; limit: number; store: Store | undefined } | undefined;
}

const PATH = 'managementApi(options)';
const KNOWN = ['audience', 'issuer', 'jwksUri', 'rateLimit'];

/**
 * Validates the options once, when the API is created.
 *
 * @throws TypeError naming the option.
 */
export function parseManagementApiOptions(
  input: ManagementApiOptions | undefined,
  routerIssuer: string,
): ManagementApiConfig {
  const options = (input ?? {}) as Record<string, unknown>;
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    fail(PATH, 'must be an object');
  }
  for (const key of Object.keys(options)) {
    if (!KNOWN.includes(key)) fail(`${PATH}.${key}`, `is not an option (${KNOWN.join(', ')})`);
  }
  const issuer = optionalText(options.issuer, 'issuer') ?? routerIssuer;
  const audience =
    optionalText(options.audience, 'audience') ??
    `${routerIssuer.endsWith('/') ? routerIssuer : `${routerIssuer}/`}api/v2/`;
  const jwksText = optionalText(options.jwksUri, 'jwksUri');
  let jwksUri: URL | undefined;
  if (jwksText !== undefined) {
    if (!URL.canParse(jwksText) || !/^https?:$/.test(new URL(jwksText).protocol)) {
      fail(`${PATH}.jwksUri`, 'must be an http or https URL');
    }
    jwksUri = new URL(jwksText);
  }
  return { issuer, audience, jwksUri, rateLimit: parseRateLimit(options.rateLimit) };
}

function parseRateLimit(input: unknown): ManagementApiConfig['rateLimit'] {
  if (input === false) return undefined;
  const path = `${PATH}.rateLimit`;
  if (input !== undefined && (typeof input !== 'object' || input === null)) {
    fail(path, 'must be false or an object { windowMs, limit, store }');
  }
  const options = (input ?? {}) as Record<string, unknown>;
  for (const key of Object.keys(options)) {
    if (!['windowMs', 'limit', 'store'].includes(key)) {
      fail(`${path}.${key}`, 'is not an option (windowMs, limit, store)');
    }
  }
  const store = options.store as Store | undefined;
  if (store !== undefined && typeof (store as Partial<Store>)?.increment !== 'function') {
    fail(`${path}.store`, 'must be an express-rate-limit Store');
  }
  return {
    windowMs: integer(options.windowMs, `${path}.windowMs`, 60_000, 1000, 86_400_000),
    limit: integer(options.limit, `${path}.limit`, 100, 1, 1_000_000),
    store,
  };
}

function optionalText(value: unknown, name: string): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value === '') fail(`${PATH}.${name}`, 'must be a string');
  return value;
}

function integer(value: unknown, path: string, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    fail(path, `must be an integer from ${min} to ${max}`);
  }
  return value;
}
