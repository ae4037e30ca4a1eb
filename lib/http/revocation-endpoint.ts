import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { AttackProtection } from '../attack-protection/attack-protection.js';
import type { ClientAuthenticator } from '../client-auth/client-authenticator.js';
import { InvalidRequest } from '../errors.js';
import { accessTokenRevocationEntry, revocationEntry } from '../grants/request-log.js';
import { readTokenRequest } from '../grants/token-request.js';
import type { TenantLog } from '../logs/tenant-log.js';
import type { RequestFacts } from '../observability/request-observation.js';
import type { Telemetry } from '../observability/telemetry.js';
import type { RefreshTokenService } from '../refresh-tokens/refresh-token-service.js';
import type { Client } from '../registry/clients.js';
import type { RevokedTokenStore } from '../stores/revoked-token-store.js';
import type { KeySet } from '../tokens/key-set.js';
import { readOwnAccessToken } from '../tokens/own-access-token.js';
import { answerObserved } from './observed-request.js';
import { namesOwnToken, ownTokenKind } from './own-token.js';
import type { BodyReader } from './read-body.js';
import type { ShutdownGate } from './shutdown-gate.js';
import { storeFailure } from './store-failure.js';
import { NO_STORE_HEADERS, sendOAuthError } from './token-response.js';

/** What the revocation endpoint runs on; built once by `customTokenExchange()`. */
export interface RevocationEndpointOptions {
  issuer: string;
  keys: KeySet;
  readBody: BodyReader;
  authenticateClient: ClientAuthenticator;
  refreshTokens: RefreshTokenService;
  revokedTokens: RevokedTokenStore;
  /** Sets the CORS headers of a request of ours, for its client's origins. */
  cors: (req: Request, res: Response) => Promise<void> | undefined;
  protection: Pick<AttackProtection, 'clientIp'>;
  log: TenantLog;
  /** Each request of ours gets a span and its metrics. */
  telemetry: Telemetry;
  /** Counts revocations for a graceful `close()`, and refuses them once it began. */
  shutdown: ShutdownGate;
}

/**
 * `POST {mount}/oauth/revoke` (RFC 7009) for the tokens the router issues: its refresh tokens
 * and its access tokens. A request whose `token` is not one of them by shape (see
 * `ownTokenKind`: a host sharing the router's issuer and keys still keeps its own tokens) goes
 * to the host with `next('route')` untouched, so its own revocation endpoint keeps working.
 *
 * Otherwise the client authenticates as at the token endpoint, and the answer is `200` with no
 * body whether the token was revoked, unknown, expired, forged, or issued to another client
 * (RFC 7009 §2.1: a client revokes its own tokens only; the answer tells it nothing about
 * someone else's). Revoking a refresh token ends its whole family (an `srrt` entry); revoking an
 * access token records its `jti` in the revoked-token store until it expires (an `srat` entry),
 * after which introspection calls it inactive. Resource servers that verify the JWT themselves
 * do not ask, and keep accepting it until it expires: RFC 7009's own limit for self-contained
 * tokens. `token_type_hint` is accepted and ignored: the token's shape says what it is.
 */
export function revocationEndpoint(options: RevocationEndpointOptions): RequestHandler {
  const { issuer, keys, readBody, authenticateClient, refreshTokens, revokedTokens } = options;
  const { protection, log, telemetry, shutdown } = options;

  async function revokeAccessToken(req: Request, token: string, client: Client): Promise<void> {
    const read = await readOwnAccessToken(token, { issuer, keys });
    if (read.status !== 'valid' || read.claims.client_id !== client.client_id) return;
    try {
      await revokedTokens.revoke(read.claims.jti, read.claims.exp);
    } catch (err) {
      throw storeFailure(err);
    }
    const trail = { ip: protection.clientIp(req, client), client };
    log.write(accessTokenRevocationEntry(req, trail, read.claims));
  }

  async function revoke(req: Request, res: Response, next: NextFunction): Promise<void> {
    const body = req.body as Record<string, unknown>;
    if (!namesOwnToken(body, issuer)) return next('route');
    return answerObserved(telemetry, 'revocation', { req, res, next }, (facts) =>
      answer(req, res, body, facts),
    );
  }

  async function answer(
    req: Request,
    res: Response,
    body: Record<string, unknown>,
    facts: RequestFacts,
  ): Promise<void> {
    await options.cors(req, res);
    const answered = shutdown.enter();
    try {
      const { params } = readTokenRequest(body);
      const token = params.token;
      if (token === undefined) throw new InvalidRequest('token is required');
      const client = await authenticateClient(req);
      facts.client = client;
      const kind = ownTokenKind(token, issuer);
      if (kind === 'refresh_token') {
        const family = await refreshTokens.revokeForClient(token, client.client_id);
        if (family) {
          log.write(revocationEntry(req, { ip: protection.clientIp(req, client), client }, family));
        }
      } else if (kind === 'access_token') {
        await revokeAccessToken(req, token, client);
      }
      res.status(200).set(NO_STORE_HEADERS).end();
    } finally {
      // close() waits for the revocation and its log entry.
      answered();
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
