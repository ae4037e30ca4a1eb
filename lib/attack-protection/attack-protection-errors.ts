import { OAuthError } from '../errors.js';

/** Auth0's exact answer to an IP that suspicious IP throttling blocks. */
export const TOO_MANY_ATTEMPTS_DESCRIPTION =
  'We have detected suspicious login behavior and further attempts will be blocked. Please contact the administrator.';

/** `429 too_many_attempts`: the caller's IP has no attempt left (Auth0's body, exactly). */
export const tooManyAttempts = (privateCause: string): OAuthError =>
  new OAuthError(429, 'too_many_attempts', TOO_MANY_ATTEMPTS_DESCRIPTION, { privateCause });

/**
 * `429 too_many_requests`: a profile's rate limit for this IP is used up. `Retry-After` and the
 * `RateLimit` headers are already on the response (express-rate-limit sets them).
 */
export const tooManyRequests = (privateCause: string): OAuthError =>
  new OAuthError(
    429,
    'too_many_requests',
    'Too many token exchange requests; retry after the time given in Retry-After.',
    { privateCause },
  );
