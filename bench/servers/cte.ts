/**
 * The router as the benchmark serves it: one profile whose action verifies an ES256 subject JWT
 * against a JWKS (served by this process) and sets the user, as an in-process handler
 * (`mode: 'inline'`) or as sandboxed code (`'sandbox'`). `'hostile'` is `'sandbox'` plus a second
 * profile whose sandboxed action spins forever (the harness sends it a trickle of requests).
 * `'sandbox-otel'` is `'sandbox'` with an OpenTelemetry SDK installed (see otel-sdk.ts): every
 * span recorded and every metric aggregated.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { createRemoteJWKSet, exportJWK, generateKeyPair, jwtVerify } from 'jose';
import { customTokenExchange } from '../../lib/index.js';
import type { CustomTokenExchangeHandler } from '../../lib/index.js';
import type { BenchConfig } from './child.js';
import { readConfig, serveToParent } from './child.js';

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
  const { privateKey } = await generateKeyPair('ES256', { extractable: true });
  const cte = customTokenExchange({
    issuer: `http://localhost:${port}/`,
    keys: [{ ...(await exportJWK(privateKey)), kid: 'bench-es256', alg: 'ES256' }],
    clients: [
      {
        client_id: config.client.id,
        client_secret: config.client.secret,
        name: 'Bench',
        token_endpoint_auth_method: 'client_secret_post',
        jwt_configuration: { alg: 'ES256' },
        token_exchange: { allow_any_profile_of_type: ['custom_authentication'] },
      },
    ],
    resourceServers: [
      { identifier: config.audience, signing_alg: 'ES256', scopes: [{ value: 'read' }] },
    ],
    defaultAudience: config.audience,
  });
  for (let i = 0; i < 100; i += 1) {
    cte.users.create({ connection: 'bench', connection_user_id: `user-${i}`, profile: {} });
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
  const action = await cte.actions.create(
    config.mode === 'inline'
      ? { name: 'bench-inline', handler: inline }
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

if (process.send) await start(readConfig());
