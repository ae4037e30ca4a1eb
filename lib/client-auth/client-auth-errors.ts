import { OAuthError, invalidClient } from '../errors.js';

/**
 * The one public description of every `401 invalid_client` for credentials that were presented
 * but did not authenticate. Saying "unknown client" or "wrong secret" instead would tell a caller
 * which client ids exist; the precise reason goes to the tenant log as the private cause.
 */
export const CLIENT_AUTHENTICATION_FAILED = 'Client authentication failed.';

/**
 * `WWW-Authenticate` value for a `401` answering a request that used `Authorization: Basic`
 * (RFC 6749 §5.2: the server MUST include the header matching the scheme the client used).
 */
export const BASIC_INVALID_CLIENT_CHALLENGE = 'Basic realm="token", error="invalid_client"';

/** `401 invalid_client` with the uniform public description and `privateCause` for the log. */
export function clientAuthenticationFailed(privateCause: string): OAuthError {
  return invalidClient(CLIENT_AUTHENTICATION_FAILED, { privateCause });
}

/**
 * Adds the Basic challenge to a `401` (and only a `401`) that does not carry a
 * `WWW-Authenticate` header yet; other errors are returned unchanged.
 */
export function withBasicChallenge(err: OAuthError): OAuthError {
  if (err.status !== 401 || hasHeader(err, 'www-authenticate')) return err;
  const options: { privateCause?: string; headers: Record<string, string> } = {
    headers: { ...err.headers, 'WWW-Authenticate': BASIC_INVALID_CLIENT_CHALLENGE },
  };
  if (err.privateCause !== undefined) options.privateCause = err.privateCause;
  return new OAuthError(err.status, err.error, err.description, options);
}

function hasHeader(err: OAuthError, lowerCaseName: string): boolean {
  return Object.keys(err.headers).some((name) => name.toLowerCase() === lowerCaseName);
}

/**
 * Quotes a client-supplied value for a private cause: bounded and with control characters
 * escaped, so a hostile value can neither flood nor forge lines in the tenant log.
 */
export function quoteForLog(value: string, maxLength = 80): string {
  const cut = value.length > maxLength ? `${value.slice(0, maxLength)}…` : value;
  return JSON.stringify(cut);
}
