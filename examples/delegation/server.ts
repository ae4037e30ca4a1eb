/**
 * Delegation: an AI agent acting for a user. One Express server hosts
 *
 * - the Custom Token Exchange router, with two profiles: the agent signs in with its platform's
 *   assertion and gets an ID token (`urn:acme:agent-assertion`), then exchanges a user's
 *   delegation grant with that ID token as `actor_token` (`urn:acme:delegation-grant`) for an
 *   access token whose `act` claim names the agent;
 * - the simulated agent platform (`/agent-platform`) and consent service (`/consent`);
 * - the orders API (`/api/orders`), which serves only trusted agents acting for a user.
 *
 *   npm run example:delegation      (PORT defaults to 3006)
 *
 * AGENT_ID_TOKEN_LIFETIME (seconds, default 600) sets the lifetime of the agents' ID tokens.
 */
import type { AddressInfo } from 'node:net';
import express from 'express';
import { exportJWK, generateKeyPair } from 'jose';
import { MemoryUserStore, customTokenExchange } from '../../lib/index.js';
import { ACT_FOR_USER_CODE, AGENT_SIGN_IN_CODE } from './actions.js';
import { AGENTS, createAgentPlatform } from './agent-platform.js';
import { createConsentService } from './consent-service.js';
import { createOrdersApi } from './orders-api.js';

const PORT = Number(process.env.PORT ?? 3006);
const AGENT_ID_TOKEN_LIFETIME = Number(process.env.AGENT_ID_TOKEN_LIFETIME ?? 600);
const ORIGIN = `http://localhost:${PORT}`;
const ISSUER = `${ORIGIN}/`;
const PLATFORM_ISSUER = `${ORIGIN}/agent-platform/`;
const CONSENT_ISSUER = `${ORIGIN}/consent/`;
const API = 'https://api.acme.example/orders';
const AGENT_ASSERTION_TYPE = 'urn:acme:agent-assertion';
const DELEGATION_GRANT_TYPE = 'urn:acme:delegation-grant';
const ID_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:id_token';
const CLIENT_ID = 'ai-agents';
const CLIENT_SECRET = 'ai-agents-secret-change-me';

const CUSTOMERS = [
  { user_id: 'auth0|alice', email: 'alice@example.com', email_verified: true, name: 'Alice Doe' },
  { user_id: 'auth0|bob', email: 'bob@example.com', email_verified: true, name: 'Bob Roe' },
];
const ORDERS = {
  'auth0|alice': [
    { id: 'ord-1001', item: 'Trail running shoes', status: 'shipped' },
    { id: 'ord-1002', item: 'Rain jacket', status: 'processing' },
  ],
  'auth0|bob': [{ id: 'ord-2001', item: 'Camping stove', status: 'delivered' }],
};

