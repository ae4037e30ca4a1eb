import { errors as joseErrors } from 'jose';

/** The plain-data form of a {@link CapabilityError}, as copied back into the sandbox. */
export interface CapabilityErrorJSON {
  name: string;
  code: string;
  message: string;
  claim?: string;
  reason?: string;
}

/**
 * The one error a host capability rejects with. `code` is stable for action authors to branch on:
 * jose's own codes (`ERR_JWT_EXPIRED`, `ERR_JWS_SIGNATURE_VERIFICATION_FAILED`, ...) for the JWT
 * facade, `ERR_FETCH_*` for `fetch`, `ERR_CAPABILITY_*` for the execution's lifetime, and
 * `ERR_INVALID_ARGUMENT` (name `TypeError`) for arguments the capability cannot use. `name` is
 * jose's class name (`JWTExpired`, ...) when jose raised it. Messages never carry secret values,
 * tokens or URL paths and queries.
 */
export class CapabilityError extends Error {
  /** Stable code, e.g. `ERR_JWT_EXPIRED` or `ERR_FETCH_HOST_NOT_ALLOWED`. */
  readonly code: string;
  /** The claim a `JWTClaimValidationFailed` / `JWTExpired` is about (`exp`, `aud`, `typ`, ...). */
  readonly claim?: string;
  /** Why that claim failed: `missing`, `check_failed` or `invalid` (jose's reasons). */
  readonly reason?: string;

  constructor(
    code: string,
    message: string,
    options: { name?: string; claim?: string; reason?: string; cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = options.name ?? 'CapabilityError';
    this.code = code;
    if (options.claim !== undefined) this.claim = options.claim;
    if (options.reason !== undefined) this.reason = options.reason;
  }

  /** What the runner copies into the sandbox; no stack, no cause, no payload. */
  toJSON(): CapabilityErrorJSON {
    const json: CapabilityErrorJSON = { name: this.name, code: this.code, message: this.message };
    if (this.claim !== undefined) json.claim = this.claim;
    if (this.reason !== undefined) json.reason = this.reason;
    return json;
  }
}

/** A `TypeError`-named CapabilityError for arguments a capability cannot use. */
export function invalidArgument(message: string): CapabilityError {
  return new CapabilityError('ERR_INVALID_ARGUMENT', message, { name: 'TypeError' });
}

/**
 * Turns whatever an operation threw into a CapabilityError. jose's errors keep their code, name,
 * message, `claim` and `reason` (never the payload); jose's `TypeError`s (key/algorithm mismatch,
 * malformed header) and WebCrypto's key errors become `ERR_INVALID_ARGUMENT` with their name and
 * message; anything else becomes a generic
 * `ERR_CAPABILITY_FAILED` whose message does not leak host internals.
 */
export function toCapabilityError(err: unknown, capability: string): CapabilityError {
  if (err instanceof CapabilityError) return err;
  if (err instanceof joseErrors.JOSEError) {
    const options: { name: string; claim?: string; reason?: string } = { name: err.name };
    if (
      err instanceof joseErrors.JWTClaimValidationFailed ||
      err instanceof joseErrors.JWTExpired
    ) {
      options.claim = err.claim;
      options.reason = err.reason;
    }
    return new CapabilityError(err.code, err.message, options);
  }
  if (err instanceof TypeError) return invalidArgument(err.message);
  if (err instanceof Error && err.name === 'TimeoutError') {
    return new CapabilityError('ERR_CAPABILITY_TIMEOUT', `${capability} timed out`);
  }
  // WebCrypto refusing key material (`DataError: Invalid keyData`, `NotSupportedError`).
  if (err instanceof DOMException && err.name !== 'AbortError') {
    return new CapabilityError('ERR_INVALID_ARGUMENT', err.message, { name: err.name });
  }
  return new CapabilityError('ERR_CAPABILITY_FAILED', `${capability} failed unexpectedly`, {
    cause: err,
  });
}
