import { valuesOf } from '../grants/token-request.js';
import { hasRefreshTokenShape } from '../refresh-tokens/opaque-refresh-token.js';
import { hasOwnAccessTokenShape } from '../tokens/own-access-token.js';

/** The kinds of token the router issues, as RFC 7009 and RFC 7662 name them in `token_type_hint`. */
export type OwnTokenKind = 'access_token' | 'refresh_token';

/**
 * Which of the router's tokens `token` has the shape of (its opaque refresh tokens' prefix, its
 * access tokens' `jti` prefix and issuer), or `undefined` for any other token: the host's.
 * Nothing is verified or looked up yet.
 */
export function ownTokenKind(token: string, issuer: string): OwnTokenKind | undefined {
  if (hasRefreshTokenShape(token)) return 'refresh_token';
  if (hasOwnAccessTokenShape(token, issuer)) return 'access_token';
  return undefined;
}

/**
 * Whether a revocation or introspection request names one of the router's tokens, read from the
 * body as parsed, before any strict check: only such a request is the router's to answer.
 */
export function namesOwnToken(body: Record<string, unknown>, issuer: string): boolean {
  return valuesOf(body.token).some((token) => ownTokenKind(token, issuer) !== undefined);
}
