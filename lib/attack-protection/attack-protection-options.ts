import type { Store } from 'express-rate-limit';
import {
  checkArray,
  checkKnownKeys,
  checkObject,
  checkOneOf,
  checkOptionalBoolean,
  checkOptionalInteger,
  checkString,
  fail,
} from '../definition-checks.js';
import { parseCidr } from '../sandbox/capabilities/ip-policy.js';
import type { AttemptStore } from '../stores/attempt-store.js';
import type { StoreErrorMode } from './store-failure-policy.js';

/**
 * Suspicious IP throttling (Auth0's `pre-custom-token-exchange` stage): every
 * `api.access.rejectInvalidSubjectToken` (and every invalid ID-token `actor_token`) costs the
 * caller's IP one attempt; an IP without attempts gets `429 too_many_attempts` for every custom
 * token exchange, before any action runs.
 *
 * Exact under concurrency: an exchange runs its action only while an attempt of its IP is held
 * for it in the store, so however many exchanges from one IP run at once, on however many
 * instances share the store, at most the attempts left can end in a rejection. The attempt goes
 * back when the token was valid. Exchanges beyond the attempts left wait for one in flight to end
 * (`queueLimit`, `queueTimeoutMs`), so a burst of valid tokens from one IP (a backend exchanging
 * for many users) is served, never refused for being many.
 */
export interface SuspiciousIpThrottlingOptions {
  /** Default `true`. */
  enabled?: boolean;
  /** Attempts an IP has when it has used none (Auth0's `max_attempts`). Default 10, 1–10 000. */
  maxAttempts?: number;
  /**
   * Milliseconds per attempt regained, one at a time (Auth0's `rate`). Default 600 000 (ten
   * minutes: six an hour), 1–86 400 000.
   */
  rate?: number;
  /** IPs and CIDRs that are never blocked (at most 100, as Auth0). Default none. */
  allowlist?: string[];
  /** IPv6 addresses count per network of this many bits. Default 64 (one host's /64), 32–64. */
  ipv6Subnet?: number;
  /**
   * Exchanges from one IP (or IPv6 network) that may wait, in this process, while every attempt
   * the IP has left is held by exchanges in flight; one more is refused with `503
   * temporarily_unavailable` and `Retry-After: 1`. Default 100 (a tenth of `maxExchangesInFlight`, so one IP cannot fill the router), 1–100 000.
   */
  queueLimit?: number;
  /**
   * Milliseconds an exchange may wait for an attempt of its IP to come free; it is then refused
   * with `503 temporarily_unavailable` and `Retry-After: 1`. Default 30 000, 100–600 000.
   */
  queueTimeoutMs?: number;
  /** Where the buckets live. Default a `MemoryAttemptStore` of this router (one process only). */
  store?: AttemptStore;
}

/** Limits of one profile's rate limiter: `limit` requests per `windowMs` per IP. */
export interface ProfileRateLimit {
  /** Length of the fixed window in milliseconds, 1000–86 400 000. */
  windowMs: number;
  /** Requests allowed per IP and window, 1–1 000 000. */
  limit: number;
}

/**
 * Per-profile rate limits through express-rate-limit, keyed by profile and client IP (IPv6 per
 * `suspiciousIpThrottling.ipv6Subnet` network).
 */
export interface ProfileRateLimitOptions {
  /**
   * Whether every profile gets the default limit below. Default `true` when `profileRateLimit`
   * is given; without `profileRateLimit` only the profiles given a limit through
   * `cte.attackProtection.setProfileRateLimit()` are limited.
   */
  enabled?: boolean;
  /** Default 60 000 (one minute). */
  windowMs?: number;
  /** Default 60. */
  limit?: number;
  /**
   * Makes the express-rate-limit `Store` of one limiter: called once for the default limiter
   * (`name` `'default'`) and once per profile limit set through the handle (`name` the profile
   * id), never during a request. Must return a new instance each time: express-rate-limit binds
   * a store to one limiter (ERR_ERL_STORE_REUSE). Default: express-rate-limit's `MemoryStore`.
   *
   * @example
   * (name) => new RedisStore({ sendCommand: (...args) => redis.sendCommand(args), prefix: `cte-rl:${name}:` })
   */
  store?: (name: string) => Store;
}

/** `options.attackProtection`. Everything is optional; throttling is on by default. */
export interface AttackProtectionOptions {
  suspiciousIpThrottling?: SuspiciousIpThrottlingOptions;
  profileRateLimit?: ProfileRateLimitOptions;
  /**
   * The header a client marked `is_token_endpoint_ip_header_trusted` may name its end user's IP
   * in. Default `auth0-forwarded-for` (Auth0's); ignored for every other client.
   */
  forwardedIpHeader?: string;
  /**
   * When a store throws: `'fail-closed'` (default) answers `503 temporarily_unavailable` with
   * `Retry-After` and logs the cause; `'fail-open'` lets the request proceed and prints the
   * failure with `console.warn`, at most once a minute.
   */
  onStoreError?: StoreErrorMode;
}

/** `attackProtection` validated, with every default applied. */
export interface AttackProtectionConfig {
  suspiciousIpThrottling: {
    enabled: boolean;
    maxAttempts: number;
    rate: number;
    allowlist: string[];
    ipv6Subnet: number;
    queueLimit: number;
    queueTimeoutMs: number;
    store: AttemptStore | undefined;
  };
  profileRateLimit: {
    enabled: boolean;
    windowMs: number;
    limit: number;
    store: ((name: string) => Store) | undefined;
  };
  forwardedIpHeader: string;
  onStoreError: StoreErrorMode;
}

