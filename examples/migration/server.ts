/**
 * Use case: migrating from a legacy identity provider without signing anyone out. The users were
 * bulk-imported beforehand with their legacy ids; the app still holds the legacy IdP's opaque
 * refresh token and exchanges it, once, for the router's tokens (refresh token included). The
 * profile's sandboxed action redeems the legacy refresh token at the legacy token endpoint, asks
 * the legacy userinfo endpoint who it belongs to, and selects the imported user: it never creates
 * or changes one.
 *
 *   npm run example:migration            (PORT defaults to 3004)
 *
 * The simulated legacy IdP is served by the same server under /legacy/. On start the example
 * prints curl commands with freshly issued legacy refresh tokens.
 */
import type { AddressInfo } from 'node:net';
import express from 'express';
import { MemoryUserStore, customTokenExchange } from '../../lib/index.js';
import { generateSigningKeys, stopOnSignal } from '../use-case-support/example-server.js';
import { createLegacyIdp } from './legacy-idp.js';
import type { LegacyUser } from './legacy-idp.js';

const PORT = Number(process.env.PORT ?? 3004);
const ORIGIN = `http://localhost:${PORT}`;
const ISSUER = `${ORIGIN}/`;
const SUBJECT_TOKEN_TYPE = 'urn:acme:legacy-refresh-token';
const API = 'https://api.acme.example/orders';
/** The mobile app, a public client that held legacy refresh tokens. */
const CLIENT_ID = 'acme-mobile';
/** The database connection the legacy users were imported into. */
const CONNECTION = 'legacy-users';
/** How the router's action authenticates to the legacy token endpoint. */
const LEGACY_CLIENT = {
  clientId: 'cte-migration',
  clientSecret: 'legacy-secret-for-the-migration',
};

const LEGACY_USERS: LegacyUser[] = [
  { sub: '1001', email: 'alice@acme.example', email_verified: true, name: 'Alice Martin' },
  { sub: '1002', email: 'bob@acme.example', email_verified: true, name: 'Bob Stone' },
  // Signed up after the bulk import: the router has no user for her.
  { sub: '1003', email: 'carol@acme.example', email_verified: false, name: 'Carol Reyes' },
];

/** The action, as integrators write it: plain JavaScript run in the isolated-vm sandbox. */
const ACTION_CODE = `
const LEGACY_TOKEN_URL = '${ORIGIN}/legacy/oauth/token';
const LEGACY_USERINFO_URL = '${ORIGIN}/legacy/userinfo';

exports.onExecuteCustomTokenExchange = async (event, api) => {
  const secrets = event.secrets;

  // 1. Redeem the legacy refresh token: proves it is live, and yields an access token.
  const tokenResponse = await fetch(LEGACY_TOKEN_URL, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
    body: new URLSearchParams({
      grant_type: 'refresh_token',
      refresh_token: event.transaction.subject_token,
      client_id: secrets.LEGACY_CLIENT_ID,
      client_secret: secrets.LEGACY_CLIENT_SECRET,
    }),
  });
  if (tokenResponse.status === 400) {
    let error = {};
    try {
      error = await tokenResponse.json();
    } catch {}
    if (error.error === 'invalid_grant') {
      api.access.rejectInvalidSubjectToken('the legacy refresh token is invalid or revoked');
      return;
    }
  }
  // Anything else is the legacy IdP's problem, not the token's: fail with server_error (the app
  // keeps its legacy token and retries later). A dropped connection throws from fetch itself.
  if (!tokenResponse.ok) throw new Error('legacy token endpoint answered ' + tokenResponse.status);
  const { access_token } = await tokenResponse.json();

  // 2. Whose token is it?
  const userinfoResponse = await fetch(LEGACY_USERINFO_URL, {
    headers: { authorization: 'Bearer ' + access_token, accept: 'application/json' },
  });
  if (!userinfoResponse.ok) throw new Error('legacy userinfo endpoint answered ' + userinfoResponse.status);
  const legacyUser = await userinfoResponse.json();

  // 3. The user was imported with its legacy id: select it, create nothing, change nothing.
  api.authentication.setUserByConnection(
    '${CONNECTION}',
    { user_id: legacyUser.sub },
    { creationBehavior: 'none', updateBehavior: 'none' },
  );
};
`;

