import type { Actor } from './actor.js';
import type { Client } from '../registry/clients.js';
import type { User } from '../users/user-store.js';
import {
  addCustomClaims,
  addOrganizationClaims,
  ID_TOKEN_PROFILE_CLAIMS,
} from './custom-claims.js';
import type { TokenOrganization } from './custom-claims.js';
import { EMAIL_SCOPE_CLAIMS, PROFILE_SCOPE_CLAIMS } from './scope-claims.js';
import { signHs256Jwt, signJwt } from './jws.js';
import type { KeySet } from './key-set.js';

/** What {@link mintIdToken} needs. */
export interface IdTokenParams {
  /** `iss`: the router's `issuer`, exactly as configured. */
  issuer: string;
  /** The client the token is issued to: `aud`, the signing alg, the lifetime, the HS256 secret. */
  client: Client;
  /** The user: `sub` and the profile claims. */
  user: User;
  /** The granted scopes; `profile` and `email` release their claims. */
  scope: readonly string[];
  keys: KeySet;
  /**
   * `auth_time` in seconds since the epoch: when the user was authenticated, which for the router
   * is the token exchange that started the grant (refreshes keep it).
   */
  authTime: number;
  /** `amr` (OpenID Connect Core section 2): the authentication methods, e.g. `['mfa']`. */
  amr?: readonly string[];
  /** The actor set by the action; becomes the `act` claim, nesting kept as given. */
  actor?: Actor;
  /** The exchange's organization: the `org_id` claim, and `org_name` when it has a name. */
  organization?: TokenOrganization;
  /**
   * Custom claims (from the post-user hook). They may not replace any claim of the token nor set
   * `act`, `may_act`, `nbf`, `azp`, `org_id`, `org_name`, or an OIDC profile claim (even one whose
   * scope was not granted).
   */
  extraClaims?: Readonly<Record<string, unknown>>;
  /** `iat` in seconds since the epoch; default the current time. */
  now?: number;
}

/**
 * Mints an OpenID Connect ID token: header `{ alg, typ: 'JWT', kid }` (no `kid` with HS256),
 * claims `iss`, `sub` (the `user_id`), `aud` (the `client_id`), `iat`, `exp` (the client's
 * `id_token_lifetime`), `auth_time` (so that clients sending `max_age` or registered with
 * `require_auth_time` accept the token), `amr` when given, the profile claims of granted scopes (`profile`: `name`, `given_name`,
 * `family_name`, `nickname`, `picture`, `updated_at` in seconds; `email`: `email`,
 * `email_verified`; each only when the user has it), `act` (when an actor is set), then the
 * custom claims. Signed with the client's `id_token_alg` from `keys`, or with HMAC over the
 * client secret for HS256.
 *
 * @throws Error when the client signs with HS256 but has no `client_secret`, or when
 *   `extraClaims` tries to set a claim the router owns.
 * @throws TypeError when `keys` has no key for the client's alg (see `KeySet.signingKey`).
 */
export async function mintIdToken(params: IdTokenParams): Promise<string> {
  const { client, user } = params;
  const iat = params.now ?? Math.floor(Date.now() / 1000);
  const claims: Record<string, unknown> = {
    iss: params.issuer,
    sub: user.user_id,
    aud: client.client_id,
    iat,
    exp: iat + client.id_token_lifetime,
    auth_time: params.authTime,
  };
  if (params.amr !== undefined) claims.amr = [...params.amr];
  if (params.scope.includes('profile')) {
    for (const name of PROFILE_SCOPE_CLAIMS) {
      if (user[name] !== undefined) claims[name] = user[name];
    }
    const updatedAt = Date.parse(user.updated_at);
    // A store that keeps no parseable updated_at just omits the claim: better than a NaN.
    if (Number.isFinite(updatedAt)) claims.updated_at = Math.floor(updatedAt / 1000);
  }
  if (params.scope.includes('email')) {
    for (const name of EMAIL_SCOPE_CLAIMS) {
      if (user[name] !== undefined) claims[name] = user[name];
    }
  }
  if (params.actor !== undefined) claims.act = params.actor;
  addOrganizationClaims(claims, params.organization);
  addCustomClaims(claims, params.extraClaims, ID_TOKEN_PROFILE_CLAIMS);

  if (client.id_token_alg === 'HS256') {
    if (client.client_secret === undefined || client.client_secret.length === 0) {
      throw new Error(
        `client ${client.client_id} signs ID tokens with HS256 but has no client_secret to sign with`,
      );
    }
    return signHs256Jwt({ typ: 'JWT' }, claims, client.client_secret);
  }
  return signJwt({ typ: 'JWT' }, claims, params.keys.signingKey(client.id_token_alg));
}
