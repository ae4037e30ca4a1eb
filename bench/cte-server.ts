/**
 * A benchmark server: the router with one profile whose action verifies an ES256 subject JWT
 * against a JWKS served by the same process, as an in-process handler (`inline`) or as sandboxed
 * code (`sandbox`). Run as a child of a bench script: it reports its port and, on request, its CPU
 * time over IPC.
 */
import type { AddressInfo } from 'node:net';
import express from 'express';
import { createRemoteJWKSet, decodeJwt, exportJWK, generateKeyPair, jwtVerify } from 'jose';
import type { JWK } from 'jose';
import { customTokenExchange } from '../lib/index.js';
import type { CustomTokenExchangeHandler } from '../lib/index.js';

export const SUBJECT_TOKEN_TYPE = 'urn:bench:subject';
export const AUDIENCE = 'https://api.bench.example/';
export const CLIENT = { id: 'bench-client', secret: 'bench-client-secret-0123456789' };

/** The action's logic, written once for both runners. */
export const ACTION_CODE = `
const { jwtVerify, createRemoteJWKSet } = require('jose');
exports.onExecuteCustomTokenExchange = async (event, api) => {
  const jwks = createRemoteJWKSet(new URL(event.secrets.JWKS_URL));
  try {
    const { payload } = await jwtVerify(event.transaction.subject_token, jwks, {
      issuer: 'https://idp.bench.example/', audience: 'bench', algorithms: ['ES256'],
    });
    api.authentication.setUserById(payload.sub);
  } catch (err) {
    api.access.rejectInvalidSubjectToken('invalid subject token: ' + err.code);
  }
};`;

/** The same action without signature verification: the sandbox's fixed cost, no host call. */
export const DECODE_ONLY_CODE = `
const { decodeJwt } = require('jose');
exports.onExecuteCustomTokenExchange = async (event, api) => {
  api.authentication.setUserById(decodeJwt(event.transaction.subject_token).sub);
};`;

export type Scenario = 'inline' | 'sandbox' | 'inline-decode' | 'sandbox-decode';

export async function startCteServer(scenario: Scenario, idpJwk: JWK): Promise<number> {
  const app = express();
  app.get('/idp/jwks', (_req, res) => {
    res.json({ keys: [idpJwk] });
  });
  const listener = app.listen(0, '127.0.0.1');
  await new Promise((resolve) => listener.once('listening', resolve));
  const port = (listener.address() as AddressInfo).port;
  const jwksUrl = `http://127.0.0.1:${port}/idp/jwks`;

  const { privateKey } = await generateKeyPair('ES256', { extractable: true });
  const cte = customTokenExchange({
    issuer: `http://localhost:${port}/`,
    keys: [{ ...(await exportJWK(privateKey)), kid: 'bench-es256', alg: 'ES256' }],
    clients: [
      {
        client_id: CLIENT.id,
        client_secret: CLIENT.secret,
        name: 'Bench',
        token_endpoint_auth_method: 'client_secret_post',
        jwt_configuration: { alg: 'ES256' },
        token_exchange: { allow_any_profile_of_type: ['custom_authentication'] },
      },
    ],
    resourceServers: [{ identifier: AUDIENCE, signing_alg: 'ES256', scopes: [{ value: 'read' }] }],
    defaultAudience: AUDIENCE,
    logCapacity: 100,
  });
  for (let i = 0; i < 100; i += 1) {
    cte.users.create({ connection: 'bench', connection_user_id: `user-${i}`, profile: {} });
  }

  const remote = createRemoteJWKSet(new URL(jwksUrl));
  const inline: CustomTokenExchangeHandler = async (event, api) => {
    try {
      const { payload } = await jwtVerify(event.transaction.subject_token, remote, {
        issuer: 'https://idp.bench.example/',
        audience: 'bench',
        algorithms: ['ES256'],
      });
      api.authentication.setUserById(payload.sub!);
    } catch (err) {
      api.access.rejectInvalidSubjectToken(
        `invalid subject token: ${(err as { code?: string }).code}`,
      );
    }
  };
  const decodeOnly: CustomTokenExchangeHandler = async (event, api) => {
    api.authentication.setUserById(decodeJwt(event.transaction.subject_token).sub!);
  };
  const sandboxed = {
    secrets: { JWKS_URL: jwksUrl },
    allowed_hosts: [`127.0.0.1:${port}`],
    allowed_private_networks: ['127.0.0.1/32'],
  };
  const definitions = {
    inline: { name: 'bench-inline', handler: inline },
    'inline-decode': { name: 'bench-inline-decode', handler: decodeOnly },
    sandbox: { name: 'bench-sandbox', code: ACTION_CODE, ...sandboxed },
    'sandbox-decode': { name: 'bench-sandbox-decode', code: DECODE_ONLY_CODE, ...sandboxed },
  };
  const action = await cte.actions.create(definitions[scenario]);
  await cte.actions.deploy(action.id);
  await cte.profiles.create({
    name: 'Bench profile',
    subject_token_type: SUBJECT_TOKEN_TYPE,
    action_id: action.id,
    type: 'custom_authentication',
  });
  app.use(cte);
  return port;
}

/** Child-process entry: `node bench/cte-server.ts <scenario> <idp public JWK as JSON>`. */
if (process.send && process.argv[2]) {
  const scenario = process.argv[2] as Scenario;
  const jwk = JSON.parse(process.argv[3] ?? '{}') as JWK;
  const port = await startCteServer(scenario, jwk);
  process.send({ port });
  process.on('message', (message) => {
    if (message === 'exit') process.exit(0);
    if (message === 'cpu') {
      const usage = process.cpuUsage();
      process.send!({ cpuMicros: usage.user + usage.system, rss: process.memoryUsage().rss });
    }
  });
}
