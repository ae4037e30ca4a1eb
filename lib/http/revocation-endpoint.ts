import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { AttackProtection } from '../attack-protection/attack-protection.js';
import type { ClientAuthenticator } from '../client-auth/client-authenticator.js';
import { InvalidRequest, toOAuthError } from '../errors.js';
import { revocationEntry } from '../grants/request-log.js';
import { readTokenRequest, valuesOf } from '../grants/token-request.js';
import type { TenantLog } from '../logs/tenant-log.js';
import { hasRefreshTokenShape } from '../refresh-tokens/opaque-refresh-token.js';
import type { RefreshTokenService } from '../refresh-tokens/refresh-token-service.js';
import type { BodyReader } from './read-body.js';
import type { ShutdownGate } from './shutdown-gate.js';
import { NO_STORE_HEADERS, sendOAuthError } from './token-response.js';

/** What the revocation endpoint runs on; built once by `customTokenExchange()`. */
export interface RevocationEndpointOptions {
  readBody: BodyReader;
  authenticateClient: ClientAuthenticator;
  refreshTokens: RefreshTokenService;
  protection: Pick<AttackProtection, 'clientIp'>;
  log: TenantLog;
  /** Counts revocations for a graceful `close()`, and refuses them once it began. */
  shutdown: ShutdownGate;
}

/**
 * `POST {mount}/oauth/revoke` (RFC 7009) for the refresh tokens the router issues, one handler
 * like the token endpoint. A request whose `token` does not have the shape of the router's tokens
 * goes to the host with `next('route')` untouched (its own revocation endpoint keeps working).
 * Otherwise: the client authenticates as at the token endpoint (a `private_key_jwt` assertion's
 * `aud` is the issuer), and the answer is `200` with no body whether the token was revoked,
 * unknown, ended, or issued to another client (that one is not revoked: the answer tells a
 * client nothing about someone else's token). Revoking ends the token's whole family, and writes
 * an `srrt` entry. `token_type_hint` is accepted and ignored (RFC 7009 §2.1: the router only
 * revokes refresh tokens and looks for the token whatever the hint).
 */
export function revocationEndpoint(options: RevocationEndpointOptions): RequestHandler {
  const { readBody, authenticateClient, refreshTokens, protection, log, shutdown } = options;

  async function revoke(req: Request, res: Response, next: NextFunction): Promise<void> {
    const body = req.body as Record<string, unknown>;
    if (!valuesOf(body.token).some((token) => hasRefreshTokenShape(token))) return next('route');
    let answered: (() => void) | undefined;
    try {
      answered = shutdown.enter();
      const { params } = readTokenRequest(body);
      if (params.token === undefined) throw new InvalidRequest('token is required');
      const client = await authenticateClient(req);
      const family = await refreshTokens.revokeForClient(params.token, client.client_id);
      if (family) {
        log.write(revocationEntry(req, { ip: protection.clientIp(req, client), client }, family));
      }
      res.status(200).set(NO_STORE_HEADERS).end();
    } catch (err) {
      if (res.headersSent) next(err);
      else sendOAuthError(res, toOAuthError(err));
    } finally {
      answered?.();
    }
  }

  return function answerRevocation(req: Request, res: Response, next: NextFunction): void {
    readBody(req, res, (error) => {
      if (error) return sendOAuthError(res, error);
      // Express 4 does not forward a rejected promise; revoke answers its own errors anyway.
      revoke(req, res, next).catch(next);
    });
  };
}
