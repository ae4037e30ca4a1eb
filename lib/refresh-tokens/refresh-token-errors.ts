import { OAuthError } from '../errors.js';

/**
 * What a client hears about any refresh token it cannot use (unknown to it, revoked, expired,
 * reused, issued to another client): Auth0's wording, the same for every reason, so an answer
 * never tells a holder of someone else's token whether it is live. The reason goes to the log.
 */
export const INVALID_REFRESH_TOKEN = 'Unknown or invalid refresh token.';

/** `400 invalid_grant` (RFC 6749 §5.2) with the uniform description and a private cause. */
export function invalidRefreshToken(privateCause: string): OAuthError {
  return new OAuthError(400, 'invalid_grant', INVALID_REFRESH_TOKEN, { privateCause });
}

/** `400 invalid_scope`: a refresh that asks for scope the refresh token was not granted. */
export function scopeBeyondRefreshToken(extra: readonly string[]): OAuthError {
  return new OAuthError(
    400,
    'invalid_scope',
    'the requested scope exceeds the scope granted to the refresh token',
    { privateCause: `scopes not granted to the refresh token: ${extra.join(' ')}` },
  );
}
