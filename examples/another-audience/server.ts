/**
 * Use case: tokens for another audience. The Orders API receives a user's access token meant for
 * itself (API A) and needs to call the Invoices API (API B) for that same user. Its backend, the
 * `orders-service` client, exchanges the Orders API token for an Invoices API token. The second
 * profile's sandboxed action verifies the Orders token against the router's own JWKS (`at+jwt`,
 * issuer, audience, the `read:invoices` scope) and selects the user it names.
 *
 * To have an Orders token to start from, a first profile exchanges a partner's ID token for one
 * (the external-idp example's flow), so both steps run through the router.
 *
 *   npm run example:another-audience            (PORT defaults to 3005)
 *
 * On start the example prints both curl commands, the first with a freshly signed partner ID token.
 */
import type { AddressInfo } from 'node:net';
import express from 'express';
import { customTokenExchange } from '../../lib/index.js';
import { generateSigningKeys, stopOnSignal } from '../use-case-support/example-server.js';
import { createPartnerIdp } from '../use-case-support/partner-idp.js';

const PORT = Number(process.env.PORT ?? 3005);
const ORIGIN = `http://localhost:${PORT}`;
const ISSUER = `${ORIGIN}/`;
const PARTNER_ISSUER = `${ORIGIN}/partner/`;
const PARTNER_CLIENT_ID = 'acme-web';
/** API A and API B. */
const ORDERS_API = 'https://orders.acme.example/api';
const INVOICES_API = 'https://invoices.acme.example/api';
const PARTNER_TOKEN_TYPE = 'urn:acme:partner-id-token';
const ORDERS_TOKEN_TYPE = 'urn:acme:orders-api-access-token';
/** The web app: signs users in at the partner, gets Orders API tokens. A public client. */
const WEB_CLIENT_ID = 'acme-web';
/** The Orders API's backend: exchanges Orders API tokens for Invoices API tokens. */
const SERVICE_CLIENT_ID = 'orders-service';
const SERVICE_CLIENT_SECRET = 'orders-service-secret-change-me';

/**
 * The jose error codes that mean "this token is no good", spliced into both actions. Anything
 * else (a JWKS that is unreachable or times out) is an outage: rethrown, it is a `server_error`.
 */
const INVALID_TOKEN_CODES = `[
  'ERR_JWT_EXPIRED',
  'ERR_JWT_CLAIM_VALIDATION_FAILED',
  'ERR_JWS_SIGNATURE_VERIFICATION_FAILED',
  'ERR_JWKS_NO_MATCHING_KEY',
  'ERR_JWS_INVALID',
  'ERR_JWT_INVALID',
  'ERR_JOSE_ALG_NOT_ALLOWED',
  'ERR_JOSE_NOT_SUPPORTED',
]`;

/** Profile 1: a partner ID token for an Orders API token (see the external-idp example). */
const PARTNER_ACTION_CODE = `
const { jwtVerify, createRemoteJWKSet } = require('jose');
const INVALID_TOKEN_CODES = ${INVALID_TOKEN_CODES};

exports.onExecuteCustomTokenExchange = async (event, api) => {
  const jwks = createRemoteJWKSet(new URL('${PARTNER_ISSUER}.well-known/jwks.json'));
  let payload;
  try {
    ({ payload } = await jwtVerify(event.transaction.subject_token, jwks, {
      issuer: '${PARTNER_ISSUER}',
      audience: '${PARTNER_CLIENT_ID}',
      algorithms: ['ES256'],
      requiredClaims: ['sub', 'iat', 'exp'],
    }));
  } catch (err) {
    if (!INVALID_TOKEN_CODES.includes(err.code)) throw err;
    api.access.rejectInvalidSubjectToken('the partner ID token is invalid');
    return;
  }
  api.authentication.setUserByConnection(
    'partner',
    { user_id: payload.sub, email: payload.email, email_verified: payload.email_verified === true, name: payload.name },
    { creationBehavior: 'create_if_not_exists', updateBehavior: 'replace' },
  );
};
`;

/** Profile 2: an Orders API access token (issued by this router) for an Invoices API token. */
const ORDERS_TOKEN_ACTION_CODE = `
const { jwtVerify, createRemoteJWKSet } = require('jose');
const INVALID_TOKEN_CODES = ${INVALID_TOKEN_CODES};

const ROUTER_ISSUER = '${ISSUER}';
const ORDERS_API = '${ORDERS_API}';
/** What the user must have granted the Orders API for it to fetch invoices on their behalf. */
const REQUIRED_SCOPE = 'read:invoices';

exports.onExecuteCustomTokenExchange = async (event, api) => {
  // The router's own public keys: the Orders token was signed by this router.
  const jwks = createRemoteJWKSet(new URL(ROUTER_ISSUER + '.well-known/jwks.json'));
  let payload;
  try {
    ({ payload } = await jwtVerify(event.transaction.subject_token, jwks, {
      typ: 'at+jwt', // an RFC 9068 access token, not an ID token
      issuer: ROUTER_ISSUER,
      audience: ORDERS_API, // issued for API A, not for B nor anything else
      algorithms: ['ES256'],
      requiredClaims: ['sub', 'scope', 'client_id'],
    }));
  } catch (err) {
    if (!INVALID_TOKEN_CODES.includes(err.code)) throw err;
    console.log('Orders API token refused: ' + err.code + ': ' + err.message);
    api.access.rejectInvalidSubjectToken('the subject token is not a valid Orders API access token');
    return;
  }
  const scopes = String(payload.scope).split(' ');
  if (!scopes.includes(REQUIRED_SCOPE)) {
    console.log('Orders API token of ' + payload.sub + ' has scope "' + payload.scope + '"');
    api.access.rejectInvalidSubjectToken('the Orders API access token does not carry ' + REQUIRED_SCOPE);
    return;
  }
  api.authentication.setUserById(payload.sub);
};
`;

