import { OAuthError } from '../errors.js';

/** OIDC scopes every API knows (spec §2). `offline_access` is granted only with refresh tokens. */
export const OIDC_SCOPES: ReadonlySet<string> = new Set(['openid', 'profile', 'email']);
/** RFC 6749 §3.3 scope-token characters. */
const SCOPE_TOKEN = /^[\x21\x23-\x5B\x5D-\x7E]+$/;

/** Splits `scope` into its distinct tokens in request order; a malformed one is `invalid_scope`. */
export function parseScope(scope: string | undefined): string[] {
  if (scope === undefined) return [];
  const tokens = scope.split(' ').filter((token) => token !== '');
  for (const token of tokens) {
    if (!SCOPE_TOKEN.test(token)) {
      throw new OAuthError(400, 'invalid_scope', 'the scope parameter is malformed');
    }
  }
  return [...new Set(tokens)];
}

/**
 * Granted = requested ∩ (the API's scopes ∪ OIDC scopes) ∩ what the client may request for that
 * API (`allowedApiScopes`, undefined when client grants are not configured). Never wider than asked.
 */
export function grantScopes(
  requested: readonly string[],
  apiScopes: readonly string[],
  allowedApiScopes: ReadonlySet<string> | undefined,
): string[] {
  const api = new Set(apiScopes);
  return requested.filter(
    (scope) =>
      OIDC_SCOPES.has(scope) ||
      (api.has(scope) && (allowedApiScopes === undefined || allowedApiScopes.has(scope))),
  );
}