async function main(): Promise<void> {
  const { privateKey } = await generateKeyPair('ES256', { extractable: true });
  const signingKey = {
    ...(await exportJWK(privateKey)),
    kid: 'router-es256-1',
    alg: 'ES256' as const,
  };

  const cte = customTokenExchange({
    issuer: ISSUER,
    keys: [signingKey],
    clients: [
      {
        client_id: CLIENT_ID,
        client_secret: CLIENT_SECRET,
        name: 'Agent runtime',
        token_endpoint_auth_method: 'client_secret_basic',
        jwt_configuration: { alg: 'ES256', lifetime_in_seconds: AGENT_ID_TOKEN_LIFETIME },
        token_exchange: { allow_any_profile_of_type: ['custom_authentication'] },
      },
      {
        // Another application of the tenant: ID tokens issued to the agent runtime are not its own.
        client_id: 'storefront',
        client_secret: 'storefront-secret-change-me',
        name: 'Storefront',
        token_endpoint_auth_method: 'client_secret_basic',
        jwt_configuration: { alg: 'ES256' },
        token_exchange: { allow_any_profile_of_type: ['custom_authentication'] },
      },
    ],
    resourceServers: [
      {
        identifier: API,
        name: 'Orders API',
        scopes: [{ value: 'read:orders' }, { value: 'write:orders' }],
        signing_alg: 'ES256',
        token_lifetime: 900,
      },
    ],
    defaultAudience: API,
    users: new MemoryUserStore(CUSTOMERS),
  });

  const platform = await createAgentPlatform(PLATFORM_ISSUER, CLIENT_ID);
  const consent = await createConsentService(
    CONSENT_ISSUER,
    CLIENT_ID,
    new Set(CUSTOMERS.map((c) => c.user_id)),
  );
  // The platform and the consent service live on this machine: the actions may reach loopback.
  const local = {
    allowed_hosts: [`localhost:${PORT}`],
    allowed_private_networks: ['127.0.0.0/8', '::1/128'],
  };
  const signIn = await cte.actions.create({
    name: 'agent-sign-in',
    code: AGENT_SIGN_IN_CODE,
    secrets: { PLATFORM_ISSUER, PLATFORM_JWKS_URL: `${PLATFORM_ISSUER}.well-known/jwks.json` },
    ...local,
  });
  await cte.actions.deploy(signIn.id);
  await cte.profiles.create({
    name: 'Agent sign-in',
    subject_token_type: AGENT_ASSERTION_TYPE,
    action_id: signIn.id,
    type: 'custom_authentication',
  });
  const actForUser = await cte.actions.create({
    name: 'act-for-user',
    code: ACT_FOR_USER_CODE,
    secrets: { CONSENT_ISSUER, CONSENT_JWKS_URL: `${CONSENT_ISSUER}.well-known/jwks.json` },
    ...local,
  });
  await cte.actions.deploy(actForUser.id);
  await cte.profiles.create({
    name: 'Agent acting for a user',
    subject_token_type: DELEGATION_GRANT_TYPE,
    action_id: actForUser.id,
    type: 'custom_authentication',
  });

  const app = express();
  app.use('/agent-platform', platform.router);
  app.use('/consent', consent.router);
  app.use(
    '/api',
    createOrdersApi({
      issuer: ISSUER,
      audience: API,
      jwksUrl: new URL('/.well-known/jwks.json', ORIGIN),
      trustedAgents: ['agents|shopping-assistant'],
      orders: ORDERS,
    }),
  );
  app.use(cte);
  app.get('/logs', (_req, res, next) => {
    cte.logs.list().then((entries) => res.json(entries), next);
  });

  const server = app.listen(PORT, 'localhost', async (err?: Error) => {
    if (err) {
      console.error(err);
      process.exit(1);
    }
    const port = (server.address() as AddressInfo).port;
    const assertion = await platform.mintAssertion('shopping-assistant');
    const grant = await consent.mintGrant({
      user_id: 'auth0|alice',
      agent: 'agents|shopping-assistant',
      scope: 'read:orders',
    });
    const field = (name: string) =>
      `node -pe 'JSON.parse(require("fs").readFileSync(0, "utf8")).${name}'`;
    const token = `http://localhost:${port}/oauth/token`;
    console.log(`Delegation example on http://localhost:${port}

1. The shopping assistant signs in with its platform assertion (valid 5 minutes) and keeps its ID token:

ACTOR_TOKEN=$(curl -s ${token} \\
  -u ${CLIENT_ID}:${CLIENT_SECRET} \\
  -d grant_type=urn:ietf:params:oauth:grant-type:token-exchange \\
  -d subject_token_type=${AGENT_ASSERTION_TYPE} \\
  -d subject_token=${assertion} \\
  -d scope=openid | ${field('id_token')})

2. It acts for Alice: her delegation grant (valid 10 minutes) as subject, its ID token as actor:

ACCESS_TOKEN=$(curl -s ${token} \\
  -u ${CLIENT_ID}:${CLIENT_SECRET} \\
  -d grant_type=urn:ietf:params:oauth:grant-type:token-exchange \\
  -d subject_token_type=${DELEGATION_GRANT_TYPE} \\
  -d subject_token=${grant} \\
  -d actor_token=$ACTOR_TOKEN \\
  -d actor_token_type=${ID_TOKEN_TYPE} \\
  -d 'scope=openid read:orders' | ${field('access_token')})

3. It reads Alice's orders; the API checks the act claim:

curl -s http://localhost:${port}/api/orders -H "Authorization: Bearer $ACCESS_TOKEN"

New assertions: curl -s -X POST http://localhost:${port}/agent-platform/assertions -u shopping-assistant:${AGENTS['shopping-assistant']!.secret}
New grants: curl -s http://localhost:${port}/consent/grants -d 'user_id=auth0|alice' -d 'agent=agents|shopping-assistant' -d scope=read:orders
Who acted for whom: http://localhost:${port}/api/audit
Public keys: http://localhost:${port}/.well-known/jwks.json   Tenant logs: http://localhost:${port}/logs`);
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
