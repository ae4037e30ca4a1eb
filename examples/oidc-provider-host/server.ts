/**
 * node-oidc-provider as the host: one issuer whose `/oauth/token` serves the provider's own
 * grants (`client_credentials`, `authorization_code`) and, through the Custom Token Exchange
 * router mounted in front of the provider, custom token exchanges of a partner's ES256 ID tokens
 * verified by a sandboxed action. Both servers sign with the same key, read the same client and
 * API tables and the same user store (see README.md for what is shared and what is not).
 *
 *   npm run example:oidc-provider      (PORT defaults to 3002)
 */
import crypto from 'node:crypto';
import express from 'express';
import type { Request, Response } from 'express';
import { exportJWK, generateKeyPair } from 'jose';
import type { JWK } from 'jose';
import Provider from 'oidc-provider';
import { MemoryUserStore, customTokenExchange } from '../../lib/index.js';
import { ACCOUNT_CLAIMS, findAccountIn } from './accounts.js';
import { PARTNER_ID_TOKEN_ACTION } from './partner-id-token-action.js';
import { SimulatedPartnerIdp } from './partner-idp.js';
import { sessionTransfer } from './session-transfer.js';
import {
  ID_TOKEN_LIFETIME,
  SIGNING_ALG,
  providerClients,
  resourceServerInfo,
  routerClients,
  routerResourceServers,
} from './shared-registry.js';
import type { Api, Application } from './shared-registry.js';

const PORT = Number(process.env.PORT ?? 3002);
const ORIGIN = `http://localhost:${PORT}`;
/** The provider's issuer, without a trailing slash (OpenID Connect Discovery's convention). */
const ISSUER = ORIGIN;
const SUBJECT_TOKEN_TYPE = 'urn:acme:partner-id-token';

const APPLICATIONS: Application[] = [
  {
    client_id: 'acme-app',
    client_secret: 'acme-app-secret-change-me',
    name: 'Acme App',
    redirect_uris: [`${ORIGIN}/callback`],
  },
];
const APIS: Api[] = [
  {
    identifier: 'https://api.acme.example/orders',
    name: 'Orders API',
    scopes: ['read:orders', 'write:orders'],
    token_lifetime: 3600,
  },
];

/** The signing key both servers use: one private JWK, generated at start. */
async function generateSigningKey(): Promise<JWK & { kid: string; alg: typeof SIGNING_ALG }> {
  const { privateKey } = await generateKeyPair(SIGNING_ALG, { extractable: true });
  const jwk = await exportJWK(privateKey);
  return { ...jwk, kid: `acme-${SIGNING_ALG.toLowerCase()}-1`, alg: SIGNING_ALG, use: 'sig' };
}

