/**
 * The router as the benchmark serves it: one profile whose action verifies an ES256 subject JWT
 * against a JWKS (served by this process) and sets the user, as an in-process handler
 * (`mode: 'inline'`, jose's WebCrypto `jwtVerify`), as an in-process handler doing the synchronous
 * node:crypto verification the sandbox's `jwtVerify` does (`'inline-sync'`: the like-for-like
 * baseline of the sandbox's own cost) or as sandboxed code (`'sandbox'`). `'default'` is
 * `'sandbox'` with what a user gets by default: RS256 access and ID tokens (the client and the API
 * name no algorithm), the ID token requested (`scope=openid`). `'hostile'` is `'sandbox'` plus a second
 * profile whose sandboxed action spins forever (the harness sends it a trickle of requests).
 * `'sandbox-redis'` is `'sandbox'` with every store on the Redis at `config.redisUrl` (attempt
 * buckets, the per-profile rate limit through rate-limit-redis, replay keys, `api.cache`, refresh
 * tokens) over node-redis, counting the commands it sends. `'sandbox-otel'` is `'sandbox'` with an
 * OpenTelemetry SDK installed (see otel-sdk.ts): every span recorded and every metric aggregated.
 * `'refresh'` is `'sandbox'` with refresh tokens as a user gets them by default: the API allows
 * offline access, the exchange asks for it (`scope=offline_access`) and answers a refresh token,
 * and the client's tokens rotate (each refresh retires the token it redeems and answers the next).
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { createRemoteJWKSet, exportJWK, generateKeyPair, jwtVerify } from 'jose';
import { RedisStore } from 'rate-limit-redis';
import { createClient } from 'redis';
import { customTokenExchange } from '../../lib/index.js';
import type { CustomTokenExchangeHandler, CustomTokenExchangeOptions } from '../../lib/index.js';
import {
  RedisActionCacheStore,
  RedisAttemptStore,
  RedisRefreshTokenStore,
  RedisReplayStore,
  rateLimitRedisCommand,
} from '../../lib/stores/redis/index.js';
import { SyncKeySet, verifyJwtSync } from '../../lib/sandbox/capabilities/sync-jwt-verify.js';
import type { BenchConfig } from './child.js';
import { countStoreCommand, readConfig, serveToParent } from './child.js';

export const SUBJECT_TOKEN_TYPE = 'urn:bench:subject';
export const HOSTILE_TOKEN_TYPE = 'urn:bench:hostile';
export const path = '/oauth/token';

export function requestBody(
  subjectToken: string,
  config: BenchConfig,
  subjectTokenType = SUBJECT_TOKEN_TYPE,
): string {
  return new URLSearchParams({
    grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
    subject_token: subjectToken,
    subject_token_type: subjectTokenType,
    audience: config.audience,
    client_id: config.client.id,
    client_secret: config.client.secret,
    ...(config.mode === 'default' ? { scope: 'openid' } : {}),
    ...(config.mode === 'refresh' ? { scope: 'offline_access' } : {}),
  }).toString();
}

/** The form body of a refresh (`'refresh'`): `refreshToken` redeemed by the bench client. */
export function refreshRequestBody(refreshToken: string, config: BenchConfig): string {
  return new URLSearchParams({
    grant_type: 'refresh_token',
    refresh_token: refreshToken,
    client_id: config.client.id,
    client_secret: config.client.secret,
  }).toString();
}

/** The action's logic, written once for both runners. */
const ACTION_CODE = `
const { jwtVerify, createRemoteJWKSet } = require('jose');
exports.onExecuteCustomTokenExchange = async (event, api) => {
  const jwks = createRemoteJWKSet(new URL(event.secrets.JWKS_URL));
  try {
    const { payload } = await jwtVerify(event.transaction.subject_token, jwks, {
      issuer: event.secrets.ISSUER, audience: event.secrets.AUDIENCE, algorithms: ['ES256'],
    });
    api.authentication.setUserById(payload.sub);
  } catch (err) {
    api.access.rejectInvalidSubjectToken('invalid subject token: ' + err.code);
  }
};`;

const HOSTILE_CODE = `
exports.onExecuteCustomTokenExchange = async () => {
  for (;;) {}
};`;

