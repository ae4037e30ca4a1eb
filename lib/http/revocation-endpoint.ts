import type { Request, RequestHandler } from 'express';
import type { AttackProtection } from '../attack-protection/attack-protection.js';
import type { ClientAuthenticator } from '../client-auth/client-authenticator.js';
import { accessTokenRevocationEntry, revocationEntry } from '../grants/request-log.js';
import type { TenantLog } from '../logs/tenant-log.js';
import type { RefreshTokenService } from '../refresh-tokens/refresh-token-service.js';
import type { Client } from '../registry/clients.js';
import type { RevokedTokenStore } from '../stores/revoked-token-store.js';
import type { KeySet } from '../tokens/key-set.js';
import { readOwnAccessToken } from '../tokens/own-access-token.js';
import { ownTokenEndpoint } from './own-token-endpoint.js';
import type { OwnTokenEndpointOptions } from './own-token-endpoint.js';
import { storeFailure } from './store-failure.js';
import { NO_STORE_HEADERS } from './token-response.js';

/** What the revocation endpoint runs on; built once by `customTokenExchange()`. */
export interface RevocationEndpointOptions extends OwnTokenEndpointOptions {
  keys: KeySet;
  authenticateClient: ClientAuthenticator;
  refreshTokens: RefreshTokenService;
  revokedTokens: RevokedTokenStore;
  protection: Pick<AttackProtection, 'clientIp'>;
  log: TenantLog;
}

/**
 * `POST {mount}/oauth/revoke` (RFC 7009) for the tokens the router issues: its refresh tokens
 * and its access tokens. A request whose `token` is not one of them by shape (see
 * `ownTokenKind`: a host sharing the router's issuer and keys still keeps its own tokens) goes
 * to the host with `next('route')` untouched, so its own revocation endpoint keeps working.
 *
 * Otherwise the client authenticates as at the token endpoint, and the answer is `200` with no
 * body whether the token was revoked, unknown, expired, forged, or issued to another client
 * (RFC 7009 section 2.1: a client revokes its own tokens only; the answer tells it nothing about
 * someone else's). Revoking a refresh token ends its whole family (an `srrt` entry); revoking an
 * access token records its `jti` in the revoked-token store until it expires (an `srat` entry),
 * after which introspection calls it inactive. Resource servers that verify the JWT themselves
 * do not ask, and keep accepting it until it expires: RFC 7009's own limit for self-contained
 * tokens. `token_type_hint` is accepted and ignored: the token's shape says what it is.
 */
export function revocationEndpoint(options: RevocationEndpointOptions): RequestHandler {
  const { issuer, keys, authenticateClient, refreshTokens, revokedTokens, protection, log } =
    options;

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

  return ownTokenEndpoint(
    { ...options, endpoint: 'revocation', authenticate: authenticateClient },
    async ({ req, res, token, kind, caller: client }) => {
      if (kind === 'refresh_token') {
        const family = await refreshTokens.revokeForClient(token, client.client_id);
        if (family) {
          log.write(revocationEntry(req, { ip: protection.clientIp(req, client), client }, family));
        }
      } else if (kind === 'access_token') {
        await revokeAccessToken(req, token, client);
      }
      res.status(200).set(NO_STORE_HEADERS).end();
    },
  );
}
