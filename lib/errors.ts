/**
 * One error model for the token endpoint: every refusal is an {@link OAuthError} carrying the HTTP
 * status, the RFC 6749 `error` code, the public `error_description`, and a private cause that only
 * ever reaches the tenant log. The router's error handler turns it into JSON in one place.
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

  constructor(
    status: number,
    error: string,
    description: string,
    options: { privateCause?: string; headers?: Record<string, string> } = {},
  ) {
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

type Extra = { privateCause?: string; headers?: Record<string, string> };

export const invalidRequest = (description: string, extra?: Extra): OAuthError =>
  new OAuthError(400, 'invalid_request', description, extra);

export const invalidClient = (description: string, extra?: Extra): OAuthError =>
  new OAuthError(401, 'invalid_client', description, extra);

export const invalidTarget = (description: string, extra?: Extra): OAuthError =>
  new OAuthError(400, 'invalid_target', description, extra);

export const unauthorizedClient = (description: string, extra?: Extra): OAuthError =>
  new OAuthError(400, 'unauthorized_client', description, extra);

/** A 500 whose description is always generic: the reason goes to the log only. */
export const serverError = (privateCause: string): OAuthError =>
  new OAuthError(500, 'server_error', 'The server encountered an unexpected error.', {
    privateCause,
  });

export const temporarilyUnavailable = (
  retryAfterSeconds: number,
  privateCause: string,
): OAuthError =>
  new OAuthError(503, 'temporarily_unavailable', 'The server is busy; retry later.', {
    privateCause,
    headers: { 'Retry-After': String(retryAfterSeconds) },
  });

/** Turns anything thrown on our path into an OAuthError; unknown errors become `server_error`. */
export function toOAuthError(err: unknown): OAuthError {
  if (err instanceof OAuthError) return err;
  const cause = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
  return serverError(cause);
}

/** Codes of {@link ManagementError}, stable for callers to branch on. */
export type ManagementErrorCode =
  | 'invalid_body'
  | 'not_found'
  | 'conflict'
  | 'limit_exceeded'
  | 'action_not_deployed'
  | 'action_in_use'
  | 'unsupported';

/**
 * The error thrown by the router's handles (`actions`, `profiles`, `clients`, ...): a stable
 * `code` plus a message that says what was wrong, mirroring the Management API's answers.
 */
export class ManagementError extends Error {
  readonly code: ManagementErrorCode;
  /** The HTTP status the Management API would answer with (400, 404, 409, 403). */
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
};
