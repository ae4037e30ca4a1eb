import { StoreUnavailableError } from './stores/store-deadline.js';

/**
 * One error model for the router's endpoints: every refusal is an {@link OAuthError} carrying the
 * HTTP status, the RFC 6749 `error` code, the public `error_description`, and a private cause that
 * only ever reaches the tenant log. Each kind of refusal is one class below; the endpoints turn
 * any of them into JSON in one place.
 */
export class OAuthError extends Error {
  /** HTTP status of the response. */
  readonly status: number;
  /** RFC 6749 §5.2 `error` code (or an action's custom code). */
  readonly error: string;
  /** Public `error_description`. */
  readonly description: string;
  /** Extra response headers (`WWW-Authenticate`, `Retry-After`, ...). */
  readonly headers: Readonly<Record<string, string>>;
  /** Private explanation for the tenant log; never sent to the client. */
  readonly privateCause: string | undefined;

  constructor(status: number, error: string, description: string, options: OAuthErrorOptions = {}) {
    super(`${error}: ${description}`);
    this.name = 'OAuthError';
    this.status = status;
    this.error = error;
    this.description = description;
    this.headers = options.headers ?? {};
    this.privateCause = options.privateCause;
  }

  /** The RFC 6749 §5.2 response body. */
  toJSON(): { error: string; error_description: string } {
    return { error: this.error, error_description: this.description };
  }
}

/** What an {@link OAuthError} may carry besides its public answer. */
export interface OAuthErrorOptions {
  privateCause?: string;
  headers?: Record<string, string>;
}

/** `400 invalid_request`: a parameter is missing, repeated, malformed or not supported. */
export class InvalidRequest extends OAuthError {
  constructor(description: string, options?: OAuthErrorOptions) {
    super(400, 'invalid_request', description, options);
  }
}

/** `401 invalid_client`: the client could not be authenticated. */
export class InvalidClient extends OAuthError {
  constructor(description: string, options?: OAuthErrorOptions) {
    super(401, 'invalid_client', description, options);
  }
}

/**
 * The one public description of every `401 invalid_client` for credentials that were presented
 * but did not authenticate. Saying "unknown client" or "wrong secret" instead would tell a caller
 * which client ids exist; the precise reason goes to the tenant log as the private cause.
 */
export const CLIENT_AUTHENTICATION_FAILED = 'Client authentication failed.';

/** `401 invalid_client` for presented credentials, with the uniform public description. */
export class ClientAuthenticationFailed extends InvalidClient {
  constructor(privateCause: string) {
    super(CLIENT_AUTHENTICATION_FAILED, { privateCause });
  }
}

/**
 * `WWW-Authenticate` value for a `401` answering a request that used `Authorization: Basic`
 * (RFC 6749 §5.2: the server MUST include the header matching the scheme the client used).
 */
export const BASIC_INVALID_CLIENT_CHALLENGE = 'Basic realm="token", error="invalid_client"';

/**
 * The same refusal with the Basic challenge added, for a `401` (and only a `401`) that does not
 * carry a `WWW-Authenticate` header yet; other errors are returned unchanged.
 */
export function withBasicChallenge(err: OAuthError): OAuthError {
  if (err.status !== 401) return err;
  if (Object.keys(err.headers).some((name) => name.toLowerCase() === 'www-authenticate')) {
    return err;
  }
  const options: OAuthErrorOptions = {
    headers: { ...err.headers, 'WWW-Authenticate': BASIC_INVALID_CLIENT_CHALLENGE },
  };
  if (err.privateCause !== undefined) options.privateCause = err.privateCause;
  return new OAuthError(err.status, err.error, err.description, options);
}

/** `400 invalid_grant` (RFC 6749 §5.2): the grant itself is not usable. */
export class InvalidGrant extends OAuthError {
  constructor(description: string, options?: OAuthErrorOptions) {
    super(400, 'invalid_grant', description, options);
  }
}

/**
 * What a client hears about any refresh token it cannot use (unknown to it, revoked, expired,
 * reused, issued to another client): Auth0's wording, the same for every reason, so an answer
 * never tells a holder of someone else's token whether it is live. The reason goes to the log.
 */