async function main(): Promise<void> {
  const legacy = createLegacyIdp(LEGACY_CLIENT, LEGACY_USERS);
  // The bulk import: every legacy user but Carol, under its legacy id.
  const users = new MemoryUserStore(
    LEGACY_USERS.filter((user) => user.sub !== '1003').map((user) => ({
      user_id: `auth0|${user.sub}`,
      email: user.email,
      email_verified: user.email_verified,
      name: user.name,
      identities: [{ connection: CONNECTION, user_id: user.sub, provider: 'auth0' }],
      app_metadata: { migrated_from: 'legacy-idp' },
    })),
  );

  const cte = customTokenExchange({
    issuer: ISSUER,
    keys: await generateSigningKeys(),
    clients: [
      {
        client_id: CLIENT_ID,
        name: 'Acme Mobile',
        token_endpoint_auth_method: 'none',
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
        // The app swaps its legacy refresh token for one of the router's.
        allow_offline_access: true,
      },
    ],
    defaultAudience: API,
    users,
  });
  const action = await cte.actions.create({
    name: 'redeem-legacy-refresh-token',
    code: ACTION_CODE,
    secrets: {
      LEGACY_CLIENT_ID: LEGACY_CLIENT.clientId,
      LEGACY_CLIENT_SECRET: LEGACY_CLIENT.clientSecret,
    },
    allowed_hosts: [`localhost:${PORT}`],
    // The simulated legacy IdP runs on this machine; a legacy IdP on a private network needs its
    // range here too, and nothing else is reachable.
    allowed_private_networks: ['127.0.0.0/8', '::1/128'],
  });
  await cte.actions.deploy(action.id);
  await cte.profiles.create({
    name: 'Legacy refresh tokens',
    subject_token_type: SUBJECT_TOKEN_TYPE,
    action_id: action.id,
    type: 'custom_authentication',
  });

  // Refresh tokens the legacy IdP issued before the migration.
  const aliceToken = legacy.issueRefreshToken('1001');
  const bobToken = legacy.issueRefreshToken('1002');
  legacy.revoke(bobToken); // Bob signed out everywhere last week.
  const carolToken = legacy.issueRefreshToken('1003');

  const app = express();
  app.use('/legacy', legacy.routes);
  app.use(cte);
  // For the tests and the curious: the tenant log and the user store.
  app.get('/logs', (_req, res, next) => {
    cte.logs.list().then((entries) => res.json(entries), next);
  });
  app.get('/users', (_req, res) => {
    res.json(users.list());
  });

  const server = app.listen(PORT, 'localhost', () => {
    const port = (server.address() as AddressInfo).port;
    const exchange = (token: string) => `curl -s http://localhost:${port}/oauth/token \\
  -d client_id=${CLIENT_ID} \\
  -d grant_type=urn:ietf:params:oauth:grant-type:token-exchange \\
  -d subject_token_type=${SUBJECT_TOKEN_TYPE} \\
  -d subject_token=${token} \\
  -d audience=${API} \\
  -d 'scope=openid profile email offline_access read:orders'`;
    console.log(`Legacy IdP migration example on http://localhost:${port}

Alice's legacy refresh token (imported as auth0|1001) exchanged for the router's tokens:

${exchange(aliceToken)}

Bob's legacy refresh token was revoked (400 invalid_request):       BOB_TOKEN=${bobToken}
Carol was never imported (400 invalid_request "user does not exist"): CAROL_TOKEN=${carolToken}

Switch the legacy IdP into an outage (failing: 503 answers; unreachable: dropped connections) and back:

curl -s -X PUT http://localhost:${port}/legacy/admin/mode -H 'content-type: application/json' -d '{"mode":"failing"}'
curl -s -X PUT http://localhost:${port}/legacy/admin/mode -H 'content-type: application/json' -d '{"mode":"up"}'

Users: http://localhost:${port}/users
Public keys: http://localhost:${port}/.well-known/jwks.json   Tenant logs: http://localhost:${port}/logs`);
  });
  stopOnSignal(server, cte);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