async function main(): Promise<void> {
  const signingKey = await generateSigningKey();
  const users = new MemoryUserStore();
  const partner = await SimulatedPartnerIdp.create(ORIGIN);

  const provider = new Provider(ISSUER, {
    clients: providerClients(APPLICATIONS),
    jwks: { keys: [signingKey] },
    findAccount: findAccountIn(users),
    // The provider's default claims (acr, auth_time, iss, sid) plus the profile's.
    claims: { acr: null, auth_time: null, iss: null, sid: null, ...ACCOUNT_CLAIMS },
    routes: { token: '/oauth/token' },
    features: {
      devInteractions: { enabled: false }, // the login is ./session-transfer.ts
      clientCredentials: { enabled: true },
      resourceIndicators: {
        enabled: true,
        getResourceServerInfo: resourceServerInfo(APIS),
      },
    },
    ttl: {
      AccessToken: (_ctx, token) => token.resourceServer?.accessTokenTTL ?? 3600,
      ClientCredentials: (_ctx, token) => token.resourceServer?.accessTokenTTL ?? 3600,
      AuthorizationCode: 60,
      IdToken: ID_TOKEN_LIFETIME,
      Interaction: 600,
      Grant: 86400,
      Session: 86400,
    },
    cookies: { keys: [crypto.randomBytes(32).toString('base64url')] },
  });
  provider.on('server_error', (_ctx, err) => console.error('oidc-provider server_error', err));

  const cte = customTokenExchange({
    issuer: ISSUER,
    keys: [signingKey],
    clients: routerClients(APPLICATIONS),
    resourceServers: routerResourceServers(APIS),
    users,
    // Only its profile's type is the router's; other token exchanges go on to the provider.
    unknownSubjectTokenType: 'next',
    // The provider serves the issuer's discovery document; the router's would shadow it.
    metadata: { serve: false },
  });
  const action = await cte.actions.create({
    name: 'verify-partner-id-token',
    code: PARTNER_ID_TOKEN_ACTION,
    secrets: { PARTNER_ISSUER: partner.issuer, PARTNER_JWKS_URL: partner.jwksUrl },
    allowed_hosts: [`localhost:${PORT}`],
    // The simulated partner is on this machine; a real one is public and needs no private network.
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
  app.use(partner.router());
  // Custom token exchanges of its profiles' types; every other /oauth/token request goes on.
  app.use(cte);
  app.use(sessionTransfer({ provider, issuer: ISSUER, jwks: await cte.keys.jwks() }));
  // Where the provider sends the browser back with a code: show how to redeem it.
  app.get('/callback', (req: Request, res: Response) => {
    const code = typeof req.query.code === 'string' ? req.query.code : '';
    res.type('text').send(`Redeem the code (valid 60 seconds):

curl -s ${ORIGIN}/oauth/token -u ${APPLICATIONS[0]!.client_id}:${APPLICATIONS[0]!.client_secret} \\
  -d grant_type=authorization_code -d code=${code} -d redirect_uri=${ORIGIN}/callback

then the provider's userinfo: curl -s ${ORIGIN}/me -H 'authorization: Bearer <access_token>'
`);
  });
  app.get('/logs', (_req, res, next) => {
    cte.logs.list().then((entries) => res.json(entries), next);
  });
  // Everything else is the provider's: discovery, /jwks, /auth, the other grants, /me.
  app.use(provider.callback());

  const server = app.listen(PORT, 'localhost', async () => {
    const [client] = APPLICATIONS as [Application];
    const [api] = APIS as [Api];
    const subjectToken = await partner.signIdToken('jane-42', client.client_id, {
      email: 'jane@partner.example',
      email_verified: true,
      name: 'Jane Partner',
    });
    const authorize = new URL(`${ORIGIN}/auth`);
    authorize.search = new URLSearchParams({
      client_id: client.client_id,
      response_type: 'code',
      scope: 'openid email profile',
      redirect_uri: `${ORIGIN}/callback`,
    }).toString();
    console.log(`node-oidc-provider host with Custom Token Exchange
Issuer: ${ISSUER}   Discovery: ${ISSUER}/.well-known/openid-configuration

The provider's own client_credentials grant (a JWT access token for the Orders API):

curl -s ${ORIGIN}/oauth/token \\
  -u ${client.client_id}:${client.client_secret} \\
  -d grant_type=client_credentials \\
  -d resource=${api.identifier} \\
  -d 'scope=read:orders'

A custom token exchange of a partner ID token (valid 10 minutes), same endpoint, same client:

curl -s ${ORIGIN}/oauth/token \\
  -u ${client.client_id}:${client.client_secret} \\
  -d grant_type=urn:ietf:params:oauth:grant-type:token-exchange \\
  -d subject_token_type=${SUBJECT_TOKEN_TYPE} \\
  -d subject_token=${subjectToken} \\
  -d resource=${api.identifier} \\
  -d 'scope=openid profile email read:orders'

Then sign the exchanged user in to the provider with that exchange's id_token (within 5 minutes):
${authorize.href}

Provider JWKS: ${ISSUER}/jwks   Tenant logs: ${ORIGIN}/logs`);
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
