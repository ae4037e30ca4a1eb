/**
 * Use case: integrating an external identity provider. A partner's single-page app signs its users
 * in with the partner's own OpenID provider and exchanges the partner's ID token for Acme's
 * tokens. The profile's sandboxed action verifies the ID token against the partner's JWKS, accepts
 * each token once (its `jti` consumed through `api.replay`, so a stolen token cannot be replayed
 * while it is still valid), and creates (first time) or refreshes (later) the user at the
 * `partner` connection.
 *
 *   npm run example:external-idp            (PORT defaults to 3003)
 *
 * The simulated partner IdP is served by the same server under /partner/. On start the example
 * prints a curl command with a freshly signed partner ID token, and the address of the partner's
 * single-page app, served on a port of its own (SPA_PORT, default PORT + 1): another origin than
 * the router's, so the browser's exchange is a cross-origin call, which the router allows with
 * CORS for the origin in the client's allowed_origins.
 */
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { MemoryUserStore, customTokenExchange } from '../../lib/index.js';
import { generateSigningKeys, stopOnSignal } from '../use-case-support/example-server.js';
import { createPartnerIdp } from '../use-case-support/partner-idp.js';
import { browserClientPage } from './browser-client.js';

const PORT = Number(process.env.PORT ?? 3003);
const ORIGIN = `http://localhost:${PORT}`;
/** Where the partner's single-page app is served: another port, so another origin. */
const SPA_PORT = Number(process.env.SPA_PORT ?? PORT + 1);
const SPA_ORIGIN = `http://localhost:${SPA_PORT}`;
const ISSUER = `${ORIGIN}/`;
const PARTNER_ISSUER = `${ORIGIN}/partner/`;
/** The client id Acme's app is registered under at the partner: the `aud` of its ID tokens. */
const PARTNER_CLIENT_ID = 'acme-storefront';
const SUBJECT_TOKEN_TYPE = 'urn:acme:partner-id-token';
const API = 'https://api.acme.example/orders';
/** The partner's single-page app, a public client of the router. */
const CLIENT_ID = 'partner-spa';

/** The action, as integrators write it: plain JavaScript run in the isolated-vm sandbox. */
const ACTION_CODE = `
const { jwtVerify, createRemoteJWKSet } = require('jose');

// Verification errors that mean "this token is no good". Anything else (the partner's JWKS is
// unreachable or times out) is an outage: rethrown, it fails the exchange with server_error.
const INVALID_TOKEN_CODES = [
  'ERR_JWT_EXPIRED',
  'ERR_JWT_CLAIM_VALIDATION_FAILED',
  'ERR_JWS_SIGNATURE_VERIFICATION_FAILED',
  'ERR_JWKS_NO_MATCHING_KEY',
  'ERR_JWS_INVALID',
  'ERR_JWT_INVALID',
  'ERR_JOSE_ALG_NOT_ALLOWED',
  'ERR_JOSE_NOT_SUPPORTED',
];

exports.onExecuteCustomTokenExchange = async (event, api) => {
  const jwks = createRemoteJWKSet(new URL(event.secrets.PARTNER_JWKS_URI));
  let payload;
  try {
    ({ payload } = await jwtVerify(event.transaction.subject_token, jwks, {
      issuer: event.secrets.PARTNER_ISSUER,
      audience: event.secrets.PARTNER_CLIENT_ID,
      algorithms: ['ES256'],
      requiredClaims: ['sub', 'iat', 'exp', 'jti'],
    }));
  } catch (err) {
    if (!INVALID_TOKEN_CODES.includes(err.code)) throw err;
    console.log('partner ID token refused: ' + err.code + ': ' + err.message);
    api.access.rejectInvalidSubjectToken(
      err.code === 'ERR_JWT_EXPIRED' ? 'the partner ID token has expired' : 'the partner ID token is invalid',
    );
    return;
  }
  // Each ID token once, on every instance sharing the replay store, for as long as it is valid.
  if (!(await api.replay.consume(payload.jti, { expiresAt: payload.exp }))) {
    console.log('partner ID token refused: jti ' + payload.jti + ' was already used');
    api.access.rejectInvalidSubjectToken('the partner ID token was already used');
    return;
  }
  api.authentication.setUserByConnection(
    'partner',
    {
      user_id: payload.sub,
      email: payload.email,
      email_verified: payload.email_verified === true,
      name: payload.name,
      given_name: payload.given_name,
      family_name: payload.family_name,
    },
    // First exchange creates partner|<sub>; later ones replace its profile with the token's.
    { creationBehavior: 'create_if_not_exists', updateBehavior: 'replace' },
  );
};
`;