async function start(config: BenchConfig): Promise<void> {
  const app = express();
  app.get('/idp/jwks', (_req, res) => {
    res.json({ keys: [config.subjectJwk] });
  });
  const server = createServer(app);
  server.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  const port = (server.address() as AddressInfo).port;
  const jwksUrl = `http://127.0.0.1:${port}/idp/jwks`;

  // The SDK first: the router takes the global meter provider as it is when created.
  if (config.mode === 'sandbox-otel') {
    const { installOpenTelemetrySdk } = await import('./otel-sdk.js');
    installOpenTelemetrySdk();
  }
  const defaults = config.mode === 'default';
  const alg = defaults ? 'RS256' : 'ES256';
  const { privateKey } = await generateKeyPair(alg, { extractable: true });
  const stores = config.mode === 'sandbox-redis' ? await redisStores(config.redisUrl!) : {};
  const cte = customTokenExchange({
    ...stores,
    issuer: `http://localhost:${port}/`,
    keys: [{ ...(await exportJWK(privateKey)), kid: `bench-${alg.toLowerCase()}`, alg }],
    clients: [
      {
        client_id: config.client.id,
        client_secret: config.client.secret,
        name: 'Bench',
        token_endpoint_auth_method: 'client_secret_post',
        ...(defaults ? {} : { jwt_configuration: { alg: 'ES256' as const } }),
        token_exchange: { allow_any_profile_of_type: ['custom_authentication'] },
      },
    ],
    resourceServers: [
      {
        identifier: config.audience,
        ...(defaults ? {} : { signing_alg: 'ES256' as const }),
        ...(config.mode === 'refresh' ? { allow_offline_access: true } : {}),
        scopes: [{ value: 'read' }],
      },
    ],
    defaultAudience: config.audience,
  });
  for (let i = 0; i < 100; i += 1) {
    await cte.users.create({ connection: 'bench', connection_user_id: `user-${i}`, profile: {} });
  }

  const remote = createRemoteJWKSet(new URL(jwksUrl));
  const inline: CustomTokenExchangeHandler = async (event, api) => {
    try {
      const { payload } = await jwtVerify(event.transaction.subject_token, remote, {
        issuer: config.subjectIssuer,
        audience: config.subjectAudience,
        algorithms: ['ES256'],
      });
      api.authentication.setUserById(payload.sub!);
    } catch (err) {
      api.access.rejectInvalidSubjectToken(
        `invalid subject token: ${(err as { code?: string }).code}`,
      );
    }
  };
  const inlineSync = inlineSyncHandler(jwksUrl, config);
  const action = await cte.actions.create(
    config.mode === 'inline'
      ? { name: 'bench-inline', handler: inline }
      : config.mode === 'inline-sync'
        ? { name: 'bench-inline-sync', handler: inlineSync }
        : {
            name: 'bench-sandbox',
            code: ACTION_CODE,
            secrets: {
              JWKS_URL: jwksUrl,
              ISSUER: config.subjectIssuer,
              AUDIENCE: config.subjectAudience,
            },
            allowed_hosts: [`127.0.0.1:${port}`],
            allowed_private_networks: ['127.0.0.1/32'],
          },
  );
  await cte.actions.deploy(action.id);
  await cte.profiles.create({
    name: 'Bench profile',
    subject_token_type: SUBJECT_TOKEN_TYPE,
    action_id: action.id,
    type: 'custom_authentication',
  });
  if (config.mode === 'hostile') {
    const hostile = await cte.actions.create({ name: 'bench-hostile', code: HOSTILE_CODE });
    await cte.actions.deploy(hostile.id);
    await cte.profiles.create({
      name: 'Hostile profile',
      subject_token_type: HOSTILE_TOKEN_TYPE,
      action_id: hostile.id,
      type: 'custom_authentication',
    });
  }
  app.use(cte);
  await serveToParent(server);
}

/**
 * The action of `'inline-sync'`: the verification the sandbox's `jwtVerify` runs on the host for a
 * remote JWKS (its keys fetched once and imported into node:crypto on first use, the signature
 * checked synchronously, the claims by jose's own validation; jose's `jwtVerify` for whatever that
 * path does not answer), in process.
 */
function inlineSyncHandler(jwksUrl: string, config: BenchConfig): CustomTokenExchangeHandler {
  const remote = createRemoteJWKSet(new URL(jwksUrl));
  let keys: SyncKeySet | undefined;
  const options = {
    issuer: config.subjectIssuer,
    audience: config.subjectAudience,
    algorithms: ['ES256'],
  };
  return async (event, api) => {
    // The first requests may each fetch it: the warm-up's, never a measured one's.
    keys ??= new SyncKeySet(((await (await fetch(jwksUrl)).json()) as { keys: unknown[] }).keys);
    const token = event.transaction.subject_token;
    try {
      const { payload } =
        verifyJwtSync(token, keys, options) ?? (await jwtVerify(token, remote, options));
      api.authentication.setUserById(payload.sub!);
    } catch (err) {
      api.access.rejectInvalidSubjectToken(
        `invalid subject token: ${(err as { code?: string }).code}`,
      );
    }
  };
}

/**
 * Every store on the Redis at `url`, as the README configures several instances; the per-profile
 * limit high enough never to refuse, so it costs its round trip without changing the outcome.
 */
async function redisStores(
  url: string,
): Promise<Pick<CustomTokenExchangeOptions, 'stores' | 'attackProtection'>> {
  const client = createClient({ url });
  await client.connect();
  const send = client.sendCommand.bind(client);
  client.sendCommand = ((args: string[], ...rest: unknown[]) => {
    countStoreCommand(args[0]!.toUpperCase());
    return (send as (...all: unknown[]) => unknown)(args, ...rest);
  }) as typeof client.sendCommand;
  const sendCommandCluster = rateLimitRedisCommand(client);
  return {
    stores: {
      replay: new RedisReplayStore({ client }),
      actionCache: new RedisActionCacheStore({ client }),
      refreshTokens: new RedisRefreshTokenStore({ client }),
    },
    attackProtection: {
      suspiciousIpThrottling: { store: new RedisAttemptStore({ client }) },
      profileRateLimit: {
        limit: 1_000_000,
        store: (name) => new RedisStore({ prefix: `cte:rl:${name}:`, sendCommandCluster }),
      },
    },
  };
}

if (process.send) await start(readConfig());
