import {
  InvalidRefreshToken,
  InvalidRequest,
  InvalidScope,
  InvalidTarget,
  UnauthorizedClient,
  UserBlocked,
} from '../errors.js';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { endExchange, requireExchange } from '../exchange/exchange-context.js';
import { refreshSuccessEntry } from '../exchange/exchange-log.js';
import type { ExchangeServices } from '../exchange/exchange-services.js';
import { grantScopes, parseScope } from '../exchange/scopes.js';
import { hasRefreshTokenShape } from '../refresh-tokens/opaque-refresh-token.js';
import { isRefreshTokenRequest } from '../refresh-tokens/refresh-token-request.js';
import type { RefreshTokenService } from '../refresh-tokens/refresh-token-service.js';
import type { Client } from '../registry/clients.js';
import type { ResourceServer } from '../registry/resource-servers.js';
import type { RefreshTokenFamily } from '../stores/refresh-token-store.js';
import { mintAccessToken } from '../tokens/access-token.js';
import { mintIdToken } from '../tokens/id-token.js';
import { sendTokenResponse } from './error-handler.js';
import type { TokenRequest } from './token-request.js';
import { valuesOf } from './token-request.js';

/** The RFC 6749 §6 `grant_type` the router answers for the refresh tokens it issued. */
export const REFRESH_TOKEN_GRANT = 'refresh_token';

/** The RFC 6749 §5.1 response to a refresh (no `issued_token_type`: this is not an exchange). */
export interface RefreshTokenResponse {
  access_token: string;
  token_type: 'Bearer';
  expires_in: number;
  scope: string;
  id_token?: string;
  refresh_token?: string;
}

/**
 * Routing, before client authentication: a `refresh_token` grant is ours only when the store
 * knows its token. Tokens without the router's prefix are never looked up, so the host's own
 * refresh tokens cost nothing and reach it untouched.
 */
export async function isOurRefreshTokenGrant(
  refreshTokens: RefreshTokenService,
  body: Record<string, unknown>,
): Promise<boolean> {
  if (!valuesOf(body.grant_type).includes(REFRESH_TOKEN_GRANT)) return false;
  for (const token of valuesOf(body.refresh_token)) {
    if (hasRefreshTokenShape(token) && (await refreshTokens.knows(token))) return true;
  }
  return false;
}

/**
 * The token endpoint's step for `grant_type=refresh_token` with one of the router's tokens
 * (spec §5); every other request goes on to the exchange steps. It runs after client
 * authentication. In order: the token must be usable by this client (bound to it, not revoked,
 * within its lifetimes; a rotated token reused outside the leeway revokes its family), the request
 * must stay within the token (same API; a `scope` only narrows), the client and API must still
 * allow it, the user must still exist and not be blocked; only then is the token redeemed
 * (rotated, atomically) and new tokens signed.
 */
export function refreshTokenGrant(
  services: ExchangeServices,
  refreshTokens: RefreshTokenService,
): RequestHandler {
  return async function redeemRefreshToken(req: Request, res: Response, next: NextFunction) {
    if (!isRefreshTokenRequest(req)) return next();
    const context = requireExchange(req);
    const client = context.client!;
    const request = context.request!;
    const token = request.params.refresh_token;
    if (token === undefined) throw new InvalidRequest('refresh_token is required');
    const narrowed =
      request.params.scope === undefined ? undefined : parseScope(request.params.scope);
    if (narrowed) context.requestedScopes = narrowed;

    const inspected = await refreshTokens.inspect(token, client.client_id);
    const { family } = inspected;
    context.requestedScopes = narrowed ?? [...family.scope];
    checkTarget(request, family);
    const resourceServer = checkClientAndApi(services, client, family);
    context.resourceServer = resourceServer;
    const extra = (narrowed ?? []).filter((scope) => !family.scope.includes(scope));
    if (extra.length > 0) {
      throw new InvalidScope('the requested scope exceeds the scope granted to the refresh token', {
        privateCause: `scopes not granted to the refresh token: ${extra.join(' ')}`,
      });
    }

    const user = await services.users.getById(family.user_id);
    if (user === undefined) {
      throw new InvalidRefreshToken(`user ${JSON.stringify(family.user_id)} no longer exists`);
    }
    context.user = user;
    if (user.blocked === true) {
      // The answer of a custom token exchange for a blocked user.
      throw new UserBlocked(user.user_id);
    }

    const redemption = await refreshTokens.redeem(inspected);

    // The API or the client's grant may have lost a scope since the token was issued.
    const scope = grantScopes(
      narrowed ?? family.scope,
      resourceServer.scopes,
      services.clientGrants.scopesFor(client.client_id, family.audience) ?? undefined,
      true,
    );
    const { config, keys } = services;
    const now = Math.floor(Date.now() / 1000);
    const access = mintAccessToken({
      issuer: config.issuer,
      audience: resourceServer.identifier,
      subject: user.user_id,
      clientId: client.client_id,
      scope,
      lifetime: resourceServer.token_lifetime,
      alg: resourceServer.signing_alg,
      keys,
      now,
    });
    const response: RefreshTokenResponse = {
      access_token: access.token,
      token_type: 'Bearer',
      expires_in: access.expires_in,
      scope: scope.join(' '),
    };
    if (scope.includes('openid')) {
      response.id_token = mintIdToken({ issuer: config.issuer, client, user, scope, keys, now });
    }
    if (redemption.refreshToken !== undefined) response.refresh_token = redemption.refreshToken;
    services.log.write(refreshSuccessEntry(req, context, scope, access.jti, family.family_id));
    sendTokenResponse(res, 200, response);
    endExchange(req);
  };
}

/** `audience`/`resource` may be sent, but only naming the token's own API (one API per token). */
function checkTarget({ audiences, resources }: TokenRequest, family: RefreshTokenFamily): void {
  for (const target of [...audiences, ...resources]) {
    if (target !== family.audience) {
      throw new InvalidTarget('the refresh token was not issued for the requested audience');
    }
  }
}

/**
 * The client rules of a custom token exchange still hold for the client (spec §1), and its API
 * still exists, still allows offline access and is still granted to the client.
 */
function checkClientAndApi(
  services: ExchangeServices,
  client: Client,
  family: RefreshTokenFamily,
): ResourceServer {
  if (!client.is_first_party) {
    throw new UnauthorizedClient('third-party clients cannot use token exchange');
  }
  if (!client.oidc_conformant) {
    throw new UnauthorizedClient('the client must be OIDC conformant to use token exchange');
  }
  if (!client.allow_any_profile_of_type.includes('custom_authentication')) {
    throw new UnauthorizedClient('the client is not allowed to use custom token exchange');
  }
  const resourceServer = services.resourceServers.get(family.audience);
  if (!resourceServer) {
    throw new InvalidRefreshToken(`API ${JSON.stringify(family.audience)} no longer exists`);
  }
  if (!resourceServer.allow_offline_access) {
    throw new InvalidRefreshToken(
      `API ${JSON.stringify(family.audience)} no longer has allow_offline_access`,
    );
  }
  if (services.clientGrants.scopesFor(client.client_id, family.audience) === null) {
    throw new InvalidRefreshToken(
      `client ${JSON.stringify(client.client_id)} has no client grant for ${JSON.stringify(family.audience)} any more`,
    );
  }
  return resourceServer;
}