async function main(): Promise<void> {
  const partner = await createPartnerIdp(PARTNER_ISSUER, PARTNER_CLIENT_ID);
  const users = new MemoryUserStore();

  const cte = customTokenExchange({
    issuer: ISSUER,
    keys: await generateSigningKeys(),
    clients: [
      {
        client_id: CLIENT_ID,
        name: 'Partner SPA',
        token_endpoint_auth_method: 'none',
        jwt_configuration: { alg: 'ES256' },
        // The browser app's origin: CORS headers on the router's answers to it.
        allowed_origins: [SPA_ORIGIN],
        token_exchange: { allow_any_profile_of_type: ['custom_authentication'] },
      },
    ],
    resourceServers: [
      {
        identifier: API,
        name: 'Orders API',
        scopes: [{ value: 'read:orders' }, { value: 'write:orders' }],
        signing_alg: 'ES256',
        token_lifetime: 3600,
      },
    ],
    defaultAudience: API,
    users,
  });
  const action = await cte.actions.create({
    name: 'verify-partner-id-token',
    code: ACTION_CODE,
    secrets: {
      PARTNER_ISSUER,
      PARTNER_JWKS_URI: partner.jwksUri,
      PARTNER_CLIENT_ID,
    },
    allowed_hosts: [`localhost:${PORT}`],
    // The simulated partner runs on this machine; a real partner IdP is public and needs no
    // private network.
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
  app.use('/partner', partner.routes);
  app.use(cte);
  // The partner's single-page app, on its own origin: a cross-origin client of the router. The
  // partner's sign-in is served there too, so the page reaches it without CORS.
  const spa = express();
  spa.use('/partner', partner.routes);
  spa.get('/', (_req, res) => {
    res.type('html').send(
      browserClientPage({
        tokenEndpoint: `${ORIGIN}/oauth/token`,
        clientId: CLIENT_ID,
        subjectTokenType: SUBJECT_TOKEN_TYPE,
        audience: API,
        scope: 'openid profile email read:orders',
      }),
    );
  });
  // For the tests and the curious: the tenant log and the user store.
  app.get('/logs', (_req, res, next) => {
    cte.logs.list().then((entries) => res.json(entries), next);
  });
  app.get('/users', (_req, res) => {
    res.json(users.list());
  });

  const spaServer = spa.listen(SPA_PORT, 'localhost');
  await once(spaServer, 'listening');
  const server = app.listen(PORT, 'localhost', async () => {
    const port = (server.address() as AddressInfo).port;
    const idToken = await partner.signIdToken({
      sub: 'p-1001',
      email: 'jane@partner.example',
      email_verified: true,
      name: 'Jane Doe',
      given_name: 'Jane',
      family_name: 'Doe',
    });
    console.log(`External IdP example on http://localhost:${port}

A partner ID token for p-1001 (Jane Doe), valid for 10 minutes, exchanged for Acme tokens:

curl -s http://localhost:${port}/oauth/token \\
  -d client_id=${CLIENT_ID} \\
  -d grant_type=urn:ietf:params:oauth:grant-type:token-exchange \\
  -d subject_token_type=${SUBJECT_TOKEN_TYPE} \\
  -d subject_token=${idToken} \\
  -d audience=${API} \\
  -d 'scope=openid profile email read:orders'

Sign in at the partner again (here with a new name) for a fresh ID token:

curl -s http://localhost:${port}/partner/sign-in -H 'content-type: application/json' \\
  -d '{"sub":"p-1001","email":"jane@partner.example","email_verified":true,"name":"Jane Smith","given_name":"Jane","family_name":"Smith"}'

The partner's single-page app, a cross-origin browser client of the router (CORS):
${SPA_ORIGIN}/

Partner JWKS: ${partner.jwksUri}   Users: http://localhost:${port}/users
Public keys: http://localhost:${port}/.well-known/jwks.json   Tenant logs: http://localhost:${port}/logs`);
  });
  stopOnSignal(server, cte);
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      spaServer.close();
      spaServer.closeIdleConnections();
    });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