async function main(): Promise<void> {
  const partner = await createPartnerIdp(PARTNER_ISSUER, PARTNER_CLIENT_ID);

  const cte = customTokenExchange({
    issuer: ISSUER,
    keys: await generateSigningKeys(),
    clients: [
      {
        client_id: WEB_CLIENT_ID,
        name: 'Acme Web',
        token_endpoint_auth_method: 'none',
        jwt_configuration: { alg: 'ES256' },
        token_exchange: { allow_any_profile_of_type: ['custom_authentication'] },
      },
      {
        client_id: SERVICE_CLIENT_ID,
        client_secret: SERVICE_CLIENT_SECRET,
        name: 'Orders service',
        token_endpoint_auth_method: 'client_secret_basic',
        jwt_configuration: { alg: 'ES256' },
        token_exchange: { allow_any_profile_of_type: ['custom_authentication'] },
      },
    ],
    resourceServers: [
      {
        identifier: ORDERS_API,
        name: 'Orders API',
        scopes: [{ value: 'read:orders' }, { value: 'read:invoices' }],
        signing_alg: 'ES256',
        token_lifetime: 3600,
      },
      {
        identifier: INVOICES_API,
        name: 'Invoices API',
        scopes: [{ value: 'read:invoices' }, { value: 'write:invoices' }],
        signing_alg: 'ES256',
        token_lifetime: 600,
      },
    ],
    // The web app may ask only for the Orders API; the Orders service only for reading invoices.
    clientGrants: [
      { client_id: WEB_CLIENT_ID, audience: ORDERS_API, scope: ['read:orders', 'read:invoices'] },
      { client_id: SERVICE_CLIENT_ID, audience: INVOICES_API, scope: ['read:invoices'] },
    ],
  });
  // Both actions fetch from this machine; real ones would reach public hosts only.
  const local = {
    allowed_hosts: [`localhost:${PORT}`],
    allowed_private_networks: ['127.0.0.0/8', '::1/128'],
  };
  const partnerAction = await cte.actions.create({
    name: 'verify-partner-id-token',
    code: PARTNER_ACTION_CODE,
    ...local,
  });
  const ordersAction = await cte.actions.create({
    name: 'verify-orders-api-token',
    code: ORDERS_TOKEN_ACTION_CODE,
    ...local,
  });
  for (const action of [partnerAction, ordersAction]) await cte.actions.deploy(action.id);
  await cte.profiles.create({
    name: 'Partner ID tokens',
    subject_token_type: PARTNER_TOKEN_TYPE,
    action_id: partnerAction.id,
    type: 'custom_authentication',
  });
  await cte.profiles.create({
    name: 'Orders API tokens',
    subject_token_type: ORDERS_TOKEN_TYPE,
    action_id: ordersAction.id,
    type: 'custom_authentication',
  });

  const app = express();
  app.use('/partner', partner.routes);
  app.use(cte);
  // For the tests and the curious: the tenant log.
  app.get('/logs', (_req, res, next) => {
    cte.logs.list().then((entries) => res.json(entries), next);
  });

  const server = app.listen(PORT, 'localhost', async () => {
    const port = (server.address() as AddressInfo).port;
    const idToken = await partner.signIdToken({
      sub: 'p-2002',
      email: 'sam@partner.example',
      email_verified: true,
      name: 'Sam Lee',
    });
    console.log(`Another-audience example on http://localhost:${port}

1. The web app exchanges a partner ID token (valid 10 minutes) for an Orders API token:

ORDERS_TOKEN=$(curl -s http://localhost:${port}/oauth/token \\
  -d client_id=${WEB_CLIENT_ID} \\
  -d grant_type=urn:ietf:params:oauth:grant-type:token-exchange \\
  -d subject_token_type=${PARTNER_TOKEN_TYPE} \\
  -d subject_token=${idToken} \\
  -d audience=${ORDERS_API} \\
  -d 'scope=read:orders read:invoices' \\
  | node -pe 'JSON.parse(require("fs").readFileSync(0, "utf8")).access_token')

2. The Orders service exchanges that token for an Invoices API token for the same user:

curl -s http://localhost:${port}/oauth/token \\
  -u ${SERVICE_CLIENT_ID}:${SERVICE_CLIENT_SECRET} \\
  -d grant_type=urn:ietf:params:oauth:grant-type:token-exchange \\
  -d subject_token_type=${ORDERS_TOKEN_TYPE} \\
  -d "subject_token=$ORDERS_TOKEN" \\
  -d audience=${INVOICES_API} \\
  -d scope=read:invoices

Public keys: http://localhost:${port}/.well-known/jwks.json   Tenant logs: http://localhost:${port}/logs`);
  });
  stopOnSignal(server, cte);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