export const INVALID_REFRESH_TOKEN = 'Unknown or invalid refresh token.';

/** `400 invalid_grant` for a refresh token, with the uniform description. */
export class InvalidRefreshToken extends InvalidGrant {
  constructor(privateCause: string) {
    super(INVALID_REFRESH_TOKEN, { privateCause });
  }
}

/** `400 invalid_scope`: a malformed scope, or one wider than the grant allows. */
export class InvalidScope extends OAuthError {
  constructor(description: string, options?: OAuthErrorOptions) {
    super(400, 'invalid_scope', description, options);
  }
}

/** `400 invalid_target` (RFC 8707): the requested API is unknown or not allowed. */
export class InvalidTarget extends OAuthError {
  constructor(description: string, options?: OAuthErrorOptions) {
    super(400, 'invalid_target', description, options);
  }
}

/**
 * `400 invalid_dpop_proof` (RFC 9449 §5, §7.1): the request's DPoP proof is missing where it is
 * required, malformed, or does not hold (signature, `htm`, `htu`, `iat`, a `jti` used before).
 * The reason is the public description: it concerns the caller's own proof only.
 */
export class InvalidDpopProof extends OAuthError {
  constructor(description: string, options?: OAuthErrorOptions) {
    super(400, 'invalid_dpop_proof', description, options);
  }
}

/**
 * `400 use_dpop_nonce` (RFC 9449 §8): the proof lacks the server's current nonce; `DPoP-Nonce`
 * carries one to retry with.
 */
export class UseDpopNonce extends OAuthError {
  constructor(nonce: string, privateCause: string) {
    super(400, 'use_dpop_nonce', 'Authorization server requires nonce in DPoP proof', {
      privateCause,
      headers: { 'DPoP-Nonce': nonce },
    });
  }
}

/** `400 unauthorized_client`: the client may not use this grant. */
export class UnauthorizedClient extends OAuthError {
  constructor(description: string, options?: OAuthErrorOptions) {
    super(400, 'unauthorized_client', description, options);
  }
}

/** `401 unauthorized` "user is blocked": Auth0's answer for a blocked user, whatever the grant. */
export class UserBlocked extends OAuthError {
  constructor(userId: string) {
    super(401, 'unauthorized', 'user is blocked', {
      privateCause: `user ${JSON.stringify(userId)} is blocked`,
    });
  }
}

/**
 * An action's `api.access.deny(code, reason)`: its own code and reason, `500` for `server_error`
 * and `400` for any other code.
 */
export class ActionDenied extends OAuthError {
  constructor(code: string, reason: string, privateCause: string) {
    super(code === 'server_error' ? 500 : 400, code, reason, { privateCause });
  }
}

/** Auth0's exact answer to an IP that suspicious IP throttling blocks. */
export const TOO_MANY_ATTEMPTS_DESCRIPTION =
  'We have detected suspicious login behavior and further attempts will be blocked. Please contact the administrator.';

/** `429 too_many_attempts`: the caller's IP has no attempt left (Auth0's body, exactly). */
export class TooManyAttempts extends OAuthError {
  constructor(privateCause: string) {
    super(429, 'too_many_attempts', TOO_MANY_ATTEMPTS_DESCRIPTION, { privateCause });
  }
}

/**
 * `429 too_many_requests`: a profile's rate limit for this IP is used up. `Retry-After` and the
 * `RateLimit` headers are already on the response (express-rate-limit sets them).
 */
export class TooManyRequests extends OAuthError {
  constructor(privateCause: string) {
    super(
      429,
      'too_many_requests',
      'Too many token exchange requests; retry after the time given in Retry-After.',
      { privateCause },
    );
  }
}

/**
 * `403 mfa_required`, Auth0's body plus the `mfa_token` the client redeems with the `mfa-otp` or
 * `mfa-oob` grant. The token is never logged.
 */
export class MfaRequired extends OAuthError {
  readonly mfaToken: string;

  constructor(mfaToken: string, privateCause: string) {
    super(403, 'mfa_required', 'Multifactor authentication required', { privateCause });
    this.mfaToken = mfaToken;
  }

