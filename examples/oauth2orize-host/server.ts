/**
 * An oauth2orize OAuth server (passport client strategies, its own client and user tables, its
 * own opaque tokens) with the Custom Token Exchange router mounted in front of its token
 * endpoint: one `POST /oauth/token` serves the host's grants and custom token exchange, the
 * router authenticating clients with the host's passport strategies and keeping its users in the
 * host's user table.
 *
 *   npm run example:oauth2orize      (PORT defaults to 3001)
 *
 * On start it prints ready-to-paste curl commands for a host grant and a token exchange.
 */
import type { AddressInfo } from 'node:net';
import express from 'express';
import { exportJWK, generateKeyPair } from 'jose';
import passport from 'passport';
import { customTokenExchange } from '../../lib/index.js';
import type { ClientGrantDefinition } from '../../lib/index.js';
import {
  API_SCOPES,
  DEMO_CLIENT_SECRETS,
  HostTokens,
  TOKEN_EXCHANGE_GRANT,
  seedClients,
  seedUsers,
} from './host-db.js';
import { HostClientStore } from './host-client-store.js';
import type { HostClient } from './host-db.js';
import { CLIENT_STRATEGIES, hostTokenEndpoint, useClientStrategies } from './host-oauth-server.js';
import { HostUserStore } from './host-user-store.js';
import { createPartnerIdp } from './partner-idp.js';

const PORT = Number(process.env.PORT ?? 3001);
const ORIGIN = `http://localhost:${PORT}`;
const ISSUER = `${ORIGIN}/`;
const API = 'https://api.bookshop.example/';
const SUBJECT_TOKEN_TYPE = 'urn:partner:id-token';

/** The profile's action: plain JavaScript, run in the isolated-vm sandbox. */
const ACTION_CODE = `
const { jwtVerify, createRemoteJWKSet } = require('jose');

exports.onExecuteCustomTokenExchange = async (event, api) => {
  const jwks = createRemoteJWKSet(new URL(event.secrets.PARTNER_JWKS_URL));
  let payload;
  try {
    ({ payload } = await jwtVerify(event.transaction.subject_token, jwks, {
      issuer: event.secrets.PARTNER_ISSUER,
      audience: event.client.client_id,
      algorithms: ['ES256'],
      maxTokenAge: '10m',
    }));
  } catch (err) {
    if (err.code === 'ERR_JWKS_TIMEOUT' || err.code === 'ERR_FETCH_FAILED') throw err; // transient
    console.log('partner token refused:', err.code);
    api.access.rejectInvalidSubjectToken('the partner ID token is invalid');
    return;
  }
  // Found by (connection, partner id) in the host's users table, or created there.
  api.authentication.setUserByConnection(
    'partner-idp',
    { user_id: payload.sub, email: payload.email, email_verified: payload.email_verified === true, name: payload.name },
    { creationBehavior: 'create_if_not_exists', updateBehavior: 'none' },
  );
};
`;

/** The host's scope rules, for the router: a client gets at most the scopes of its row. */
function routerClientGrants(clients: Map<string, HostClient>): ClientGrantDefinition[] {
  return [...clients.values()].map((client) => ({
    client_id: client.client_id,
    audience: API,
    scope: [...client.scope],
  }));
}

async function main(): Promise<void> {
  const clients = await seedClients();
  const users = await seedUsers();
  const tables = {
    clients,
    users,
    accessTokens: new HostTokens(),
    refreshTokens: new HostTokens(),
  };
  useClientStrategies(passport, clients);
  const partner = await createPartnerIdp(ORIGIN);

  const signing = await generateKeyPair('ES256', { extractable: true });
  const signingJwk = {
    ...(await exportJWK(signing.privateKey)),
    kid: `bookshop-${Date.now()}`,
    alg: 'ES256' as const,
  };

  const cte = customTokenExchange({
    issuer: ISSUER,
    keys: [signingJwk],
    clients: new HostClientStore(clients),
    clientGrants: routerClientGrants(clients),
    resourceServers: [
      {
        identifier: API,
        name: 'Bookshop API',
        scopes: API_SCOPES.map((value) => ({ value })),
        signing_alg: 'ES256',
        token_lifetime: 3600,
        allow_offline_access: true,
      },
    ],
    defaultAudience: API,
    users: new HostUserStore(users),
    clientAuthentication: { passport, strategies: CLIENT_STRATEGIES },
  });
  const action = await cte.actions.create({
    name: 'verify-partner-id-token',
    code: ACTION_CODE,
    secrets: { PARTNER_ISSUER: partner.issuer, PARTNER_JWKS_URL: partner.jwksUrl },
    allowed_hosts: [`localhost:${PORT}`],
    // The simulated partner runs on this machine; a real partner IdP needs no private network.
    allowed_private_networks: ['127.0.0.0/8', '::1/128'],
  });
  await cte.actions.deploy(action.id);
  await cte.profiles.create({
    name: 'Partner ID tokens',
    subject_token_type: SUBJECT_TOKEN_TYPE,
    action_id: action.id,
    type: 'custom_authentication',
  });

  const app = express();
  app.use('/partner-idp', partner.router);
  // The router first: it claims custom token exchanges and its own refresh tokens...
  app.use(cte);
  // ...and every other token request reaches the host's oauth2orize endpoint unchanged.
  app.post('/oauth/token', express.urlencoded(), ...hostTokenEndpoint(passport, tables));

  // For the demo and its test only: the host's users table (no password hashes) and the tenant log.
  app.get('/users', (_req, res) => {
    res.json(
      [...users.rows.values()].map((user) => ({
        id: user.id,
        email: user.email,
        emailVerified: user.emailVerified,
        name: user.name,
        hasPassword: user.passwordHash !== null,
        blocked: user.blocked,
        identities: user.identities,
        appMetadata: user.appMetadata,
        userMetadata: user.userMetadata,
        loginCount: user.loginCount,
        createdAt: user.createdAt,
        updatedAt: user.updatedAt,
      })),
    );
  });
  app.get('/logs', (_req, res, next) => {
    cte.logs.list().then((entries) => res.json(entries), next);
  });

  const server = app.listen(PORT, 'localhost', async () => {
    const port = (server.address() as AddressInfo).port;
    const url = `http://localhost:${port}`;
    const client = {
      client_id: 'bookshop-app',
      client_secret: DEMO_CLIENT_SECRETS['bookshop-app'],
    };
    const subjectToken = await partner.signIdToken('jane', client.client_id);
    console.log(`oauth2orize host with Custom Token Exchange on ${url}

The host's own client_credentials grant (oauth2orize, client checked by passport-http Basic):

curl -s ${url}/oauth/token -u ${client.client_id}:${client.client_secret} -d grant_type=client_credentials

A token exchange at the same endpoint, same client: Jane's partner ID token (valid for 10 minutes)
for this server's tokens; Jane becomes a row of the host's users table:

curl -s ${url}/oauth/token \\
  -u ${client.client_id}:${client.client_secret} \\
  -d grant_type=${TOKEN_EXCHANGE_GRANT} \\
  -d subject_token_type=${SUBJECT_TOKEN_TYPE} \\
  -d subject_token=${subjectToken} \\
  -d 'scope=openid profile email read:books offline_access'

Host users: ${url}/users   Tenant logs: ${url}/logs   Public keys: ${url}/.well-known/jwks.json`);
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
