/**
 * The test router (test/support/fixtures.ts) with its shared state on Redis, as docs/stores-and-scaling.md tells
 * an operator to configure several instances: every store on one Redis, the action and profile
 * ids fixed, a sandboxed action that uses `api.cache`, the Orders API allowing offline access.
 * Used in-process by the fault tests and, one per process, by the multi-instance tests.
 */
import type { JWK } from 'jose';
import { RedisStore } from 'rate-limit-redis';
import type { CustomTokenExchangeOptions, SigningKeyInput } from '../../lib/index.js';
import type { StoreErrorMode } from '../../lib/attack-protection/store-failure-policy.js';
import { rateLimitRedisCommand } from '../../lib/stores/redis/rate-limit-redis-command.js';
import type { RedisClientLike } from '../../lib/stores/redis/redis-adapter.js';
import { RedisActionCacheStore } from '../../lib/stores/redis/redis-action-cache-store.js';
import { RedisAttemptStore } from '../../lib/stores/redis/redis-attempt-store.js';
import { RedisRefreshTokenStore } from '../../lib/stores/redis/redis-refresh-token-store.js';
import { RedisReplayStore } from '../../lib/stores/redis/redis-replay-store.js';
import { RedisRevokedTokenStore } from '../../lib/stores/redis/redis-revoked-token-store.js';
import { API, testServer, type TestServer } from './fixtures.js';

/** The stores the router can keep on Redis. */
export type SharedStore =
  'attempts' | 'rateLimit' | 'replay' | 'actionCache' | 'refreshTokens' | 'revokedTokens';
export const SHARED_STORES: readonly SharedStore[] = [
  'attempts',
  'rateLimit',
  'replay',
  'actionCache',
  'refreshTokens',
  'revokedTokens',
];

/** The secret the Orders API introspects with, as client `orders-api`. */
export const INTROSPECTION_SECRET = 'orders-api-introspection-secret';

/** Ids every instance gives its actions and profiles. */
export const IDS = {
  action: '5d1e7c3a-8f42-4b6e-9c1d-2a7f0e4b8c91',
  profile: 'tep_LegacyTokens0001',
  cacheAction: '9b2c4e6f-1a3d-4f5b-8e7c-0d2a4c6e8f10',
  cacheProfile: 'tep_CacheTokens00001',
} as const;

/** The subject token type of the `api.cache` profile: `write:<v>` caches v, `read:<v>` checks it. */
export const CACHE_SUBJECT_TYPE = 'urn:acme:cache-token';
const CACHE_ACTION = `
exports.onExecuteCustomTokenExchange = async (event, api) => {
  const [verb, value] = event.transaction.subject_token.split(':');
  if (verb === 'write') {
    api.cache.set('shared', value);
  } else {
    const cached = api.cache.get('shared');
    if (!cached || cached.value !== value) {
      api.access.deny('invalid_request', 'the cache holds ' + (cached ? cached.value : 'nothing'));
      return;
    }
  }
  api.authentication.setUserById('auth0|alice');
};`;

export interface RedisRouterOptions {
  client: RedisClientLike;
  /** Prepended to every key: routers of one test share it, other tests use their own. */
  prefix: string;
  /** The stores kept on Redis; default all of them (the others stay in memory). */
  stores?: readonly SharedStore[];
  timeoutMs?: number;
  onStoreError?: StoreErrorMode;
  maxAttempts?: number;
  /** The per-profile rate limit; default 1000 a minute. */
  rateLimit?: { limit: number; windowMs: number };
  /** Signing keys, when instances must share them. */
  keys?: SigningKeyInput[];
  /** The `jwt-app` client's public key, when another process signs its assertions. */
  clientJwk?: JWK;
}

/** The router's options that put `stores` on Redis. */
export function redisStoreOptions(
  options: RedisRouterOptions,
): Pick<CustomTokenExchangeOptions, 'stores' | 'attackProtection'> {
  const { client, prefix, stores = SHARED_STORES, timeoutMs = 1000 } = options;
  const on = (store: SharedStore) => stores.includes(store);
  const common = { client, timeoutMs, warn: false as const };
  // rate-limit-redis with the stores' deadline, cluster routing and script reloading.
  const sendCommandCluster = rateLimitRedisCommand(client, { timeoutMs, warn: false });
  return {
    stores: {
      ...(on('replay')
        ? { replay: new RedisReplayStore({ ...common, prefix: `${prefix}replay:` }) }
        : {}),
      ...(on('actionCache')
        ? { actionCache: new RedisActionCacheStore({ ...common, prefix: `${prefix}cache:` }) }
        : {}),
      ...(on('refreshTokens')
        ? { refreshTokens: new RedisRefreshTokenStore({ ...common, prefix: `${prefix}rt:` }) }
        : {}),
      ...(on('revokedTokens')
        ? {
            revokedTokens: new RedisRevokedTokenStore({ ...common, prefix: `${prefix}revoked:` }),
          }
        : {}),
    },
    attackProtection: {
      onStoreError: options.onStoreError ?? 'fail-closed',
      suspiciousIpThrottling: {
        maxAttempts: options.maxAttempts ?? 10,
        ...(on('attempts')
          ? { store: new RedisAttemptStore({ ...common, prefix: `${prefix}attempts:` }) }
          : {}),
      },
      profileRateLimit: {
        ...(options.rateLimit ?? { limit: 1000, windowMs: 60_000 }),
        ...(on('rateLimit')
          ? {
              store: (name: string) =>
                new RedisStore({ prefix: `${prefix}rl:${name}:`, sendCommandCluster }),
            }
          : {}),
      },
    },
  };
}

/** The test server on Redis, with the `api.cache` profile, behind `trust proxy` for loopback. */
export async function redisTestServer(options: RedisRouterOptions): Promise<TestServer> {
  const server = await testServer(
    {
      sandbox: true,
      ...(options.keys ? { keys: options.keys } : {}),
      ...redisStoreOptions(options),
    },
    { ids: IDS, ...(options.clientJwk ? { clientJwk: options.clientJwk } : {}) },
  );
  const { cte, app } = server;
  // The test clients say which end user they stand for in X-Forwarded-For.
  app.set('trust proxy', 'loopback');
  await cte.resourceServers.update(API, {
    allow_offline_access: true,
    introspection: { client_id: 'orders-api', client_secret: INTROSPECTION_SECRET },
  });
  const action = await cte.actions.create({
    id: IDS.cacheAction,
    name: 'cache-action',
    code: CACHE_ACTION,
  });
  await cte.actions.deploy(action.id);
  await cte.profiles.create({
    id: IDS.cacheProfile,
    name: 'Cache tokens',
    subject_token_type: CACHE_SUBJECT_TYPE,
    action_id: action.id,
    type: 'custom_authentication',
  });
  return server;
}
