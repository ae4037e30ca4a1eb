import type { RequestHandler } from 'express';
import type { ClientAuthenticator } from '../client-auth/client-authenticator.js';
import { ClientAuthenticationFailed } from '../errors.js';
import type { RefreshTokenService } from '../refresh-tokens/refresh-token-service.js';
import type { Client } from '../registry/clients.js';
import type { ResourceServerRegistry } from '../registry/resource-servers.js';
import { familyEndsAt } from '../stores/refresh-token-store.js';
import type { RevokedTokenStore } from '../stores/revoked-token-store.js';
import type { KeySet } from '../tokens/key-set.js';
import { readOwnAccessToken } from '../tokens/own-access-token.js';
import type { AccessTokenClaims } from '../tokens/own-access-token.js';
import { ownTokenEndpoint } from './own-token-endpoint.js';
import type { OwnTokenEndpointOptions } from './own-token-endpoint.js';
import { storeFailure } from './store-failure.js';
import { sendTokenResponse } from './token-response.js';

/** What the introspection endpoint runs on; built once by `customTokenExchange()`. */
export interface IntrospectionEndpointOptions extends OwnTokenEndpointOptions {
  keys: KeySet;
  /** Authenticates clients, and resource servers by their `introspection` credentials. */
  authenticateCaller: ClientAuthenticator;
  resourceServers: Pick<ResourceServerRegistry, 'byIntrospectionClientId'>;
  refreshTokens: RefreshTokenService;
  revokedTokens: RevokedTokenStore;
}

/** RFC 7662 section 2.2's answer for every token the caller may not learn about. */
const INACTIVE = Object.freeze({ active: false });

/**
 * `POST {mount}/oauth/introspect` (RFC 7662) for the tokens the router issues. A request whose
 * `token` is not one of them by shape goes to the host with `next('route')` untouched, as at
 * the revocation endpoint.
 *
 * The caller authenticates (RFC 7662 section 2.1), as a client or as a resource server with the
 * `introspection` credentials of its definition (a public client cannot: it has no credentials
 * to keep the answers about its tokens to itself), and learns about a token only when it is
 * entitled to: a client about its own access and refresh tokens; a resource server about the
 * access tokens issued for it (its `identifier` is their `aud`), whichever client holds them.
 * Every other caller, and every unknown, forged, expired or revoked token, gets `{ "active":
 * false }` (RFC 7662 section 2.2 lets a server answer so rather than say why). An active token's answer
 * carries its `scope`, `client_id`, `token_type` (`Bearer`, or `DPoP` with its `cnf`), `exp`,
 * `iat`, `sub`, `aud`, `iss`, `jti` and `act` for a delegated token; a refresh token's has no
 * `token_type` or `jti`. `token_type_hint` is accepted and ignored: the token's shape says what
 * it is. Nothing is logged: resource servers may introspect on every request they serve.
 */
export function introspectionEndpoint(options: IntrospectionEndpointOptions): RequestHandler {
  const { issuer, keys, authenticateCaller, resourceServers } = options;
  const { refreshTokens, revokedTokens } = options;

  async function describeAccessToken(token: string, caller: Client): Promise<object> {
    const read = await readOwnAccessToken(token, { issuer, keys });
    if (read.status !== 'valid') return INACTIVE;
    const { claims } = read;
    const api = resourceServers.byIntrospectionClientId(caller.client_id);
    const entitled =
      api === undefined ? claims.client_id === caller.client_id : claims.aud === api.identifier;
    if (!entitled) return INACTIVE;
    let revoked: boolean;
    try {
      revoked = await revokedTokens.isRevoked(claims.jti);
    } catch (err) {
      throw storeFailure(err);
    }
    return revoked ? INACTIVE : accessTokenAnswer(claims);
  }

  /**
   * Only a confidential client gets here, whose refresh tokens are never DPoP-bound: the answer
   * has no `cnf`.
   */
  async function describeRefreshToken(token: string, caller: Client): Promise<object> {
    // A resource server never holds refresh tokens; its credentials learn nothing about them.
    if (resourceServers.byIntrospectionClientId(caller.client_id) !== undefined) return INACTIVE;
    const stored = await refreshTokens.findActive(token);
    if (stored === undefined || stored.family.client_id !== caller.client_id) return INACTIVE;
    const { family } = stored;
    const ends = familyEndsAt(family);
    return {
      active: true,
      scope: family.scope.join(' '),
      client_id: family.client_id,
      ...(Number.isFinite(ends) ? { exp: Math.floor(ends / 1000) } : {}),
      iat: Math.floor(stored.token.created_at / 1000),
      sub: family.user_id,
      aud: family.audience,
      iss: issuer,
    };
  }

  return ownTokenEndpoint(
    { ...options, endpoint: 'introspection', authenticate: authenticateCaller },
    async ({ res, token, kind, caller }) => {
      if (caller.token_endpoint_auth_method === 'none') {
        throw new ClientAuthenticationFailed(
          `public client ${JSON.stringify(caller.client_id)} cannot introspect: it has no credentials`,
        );
      }
      const description =
        kind === 'access_token'
          ? await describeAccessToken(token, caller)
          : kind === 'refresh_token'
            ? await describeRefreshToken(token, caller)
            : INACTIVE;
      sendTokenResponse(res, 200, description);
    },
  );
}

/** RFC 7662 section 2.2 members of an active access token, in the RFC's order. */
function accessTokenAnswer(claims: AccessTokenClaims): object {
  return {
    active: true,
    ...(claims.scope === undefined ? {} : { scope: claims.scope }),
    client_id: claims.client_id,
    token_type: claims.cnf === undefined ? 'Bearer' : 'DPoP',
    exp: claims.exp,
    iat: claims.iat,
    sub: claims.sub,
    aud: claims.aud,
    iss: claims.iss,
    jti: claims.jti,
    ...(claims.act === undefined ? {} : { act: claims.act }),
    ...(claims.cnf === undefined ? {} : { cnf: claims.cnf }),
  };
}