export const DEFAULT_FORWARDED_IP_HEADER = 'auth0-forwarded-for';
export const MAX_ALLOWLIST_ENTRIES = 100;
export const WINDOW_MS_RANGE = { min: 1000, max: 86_400_000 } as const;
export const LIMIT_RANGE = { min: 1, max: 1_000_000 } as const;
/** RFC 9110 section 5.1 field name (a token). */
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,64}$/;

/** Validates `options.attackProtection`; a mistake throws a TypeError naming its path. */
export function parseAttackProtection(input: unknown, path: string): AttackProtectionConfig {
  const options = input === undefined ? {} : checkObject(input, path);
  checkKnownKeys(
    options,
    ['suspiciousIpThrottling', 'profileRateLimit', 'forwardedIpHeader', 'onStoreError'],
    path,
  );
  const header =
    options.forwardedIpHeader === undefined
      ? DEFAULT_FORWARDED_IP_HEADER
      : checkString(options.forwardedIpHeader, `${path}.forwardedIpHeader`, { max: 64 });
  if (!HEADER_NAME.test(header)) fail(`${path}.forwardedIpHeader`, 'must be an HTTP header name');
  return {
    suspiciousIpThrottling: parseThrottling(
      options.suspiciousIpThrottling,
      `${path}.suspiciousIpThrottling`,
    ),
    profileRateLimit: parseProfileRateLimit(options.profileRateLimit, `${path}.profileRateLimit`),
    forwardedIpHeader: header.toLowerCase(),
    onStoreError: checkOneOf(
      options.onStoreError,
      `${path}.onStoreError`,
      ['fail-closed', 'fail-open'],
      'fail-closed',
    ),
  };
}

/**
 * A profile limit given to the handle, over the defaults; a mistake throws a TypeError naming
 * `path`.
 */
export function parseProfileLimit(
  input: unknown,
  path: string,
  defaults: ProfileRateLimit,
): ProfileRateLimit {
  const limit = checkObject(input, path);
  checkKnownKeys(limit, ['windowMs', 'limit'], path);
  return {
    windowMs: checkOptionalInteger(
      limit.windowMs,
      `${path}.windowMs`,
      defaults.windowMs,
      WINDOW_MS_RANGE,
    ),
    limit: checkOptionalInteger(limit.limit, `${path}.limit`, defaults.limit, LIMIT_RANGE),
  };
}

function parseThrottling(
  input: unknown,
  path: string,
): AttackProtectionConfig['suspiciousIpThrottling'] {
  const options = input === undefined ? {} : checkObject(input, path);
  checkKnownKeys(
    options,
    [
      'enabled',
      'maxAttempts',
      'rate',
      'allowlist',
      'ipv6Subnet',
      'queueLimit',
      'queueTimeoutMs',
      'store',
    ],
    path,
  );
  const allowlist =
    options.allowlist === undefined
      ? []
      : checkArray(options.allowlist, `${path}.allowlist`).map((entry, i) => {
          const text = checkString(entry, `${path}.allowlist[${i}]`, { max: 64 });
          try {
            parseCidr(text);
          } catch {
            fail(
              `${path}.allowlist[${i}]`,
              'must be an IPv4 or IPv6 address or CIDR (e.g. 203.0.113.7, 198.51.100.0/24, 2001:db8::/32)',
            );
          }
          return text;
        });
  if (allowlist.length > MAX_ALLOWLIST_ENTRIES) {
    fail(`${path}.allowlist`, `must have at most ${MAX_ALLOWLIST_ENTRIES} entries`);
  }
  const store = options.store as AttemptStore | undefined;
  if (store !== undefined) {
    if (typeof store !== 'object' || store === null) {
      fail(`${path}.store`, 'must be an AttemptStore (peek, take, reserve, release and reset)');
    }
    for (const method of ['peek', 'take', 'reserve', 'release', 'reset'] as const) {
      if (typeof store[method] !== 'function') {
        fail(`${path}.store.${method}`, 'must be a function (see the AttemptStore interface)');
      }
    }
  }
  return {
    enabled: checkOptionalBoolean(options.enabled, `${path}.enabled`, true),
    maxAttempts: checkOptionalInteger(options.maxAttempts, `${path}.maxAttempts`, 10, {
      min: 1,
      max: 10_000,
    }),
    rate: checkOptionalInteger(options.rate, `${path}.rate`, 600_000, {
      min: 1,
      max: 86_400_000,
    }),
    allowlist,
    ipv6Subnet: checkOptionalInteger(options.ipv6Subnet, `${path}.ipv6Subnet`, 64, {
      min: 32,
      max: 64,
    }),
    queueLimit: checkOptionalInteger(options.queueLimit, `${path}.queueLimit`, 100, {
      min: 1,
      max: 100_000,
    }),
    queueTimeoutMs: checkOptionalInteger(options.queueTimeoutMs, `${path}.queueTimeoutMs`, 30_000, {
      min: 100,
      max: 600_000,
    }),
    store,
  };
}

function parseProfileRateLimit(
  input: unknown,
  path: string,
): AttackProtectionConfig['profileRateLimit'] {
  const options = input === undefined ? {} : checkObject(input, path);
  checkKnownKeys(options, ['enabled', 'windowMs', 'limit', 'store'], path);
  const store = options.store;
  if (store !== undefined && typeof store !== 'function') {
    fail(
      `${path}.store`,
      'must be a function returning a new express-rate-limit Store for each limiter ' +
        '(one Store instance cannot serve several limiters)',
    );
  }
  return {
    enabled: checkOptionalBoolean(options.enabled, `${path}.enabled`, input !== undefined),
    windowMs: checkOptionalInteger(options.windowMs, `${path}.windowMs`, 60_000, WINDOW_MS_RANGE),
    limit: checkOptionalInteger(options.limit, `${path}.limit`, 60, LIMIT_RANGE),
    store: store as ((name: string) => Store) | undefined,
  };
}
