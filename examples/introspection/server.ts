/**
 * Introspection: an opaque token of a legacy authorization server exchanged for tokens, the
 * sandboxed action validating it through RFC 7662 introspection. One Express server hosts the
 * Custom Token Exchange router and the simulated legacy authorization server (`/legacy-as`).
 *
 *   npm run example:introspection      (PORT defaults to 3007)
 *
 * On start it prints a ready-to-paste curl command with a freshly issued opaque token.
 */
import type { AddressInfo } from 'node:net';
import express from 'express';
import { exportJWK, generateKeyPair } from 'jose';
import { customTokenExchange } from '../../lib/index.js';
import { INTROSPECTION_ACTION_CODE } from './action.js';
import { createLegacyAuthorizationServer } from './legacy-authorization-server.js';

const PORT = Number(process.env.PORT ?? 3007);
// 127.0.0.1 rather than localhost: the action's fetch target and allowed network are this address.
const ORIGIN = `http://127.0.0.1:${PORT}`;
const ISSUER = `${ORIGIN}/`;
const LEGACY_ISSUER = `${ORIGIN}/legacy-as/`;
const SUBJECT_TOKEN_TYPE = 'urn:acme:legacy-access-token';
const API = 'https://api.acme.example/orders';
const CLIENT_ID = 'orders-app';
const CLIENT_SECRET = 'orders-app-secret-change-me';
/** The router's credentials at the legacy authorization server, as a resource server. */
const INTROSPECTION_CLIENT_ID = 'cte-router';
const INTROSPECTION_CLIENT_SECRET = 'introspection-secret-change-me';

async function main(): Promise<void> {
  const { privateKey } = await generateKeyPair('ES256', { extractable: true });
  const signingKey = {
    ...(await exportJWK(privateKey)),
    kid: 'router-es256-1',
    alg: 'ES256' as const,
  };

  const legacy = createLegacyAuthorizationServer(LEGACY_ISSUER, {
    [INTROSPECTION_CLIENT_ID]: INTROSPECTION_CLIENT_SECRET,
  });
  const cte = customTokenExchange({
    issuer: ISSUER,
    keys: [signingKey],
    clients: [
      {
        client_id: CLIENT_ID,
        client_secret: CLIENT_SECRET,
        name: 'Orders app',
        token_endpoint_auth_method: 'client_secret_basic',
        jwt_configuration: { alg: 'ES256' },
        token_exchange: { allow_any_profile_of_type: ['custom_authentication'] },
      },
    ],
    resourceServers: [
      {
        identifier: API,
        name: 'Orders API',
        scopes: [{ value: 'read:orders' }],
        signing_alg: 'ES256',
        token_lifetime: 3600,
      },
    ],
    defaultAudience: API,
  });
  const action = await cte.actions.create({
    name: 'introspect-legacy-token',
    code: INTROSPECTION_ACTION_CODE,
    secrets: {
      INTROSPECTION_URL: `${LEGACY_ISSUER}introspect`,
      INTROSPECTION_CLIENT_ID,
      INTROSPECTION_CLIENT_SECRET,
    },
    allowed_hosts: [`127.0.0.1:${PORT}`],
    // The legacy server runs on this machine; a public one needs no private network.
    allowed_private_networks: ['127.0.0.1/32'],
    // An introspection call that hangs fails the exchange in 5 s rather than the default 20.
    limits: { timeoutMs: 5000 },
  });
  await cte.actions.deploy(action.id);
  await cte.profiles.create({
    name: 'Legacy opaque tokens',
    subject_token_type: SUBJECT_TOKEN_TYPE,
    action_id: action.id,
    type: 'custom_authentication',
  });

  const app = express();
  app.use('/legacy-as', legacy.router);
  app.use(cte);
  app.get('/logs', (_req, res, next) => {
    cte.logs.list().then((entries) => res.json(entries), next);
  });

  const server = app.listen(PORT, '127.0.0.1', (err?: Error) => {
    if (err) {
      console.error(err);
      process.exit(1);
    }
    const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const token = legacy.issue('u-1001', 'profile orders.read');
    console.log(`Introspection example on ${origin}

Exchange Jane's opaque legacy token (valid 1 hour) for tokens; the action introspects it:

curl -s ${origin}/oauth/token \\
  -u ${CLIENT_ID}:${CLIENT_SECRET} \\
  -d grant_type=urn:ietf:params:oauth:grant-type:token-exchange \\
  -d subject_token_type=${SUBJECT_TOKEN_TYPE} \\
  -d subject_token=${token} \\
  -d 'scope=openid profile email read:orders'

What the action asks the legacy authorization server:

curl -s ${origin}/legacy-as/introspect -u ${INTROSPECTION_CLIENT_ID}:${INTROSPECTION_CLIENT_SECRET} -d token=${token}

New legacy tokens: curl -s ${origin}/legacy-as/tokens -d sub=u-1001 -d 'scope=profile orders.read'
Simulated faults: curl -s ${origin}/legacy-as/fault -d mode=error   (error: 503, down: connection dropped, stale: expired tokens still active, none: healthy)
Public keys: ${origin}/.well-known/jwks.json   Tenant logs: ${origin}/logs`);
  });
  // Graceful shutdown: no new connections, the router drains its requests and flushes its logs.
  const shutdown = async () => {
    server.close();
    await cte.close();
    server.closeIdleConnections();
  };
  process.once('SIGINT', () => void shutdown());
  process.once('SIGTERM', () => void shutdown());
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
