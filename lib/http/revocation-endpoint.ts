import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { AttackProtection } from '../attack-protection/attack-protection.js';
import { InvalidRequest } from '../errors.js';
import type { ExchangeContext } from '../exchange/exchange-context.js';
import { revocationEntry } from '../exchange/exchange-log.js';
import type { ExchangeServices } from '../exchange/exchange-services.js';
import { hasRefreshTokenShape } from '../refresh-tokens/opaque-refresh-token.js';
import type { RefreshTokenService } from '../refresh-tokens/refresh-token-service.js';
import type { Client } from '../registry/clients.js';
import { tokenEndpointBodyParser } from './body-parser.js';
import { NO_STORE_HEADERS } from './error-handler.js';
import type { TokenRequest } from './token-request.js';
import { readTokenRequest, valuesOf } from './token-request.js';

interface RevocationRequest {
  request?: TokenRequest;
  client?: Client;
}

/**
 * `POST {mount}/oauth/revoke` (RFC 7009) for the refresh tokens the router issues, as small named
 * steps like the token endpoint. A request whose `token` does not have the shape of the router's
 * tokens goes to the host with `next()` untouched (its own revocation endpoint keeps working).
 * Otherwise: the client authenticates as at the token endpoint (a `private_key_jwt` assertion's
 * `aud` is the issuer), and the answer is `200` with no body whether the token was revoked,
 * unknown, ended, or issued to another client (that one is not revoked: the answer tells a
 * client nothing about someone else's token). Revoking ends the token's whole family.
 * `token_type_hint` is accepted and ignored (RFC 7009 §2.1: the router only revokes refresh
 * tokens and looks for the token whatever the hint).
 */
export function revocationEndpoint(
  services: ExchangeServices,
  refreshTokens: RefreshTokenService,
  protection: AttackProtection,
): RequestHandler[] {
  const requests = new WeakMap<Request, RevocationRequest>();

  function routeRevocationRequest(req: Request, _res: Response, next: NextFunction): void {
    const tokens = valuesOf((req.body as Record<string, unknown>).token);
    if (!tokens.some((token) => hasRefreshTokenShape(token))) return next('route');
    requests.set(req, {});
    next();
  }

  function readStrictParameters(req: Request, _res: Response, next: NextFunction): void {
    const request = readTokenRequest(req.body as Record<string, unknown>);
    if (request.params.token === undefined) throw new InvalidRequest('token is required');
    requests.get(req)!.request = request;
    next();
  }

  async function authenticateClient(req: Request, _res: Response, next: NextFunction) {
    requests.get(req)!.client = await services.authenticateClient(req);
    next();
  }

  async function revokeToken(req: Request, res: Response): Promise<void> {
    const { request, client } = requests.get(req)!;
    const family = await refreshTokens.revokeForClient(request!.params.token!, client!.client_id);
    if (family) {
      const context: ExchangeContext = {
        requestedScopes: [],
        ip: protection.clientIp(req, client!),
        client: client!,
      };
      services.log.write(revocationEntry(req, context, family));
    }
    res.status(200).set(NO_STORE_HEADERS).end();
  }

  return [
    tokenEndpointBodyParser(),
    routeRevocationRequest,
    readStrictParameters,
    authenticateClient,
    revokeToken,
  ];
}