  override toJSON(): { error: string; error_description: string; mfa_token: string } {
    return { ...super.toJSON(), mfa_token: this.mfaToken };
  }
}

/** Auth0's refusal of an exchange that needs MFA while an actor is set. */
export const MFA_WITH_ACTOR_DESCRIPTION =
  'MFA is not supported using actor_token with the requested token exchange profile.';

/** `401 expired_token` "mfa_token is expired" (Auth0's): past its lifetime, used, or spent. */
export class MfaTokenExpired extends OAuthError {
  constructor(privateCause: string) {
    super(401, 'expired_token', 'mfa_token is expired', { privateCause });
  }
}

/**
 * `403 invalid_grant` (Auth0's status and wording for the MFA grants): a malformed `mfa_token`
 * ("Malformed mfa_token"), a wrong code ("Invalid otp_code."), a rejected challenge.
 */
export class InvalidMfaGrant extends OAuthError {
  constructor(description: string, privateCause: string) {
    super(403, 'invalid_grant', description, { privateCause });
  }
}

/** `400 authorization_pending`: the out-of-band challenge is not answered yet (Auth0's text). */
export class MfaAuthorizationPending extends OAuthError {
  constructor() {
    super(
      400,
      'authorization_pending',
      'Authorization pending: please repeat the request in a few seconds.',
    );
  }
}

/** `429 too_many_attempts`: the `mfa_token` has had every wrong code it may have. */
export class TooManyMfaAttempts extends OAuthError {
  constructor(privateCause: string) {
    super(
      429,
      'too_many_attempts',
      'Too many failed codes: this mfa_token can no longer be used; start a new exchange.',
      { privateCause },
    );
  }
}

/** `500 server_error` whose description is always generic: the reason goes to the log only. */
export class ServerError extends OAuthError {
  constructor(privateCause: string) {
    super(500, 'server_error', 'The server encountered an unexpected error.', { privateCause });
  }
}

/** `503 temporarily_unavailable` with `Retry-After`: the router or a store is overloaded. */
export class TemporarilyUnavailable extends OAuthError {
  constructor(retryAfterSeconds: number, privateCause: string) {
    super(503, 'temporarily_unavailable', 'The server is busy; retry later.', {
      privateCause,
      headers: { 'Retry-After': String(retryAfterSeconds) },
    });
  }
}

/**
 * Turns anything thrown on our path into an OAuthError: a store that could not answer in time
 * (`StoreUnavailableError`: a shared store down or hung) is `503 temporarily_unavailable` with
 * its `Retry-After`, so a client retries once it is back; other unknown errors are
 * `server_error`.
 */
export function toOAuthError(err: unknown): OAuthError {
  if (err instanceof OAuthError) return err;
  if (err instanceof StoreUnavailableError) {
    return new TemporarilyUnavailable(err.retryAfterSeconds, `${err.name}: ${err.message}`);
  }
  const cause = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
  return new ServerError(cause);
}

/** Codes of {@link ManagementError}, stable for callers to branch on. */
export type ManagementErrorCode =
  | 'invalid_body'
  | 'not_found'
  | 'conflict'
  | 'limit_exceeded'
  | 'action_not_deployed'
  | 'action_in_use'
  | 'unsupported'
  | 'precondition_failed';

/**
 * The error thrown by the router's handles (`actions`, `profiles`, `clients`, ...): a stable
 * `code` plus a message that says what was wrong, mirroring the Management API's answers.
 */
export class ManagementError extends Error {
  readonly code: ManagementErrorCode;
  /** The HTTP status the Management API would answer with (400, 404, 409, 403, 412). */
  readonly status: number;

  constructor(code: ManagementErrorCode, message: string) {
    super(message);
    this.name = 'ManagementError';
    this.code = code;
    this.status = MANAGEMENT_STATUS[code];
  }
}

const MANAGEMENT_STATUS: Record<ManagementErrorCode, number> = {
  invalid_body: 400,
  not_found: 404,
  conflict: 409,
  limit_exceeded: 403,
  action_not_deployed: 400,
  action_in_use: 409,
  unsupported: 400,
  precondition_failed: 412,
};
