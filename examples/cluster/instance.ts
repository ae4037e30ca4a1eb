/**
 * One instance of the cluster example (started by server.ts, twice): the Custom Token Exchange
 * router with every store on the shared Redis, the configuration every instance registers at
 * boot (same signing key, same clients, same action and profile ids), behind `trust proxy`.
 *
 * Environment: NAME (shown in `X-Served-By`), INSTANCE_PORT (where it listens; PORT is the
 * proxy's, the public one), REDIS_URL, SIGNING_JWK (the private JWK every instance signs with),
 * IDP_JWK (the public key of the partner IdP's ID tokens).
 */
import type { AddressInfo } from 'node:net';
import express from 'express';
import { importJWK, jwtVerify } from 'jose';
import type { JWK } from 'jose';
import { RedisStore } from 'rate-limit-redis';
import { createClient } from 'redis';
import { MemoryUserStore, customTokenExchange } from '../../lib/index.js';
import {
  RedisActionCacheStore,
  RedisAttemptStore,
  RedisRefreshTokenStore,
  RedisReplayStore,
  rateLimitRedisCommand,
} from '../../lib/stores/redis/index.js';
import { API, CLIENT_ID, CLIENT_SECRET, IDP_ISSUER, ISSUER, SUBJECT_TOKEN_TYPE } from './config.js';

const name = process.env.NAME ?? 'instance';
const signingJwk = JSON.parse(process.env.SIGNING_JWK!) as JWK;
const idpKey = await importJWK(JSON.parse(process.env.IDP_JWK!) as JWK, 'ES256');

// Your own client, connected; the stores never open connections of their own.
const redis = createClient({ url: process.env.REDIS_URL! });
redis.on('error', () => undefined); // reconnects by itself; the stores fail closed meanwhile
await redis.connect();
const sendCommandCluster = rateLimitRedisCommand(redis);

const cte = customTokenExchange({
  issuer: ISSUER,
  keys: [{ ...signingJwk, kid: 'cluster-es256', alg: 'ES256' }],
  clients: [
    {
      client_id: CLIENT_ID,
      client_secret: CLIENT_SECRET,
      name: 'Cluster demo app',
      token_endpoint_auth_method: 'client_secret_basic',
      jwt_configuration: { alg: 'ES256' },
      token_exchange: { allow_any_profile_of_type: ['custom_authentication'] },
      refresh_token: { rotation_type: 'rotating', leeway: 0 },
    },
  ],
  resourceServers: [
    {
      identifier: API,
      scopes: [{ value: 'read:orders' }],
      signing_alg: 'ES256',
      allow_offline_access: true,
    },
  ],
  defaultAudience: API,
  // Users must be shared too: in production a PostgresUserStore; here every instance knows Jane.
  users: new MemoryUserStore([{ user_id: 'partner|jane-42', name: 'Jane Partner' }]),
  // In-process handler actions: this example is about shared state, not the sandbox.
  sandbox: false,
  stores: {
    replay: new RedisReplayStore({ client: redis }),
    actionCache: new RedisActionCacheStore({ client: redis }),
    refreshTokens: new RedisRefreshTokenStore({ client: redis }),
  },
  attackProtection: {
    suspiciousIpThrottling: { store: new RedisAttemptStore({ client: redis }) },
    profileRateLimit: {
      limit: 100,
      store: (limiter) => new RedisStore({ prefix: `cte:rl:${limiter}:`, sendCommandCluster }),
    },
  },
});

// Fixed ids: every instance's action and profile are the same ones in the shared stores.
const action = await cte.actions.create({
  id: '3f8a1c52-7b4d-4e6f-9a0b-1c2d3e4f5a6b',
  name: 'verify-partner-id-token',
  handler: async (event, api) => {
    try {
      const { payload } = await jwtVerify(event.transaction.subject_token, idpKey, {
        issuer: IDP_ISSUER,
        audience: CLIENT_ID,
      });
      api.authentication.setUserById(`partner|${payload.sub}`);
    } catch {
      api.access.rejectInvalidSubjectToken('the partner ID token is invalid');
    }
  },
});
await cte.actions.deploy(action.id);
await cte.profiles.create({
  id: 'tep_ClusterPartner01',
  name: 'Partner ID tokens',
  subject_token_type: SUBJECT_TOKEN_TYPE,
  action_id: action.id,
  type: 'custom_authentication',
});

const app = express();
// The proxy in front says who the client is; trust it, and only it.
app.set('trust proxy', 'loopback');
app.use((_req, res, next) => {
  res.set('X-Served-By', name);
  next();
});
app.use(cte);
const server = app.listen(Number(process.env.INSTANCE_PORT ?? 0), '127.0.0.1', () => {
  console.log(`${name} listening on ${(server.address() as AddressInfo).port}`);
});
process.once('SIGTERM', () => {
  server.close();
  void cte.close().finally(() => {
    redis.destroy();
    process.exit(0);
  });
});
