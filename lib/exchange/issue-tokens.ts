import type { PostExchangeClaims } from '../action-api/post-exchange-outcome.js';
import type { Actor } from '../action-api/types.js';
import type { Client } from '../registry/clients.js';
import { mintAccessToken } from '../tokens/access-token.js';
import { mintIdToken } from '../tokens/id-token.js';
import type { User } from '../users/user-store.js';
import type { ExchangeServices } from './exchange-services.js';
import type { ValidatedExchange } from './validate-exchange.js';

/** The RFC 8693 §2.2.1 success response. */
export interface TokenResponse {
  access_token: string;
  issued_token_type: string;
  token_type: 'Bearer';
  expires_in: number;
  scope: string;
  id_token?: string;
  /** When `offline_access` was granted (spec §5); added by the token endpoint. */
  refresh_token?: string;
}

/**
 * Signs the access token (and the ID token when `openid` was granted) for the exchange, with the
 * post-exchange action's custom claims, if any.
 */
export function issueTokens(
  services: ExchangeServices,
  client: Client,
  exchange: ValidatedExchange,
  user: User,
  actor: Actor | undefined,
  claims?: PostExchangeClaims,
): { response: TokenResponse; jti: string } {
  const { config, keys } = services;
  const { resourceServer, grantedScopes } = exchange;
  const now = Math.floor(Date.now() / 1000);
  const access = mintAccessToken({
    issuer: config.issuer,
    audience: resourceServer.identifier,
    subject: user.user_id,
    clientId: client.client_id,
    scope: grantedScopes,
    lifetime: resourceServer.token_lifetime,
    alg: resourceServer.signing_alg,
    keys,
    now,
    ...(actor === undefined ? {} : { actor }),
    ...(claims === undefined ? {} : { extraClaims: claims.accessToken }),
  });
  const response: TokenResponse = {
    access_token: access.token,
    issued_token_type: exchange.requestedTokenType,
    token_type: 'Bearer',
    expires_in: access.expires_in,
    scope: grantedScopes.join(' '),
  };
  if (grantedScopes.includes('openid')) {
    response.id_token = mintIdToken({
      issuer: config.issuer,
      client,
      user,
      scope: grantedScopes,
      keys,
      now,
      ...(actor === undefined ? {} : { actor }),
      ...(claims === undefined ? {} : { extraClaims: claims.idToken }),
    });
  }
  return { response, jti: access.jti };
}
