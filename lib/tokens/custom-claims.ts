import { SCOPE_CLAIMS } from './scope-claims.js';

/**
 * Claims a custom-claims hook may never set, on any token: the registered and protocol claims
 * the router sets (`act`/`may_act` decide who is acting, `cnf` which key a DPoP-bound token is
 * bound to, the rest where and how long a token is valid), plus `org_id`/`org_name`, which the
 * organizations stage will own.
 */
export const RESTRICTED_CUSTOM_CLAIMS: ReadonlySet<string> = new Set([
  'act',
  'may_act',
  'iss',
  'sub',
  'aud',
  'exp',
  'iat',
  'nbf',
  'jti',
  'client_id',
  'scope',
  'azp',
  'org_id',
  'org_name',
  'cnf',
]);

/**
 * OIDC claims an ID token carries only when a scope grants them. A custom claim may not set them
 * either: that would hand out, say, an `email` the client was never granted, or one the user
 * store does not hold.
 */
export const ID_TOKEN_PROFILE_CLAIMS: ReadonlySet<string> = new Set([
  ...SCOPE_CLAIMS,
  'nonce',
  'auth_time',
  'at_hash',
  'c_hash',
  'acr',
  'amr',
]);

/**
 * Adds custom claims to a token's claims, refusing any that would replace or shadow a claim the
 * router owns. Refusing (rather than silently dropping) fails the exchange closed and puts the
 * claim's name in the log, so an integrator sees the mistake instead of a token missing a claim.
 *
 * @param claims - the token's own claims; mutated and returned.
 * @param extraClaims - the custom claims; `undefined` values are skipped.
 * @param restricted - names that may not appear in `extraClaims` beyond the token's own claims.
 * @throws Error naming the first claim that is restricted or already set.
 */
export function addCustomClaims(
  claims: Record<string, unknown>,
  extraClaims: Readonly<Record<string, unknown>> | undefined,
  restricted: ReadonlySet<string>,
): Record<string, unknown> {
  if (extraClaims === undefined) return claims;
  for (const [name, value] of Object.entries(extraClaims)) {
    if (value === undefined) continue;
    if (
      RESTRICTED_CUSTOM_CLAIMS.has(name) ||
      restricted.has(name) ||
      Object.hasOwn(claims, name) ||
      // An own "__proto__" (as JSON.parse makes) would replace the claims object's prototype.
      name === '__proto__'
    ) {
      throw new Error(`custom claims may not set the "${name}" claim`);
    }
    claims[name] = value;
  }
  return claims;
}

/** The organization a token is issued in: `org_id`, and `org_name` when it is given. */
export interface TokenOrganization {
  id: string;
  name?: string;
}

/** Sets `org_id` (and `org_name`) on `claims`. */
export function addOrganizationClaims(
  claims: Record<string, unknown>,
  organization: TokenOrganization | undefined,
): void {
  if (organization === undefined) return;
  claims.org_id = organization.id;
  if (organization.name !== undefined) claims.org_name = organization.name;
}
