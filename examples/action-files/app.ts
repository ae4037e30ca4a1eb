import express from 'express';
import type { Express } from 'express';
import type { JSONWebKeySet } from 'jose';
import { customTokenExchange } from '../../lib/index.js';
import type { CustomTokenExchangeRouter } from '../../lib/index.js';
import { loadActionCode } from './load-action.js';

/** The token exchange's `subject_token_type` for the partner's ID tokens. */
export const SUBJECT_TOKEN_TYPE = 'urn:partner:id-token';
/** The API the tokens are for. */
export const API = 'https://api.example.com/';
/** The public client that exchanges the partner's tokens. */
export const CLIENT_ID = 'partner-app';

/**
 * The router with the action of actions/verify-partner-token.ts, registered as sandboxed code
 * compiled from the file, and mounted on an Express app.
 */
export async function createApp(
  issuer: string,
  partnerJwks: JSONWebKeySet,
): Promise<{ app: Express; cte: CustomTokenExchangeRouter }> {
  const cte = customTokenExchange({
    issuer,
    clients: [
      {
        client_id: CLIENT_ID,
        name: 'Partner app',
        token_endpoint_auth_method: 'none',
        token_exchange: { allow_any_profile_of_type: ['custom_authentication'] },
      },
    ],
    resourceServers: [{ identifier: API, scopes: [{ value: 'read:orders' }] }],
    defaultAudience: API,
  });
  const action = await cte.actions.create({
    name: 'verify-partner-token',
    code: loadActionCode(new URL('./actions/verify-partner-token.ts', import.meta.url)),
    secrets: { PARTNER_JWKS: JSON.stringify(partnerJwks) },
  });
  await cte.actions.deploy(action.id);
  await cte.profiles.create({
    name: 'Partner ID tokens',
    subject_token_type: SUBJECT_TOKEN_TYPE,
    action_id: action.id,
    type: 'custom_authentication',
  });
  const app = express();
  app.use(cte);
  return { app, cte };
}
