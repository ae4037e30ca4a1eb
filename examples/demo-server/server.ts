/**
 * The demo: an Express OAuth host with its own `client_credentials` grant, the Custom Token
 * Exchange router mounted in front of its token endpoint, and a simulated external identity
 * provider whose ES256 ID tokens a sandboxed action verifies against the provider's JWKS.
 *
 *   npm start            (PORT defaults to 3000)
 *
 * On start it prints a ready-to-paste curl command with a freshly signed subject token.
 */
import crypto from 'node:crypto';
import type { AddressInfo } from 'node:net';
import express from 'express';
import type { Request, Response } from 'express';
import { SignJWT, exportJWK, generateKeyPair } from 'jose';
import { customTokenExchange } from '../../lib/index.js';

const PORT = Number(process.env.PORT ?? 3000);
const ORIGIN = `http://localhost:${PORT}`;
const ISSUER = `${ORIGIN}/`;
const IDP_ISSUER = `${ORIGIN}/idp/`;
const SUBJECT_TOKEN_TYPE = 'urn:acme:partner-id-token';
const API = 'https://api.acme.example/orders';
const CLIENT_ID = 'demo-app';
const CLIENT_SECRET = 'demo-app-secret-change-me';

/** The action, as integrators write it: plain JavaScript run in the isolated-vm sandbox. */
const ACTION_CODE = `
const { jwtVerify, createRemoteJWKSet } = require('jose');

exports.onExecuteCustomTokenExchange = async (event, api) => {
  const jwks = createRemoteJWKSet(new URL(event.secrets.IDP_JWKS_URL));
  let payload;
  try {
    ({ payload } = await jwtVerify(event.transaction.subject_token, jwks, {
      issuer: event.secrets.IDP_ISSUER,
      audience: event.client.client_id,
      algorithms: ['ES256'],
      maxTokenAge: '10m',
    }));
  } catch (err) {
    if (err.code === 'ERR_JWKS_TIMEOUT' || err.code === 'ERR_FETCH_FAILED') throw err; // transient
    console.log('subject token refused:', err.code);
    api.access.rejectInvalidSubjectToken('the partner ID token is invalid');
    return;
  }
  api.authentication.setUserByConnection(
    'partner-idp',
    { user_id: payload.sub, email: payload.email, email_verified: payload.email_verified === true, name: payload.name },
    { creationBehavior: 'create_if_not_exists', updateBehavior: 'replace' },
  );
};
`;

async function main(): Promise<void> {
  // The simulated partner identity provider: its signing key and its JWKS.
  const idpKeys = await generateKeyPair('ES256', { extractable: true });
  const idpJwk = {
    ...(await exportJWK(idpKeys.publicKey)),
    kid: 'partner-1',
    alg: 'ES256',
    use: 'sig',
  };

  const cte = customTokenExchange({
    issuer: ISSUER,
    clients: [
      {
        client_id: CLIENT_ID,
        client_secret: CLIENT_SECRET,
        name: 'Demo App',
        token_endpoint_auth_method: 'client_secret_basic',
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
  });
  const action = await cte.actions.create({
    name: 'verify-partner-id-token',
    code: ACTION_CODE,
    secrets: { IDP_ISSUER, IDP_JWKS_URL: `${ORIGIN}/idp/.well-known/jwks.json` },
    allowed_hosts: [`localhost:${PORT}`],
    // The demo's IdP is on this machine; real IdPs are public and need no private network.
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
  app.get('/idp/.well-known/jwks.json', (_req, res) => {
    res.json({ keys: [idpJwk] });
  });
  app.use(cte);
  // The host's own token endpoint: every request the router does not claim arrives here.
  app.post('/oauth/token', express.urlencoded(), (req: Request, res: Response) => {
    res.set('Cache-Control', 'no-store');
    if (req.body?.grant_type !== 'client_credentials') {
      res
        .status(400)
        .json({ error: 'unsupported_grant_type', error_description: 'not supported by the host' });
      return;
    }
    res.json({
      access_token: `host-${crypto.randomBytes(16).toString('hex')}`,
      token_type: 'Bearer',
      expires_in: 600,
      issued_by: 'the host server',
    });
  });
  app.get('/logs', (_req, res, next) => {
    cte.logs.list().then((entries) => res.json(entries), next);
  });

  const server = app.listen(PORT, 'localhost', async (error?: Error) => {
    if (error) {
      // Express 5 hands listen errors (EADDRINUSE, ...) to this callback.
      console.error(`cannot listen on localhost:${PORT}: ${error.message}`);
      await cte.close();
      process.exit(1);
    }
    const port = (server.address() as AddressInfo).port;
    const subjectToken = await new SignJWT({
      email: 'jane@partner.example',
      email_verified: true,
      name: 'Jane Partner',
    })
      .setProtectedHeader({ alg: 'ES256', kid: 'partner-1' })
      .setIssuer(IDP_ISSUER)
      .setAudience(CLIENT_ID)
      .setSubject('jane-42')
      .setIssuedAt()
      .setExpirationTime('10m')
      .sign(idpKeys.privateKey);
    console.log(`Custom Token Exchange demo on http://localhost:${port}

Exchange a partner ID token (valid for 10 minutes) for tokens:

curl -s http://localhost:${port}/oauth/token \\
  -u ${CLIENT_ID}:${CLIENT_SECRET} \\
  -d grant_type=urn:ietf:params:oauth:grant-type:token-exchange \\
  -d subject_token_type=${SUBJECT_TOKEN_TYPE} \\
  -d subject_token=${subjectToken} \\
  -d audience=${API} \\
  -d 'scope=openid profile email read:orders'

The host's own grant still works through the same endpoint:

curl -s http://localhost:${port}/oauth/token -d grant_type=client_credentials

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
