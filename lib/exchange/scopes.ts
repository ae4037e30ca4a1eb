import { InvalidScope } from '../errors.js';

/** OIDC scopes every API knows. `offline_access` is granted only with refresh tokens. */
export const OIDC_SCOPES: ReadonlySet<string> = new Set(['openid', 'profile', 'email']);
/** The scope that asks for a refresh token (OpenID Connect Core section 11). */
export const OFFLINE_ACCESS = 'offline_access';
/** RFC 6749 section 3.3 scope-token characters. */
const SCOPE_TOKEN = /^[\x21\x23-\x5B\x5D-\x7E]+$/;

/** Splits `scope` into its distinct tokens in request order; a malformed one is `invalid_scope`. */
export function parseScope(scope: string | undefined): string[] {
  if (scope === undefined) return [];
  const tokens = scope.split(' ').filter((token) => token !== '');
  for (const token of tokens) {
    if (!SCOPE_TOKEN.test(token)) {
      throw new InvalidScope('the scope parameter is malformed');
    }
  }
  return [...new Set(tokens)];
}

/**
 * Granted = requested ∩ (the API's scopes ∪ OIDC scopes) ∩ what the client may request for that
 * API (`allowedApiScopes`, undefined when client grants are not configured). Never wider than asked.
 * `offline_access` is granted only when `offlineAccess` says a refresh token may be issued (the API
 * has `allow_offline_access` and no `actor_token` was sent).
 */
export function grantScopes(
  requested: readonly string[],
  apiScopes: readonly string[],
  allowedApiScopes: ReadonlySet<string> | undefined,
  offlineAccess = false,
): string[] {
  const api = new Set(apiScopes);
  return requested.filter((scope) =>
    scope === OFFLINE_ACCESS
      ? offlineAccess
      : OIDC_SCOPES.has(scope) ||
        (api.has(scope) && (allowedApiScopes === undefined || allowedApiScopes.has(scope))),
  );
}

/**
 * The scopes tokens are issued with once the action ran: an actor never gets a refresh token, so
 * `offline_access` is dropped when one was set.
 */
export function scopesForActor(granted: readonly string[], hasActor: boolean): string[] {
  return hasActor ? granted.filter((scope) => scope !== OFFLINE_ACCESS) : [...granted];
}
