import type { PostExchangeClaims } from '../actions/post-exchange-outcome.js';
import type { Actor } from '../sandbox/action-types.js';
import { OFFLINE_ACCESS } from '../exchange/scopes.js';
import type {
  IssuedRefreshToken,
  RefreshTokenService,
} from '../refresh-tokens/refresh-token-service.js';
import type { Client } from '../registry/clients.js';
import type { ResourceServer } from '../registry/resource-servers.js';
import type { Organization } from '../organizations/organization-store.js';
import { mintAccessToken } from '../tokens/access-token.js';
import type { TokenOrganization } from '../tokens/custom-claims.js';
import { mintIdToken } from '../tokens/id-token.js';
import type { KeySet } from '../tokens/key-set.js';
import type { User } from '../users/user-store.js';

/**
 * The token response of every grant (RFC 6749 section 5.1): `issued_token_type` only for a token
 * exchange (RFC 8693 section 2.2.1), `token_type` `DPoP` for a DPoP-bound access token (RFC 9449 section 5),
 * `id_token` when `openid` was granted, `refresh_token` when the grant issued or rotated one.
 */
export interface TokenResponse {
  access_token: string;
  issued_token_type?: string;
  token_type: 'Bearer' | 'DPoP';
  expires_in: number;
  scope: string;
  id_token?: string;
  refresh_token?: string;
}

/** What the tokens of one response are issued for. */
export interface Issuance {
  client: Client;
  user: User;
  resourceServer: ResourceServer;
  /** The granted scopes, which both tokens carry. */
  scope: readonly string[];
  /** The `act` claim of both tokens. */
  actor?: Actor | undefined;
  /** Custom claims the post-exchange action added. */
  claims?: PostExchangeClaims | undefined;
  /**
   * The ID token's `auth_time` in seconds: when the exchange that started the grant ran. Absent:
   * this issuance is that exchange, and `auth_time` is its `iat`.
   */
  authTime?: number | undefined;
  /** The ID token's `amr`: how the user was authenticated (`['mfa']` after a second factor). */
  amr?: readonly string[] | undefined;
  /** The thumbprint of the request's DPoP key: the access token is bound to it. */
  dpopJkt?: string | undefined;
  /** The `org_id` (and `org_name`) claims of both tokens. */
  organization?: TokenOrganization | undefined;
  /** The access token's `permissions` claim (an API with an `_authz` token dialect). */
  permissions?: readonly string[] | undefined;
}

/**
 * The organization claims of an exchange's organization: `org_name` only when names are allowed
 * in the authentication API (Auth0's rule).
 */
export function tokenOrganization(
  organization: Organization,
  { allowNames }: { allowNames: boolean },
): TokenOrganization {
  return allowNames ? { id: organization.id, name: organization.name } : { id: organization.id };
}

/** A response just signed, the access token's `jti` for the log, and its `iat`. */
export interface IssuedTokens {
  response: TokenResponse;
  jti: string;
  issuedAt: number;
}

/** The router's signing: its issuer and keys. */
export interface Signer {
  issuer: string;
  keys: KeySet;
}

/**
 * Signs the access token, and the ID token when `openid` was granted, into the response;
 * `issuedTokenType` is the exchange's `issued_token_type` (absent for other grants).
 */
export async function mintTokens(
  { issuer, keys }: Signer,
  {
    client,
    user,
    resourceServer,
    scope,
    actor,
    claims,
    authTime,
    amr,
    dpopJkt,
    organization,
    permissions,
  }: Issuance,
  issuedTokenType?: string,
): Promise<IssuedTokens> {
  const now = Math.floor(Date.now() / 1000);
  const access = await mintAccessToken({
    issuer,
    audience: resourceServer.identifier,
    subject: user.user_id,
    clientId: client.client_id,
    scope,
    lifetime: resourceServer.token_lifetime,
    alg: resourceServer.signing_alg,
    keys,
    now,
    ...(actor === undefined ? {} : { actor }),
    ...(organization === undefined ? {} : { organization }),
    ...(dpopJkt === undefined ? {} : { dpopJkt }),
    ...(permissions === undefined ? {} : { permissions }),
    ...(claims === undefined ? {} : { extraClaims: claims.accessToken }),
  });
  const granted = scope.join(' ');
  const tokenType = dpopJkt === undefined ? 'Bearer' : 'DPoP';
  // Two literals rather than a conditional field: the response keeps RFC 8693's field order.
  const response: TokenResponse =
    issuedTokenType === undefined
      ? {
          access_token: access.token,
          token_type: tokenType,
          expires_in: access.expires_in,
          scope: granted,
        }
      : {
          access_token: access.token,
          issued_token_type: issuedTokenType,
          token_type: tokenType,
          expires_in: access.expires_in,
          scope: granted,
        };
  if (scope.includes('openid')) {
    response.id_token = await mintIdToken({
      issuer,
      client,
      user,
      scope,
      keys,
      now,
      authTime: authTime ?? now,
      ...(amr === undefined ? {} : { amr }),
      ...(actor === undefined ? {} : { actor }),
      ...(organization === undefined ? {} : { organization }),
      ...(claims === undefined ? {} : { extraClaims: claims.idToken }),
    });
  }
  return { response, jti: access.jti, issuedAt: now };
}

/**
 * Starts a refresh token family for the issuance when `offline_access` was granted; `undefined`
 * otherwise. The family keeps the issuance's client, user, API, scope and `auth_time` for good.
 * A public client's family issued with a DPoP proof is bound to the proof's key (RFC 9449 section 5);
 * a confidential client's is not: client authentication already binds it to the client.
 */
export async function issueRefreshToken(
  refreshTokens: RefreshTokenService,
  { client, user, resourceServer, scope, dpopJkt, organization }: Issuance,
  authTime: number,
): Promise<IssuedRefreshToken | undefined> {
  if (!scope.includes(OFFLINE_ACCESS)) return undefined;
  return refreshTokens.issue({
    client,
    userId: user.user_id,
    audience: resourceServer.identifier,
    scope,
    authTime,
    ...(client.token_endpoint_auth_method === 'none' && dpopJkt !== undefined ? { dpopJkt } : {}),
    ...(organization === undefined ? {} : { organizationId: organization.id }),
  });
}
