import type { Actor } from './actor.js';
import { addCustomClaims, addOrganizationClaims } from './custom-claims.js';
import type { TokenOrganization } from './custom-claims.js';
import { signJwt } from './jws.js';
import type { KeySet, SigningAlg } from './key-set.js';
import { newAccessTokenJti } from './own-access-token.js';

/** What {@link mintAccessToken} needs. */
export interface AccessTokenParams {
  /** `iss`: the router's `issuer`, exactly as configured. */
  issuer: string;
  /** `aud`: the API identifier (one API per token). */
  audience: string;
  /** `sub`: the user's `user_id`. */
  subject: string;
  /** `client_id`: the client the token was issued to. */
  clientId: string;
  /** The granted scopes; emitted as the space-delimited `scope` claim when not empty. */
  scope: readonly string[];
  /** Seconds until `exp`: the API's `token_lifetime`. */
  lifetime: number;
  /** The API's `signing_alg`. */
  alg: SigningAlg;
  keys: KeySet;
  /** The actor set by the action; becomes the `act` claim, nesting kept as given. */
  actor?: Actor;
  /** The `permissions` claim: every permission the user holds for the API (an `_authz` dialect). */
  permissions?: readonly string[];
  /** The exchange's organization: the `org_id` claim, and `org_name` when it has a name. */
  organization?: TokenOrganization;
  /**
   * The JWK SHA-256 thumbprint of the client's DPoP key (RFC 9449 §6.1): the token is bound to
   * that key through the `cnf.jkt` claim.
   */
  dpopJkt?: string;
  /**
   * Custom claims (from the post-user hook). They may not replace any claim above nor set
   * `act`, `may_act`, `cnf`, `nbf`, `azp`, `org_id`, `org_name`.
   */
  extraClaims?: Readonly<Record<string, unknown>>;
  /** `iat` in seconds since the epoch; default the current time. */
  now?: number;
}

/** An issued access token. */
export interface MintedAccessToken {
  /** The compact JWT. */
  token: string;
  /** Its `jti`, for the tenant log. */
  jti: string;
  /** Its lifetime in seconds, for the token response. */
  expires_in: number;
}

/** Access tokens only reserve the claims every token reserves; profile claims are allowed. */
const NO_EXTRA_RESTRICTIONS: ReadonlySet<string> = new Set();

/**
 * Mints an RFC 9068 JWT access token: header `{ alg, typ: 'at+jwt', kid }`, claims `iss`, `sub`,
 * `aud`, `iat`, `exp`, `jti` (with the router's own prefix, see `newAccessTokenJti`),
 * `client_id`, `scope` (only when at least one scope was granted: an empty `scope` claim says
 * nothing a missing one does not, and RFC 9068 only asks for it when scopes were requested),
 * `act` (when an actor is set), `cnf` (when bound to a DPoP key), `permissions` (with an `_authz`
 * token dialect), then the custom claims.
 *
 * @throws Error when `extraClaims` tries to set a claim the router owns.
 * @throws TypeError when `keys` has no key for `alg` (see `KeySet.signingKey`).
 */
export async function mintAccessToken(params: AccessTokenParams): Promise<MintedAccessToken> {
  const iat = params.now ?? Math.floor(Date.now() / 1000);
  const jti = newAccessTokenJti();
  const claims: Record<string, unknown> = {
    iss: params.issuer,
    sub: params.subject,
    aud: params.audience,
    iat,
    exp: iat + params.lifetime,
    jti,
    client_id: params.clientId,
  };
  if (params.scope.length > 0) claims.scope = params.scope.join(' ');
  if (params.actor !== undefined) claims.act = params.actor;
  if (params.dpopJkt !== undefined) claims.cnf = { jkt: params.dpopJkt };
  if (params.permissions !== undefined) claims.permissions = [...params.permissions];
  addOrganizationClaims(claims, params.organization);
  addCustomClaims(claims, params.extraClaims, NO_EXTRA_RESTRICTIONS);

  const token = await signJwt({ typ: 'at+jwt' }, claims, params.keys.signingKey(params.alg));
  return { token, jti, expires_in: params.lifetime };
}
