import { STATUS_CODES } from 'node:http';
import type { Response } from 'express';

/**
 * A Management API failure with Auth0's error body: `{ statusCode, error, message, errorCode }`
 * (`error` the status text). Route handlers throw it; the API's error handler writes it.
 */
export class ManagementApiError extends Error {
  readonly status: number;
  readonly errorCode: string;
  /** Extra response headers (`WWW-Authenticate` for token failures). */
  readonly headers: Readonly<Record<string, string>>;

  constructor(
    status: number,
    errorCode: string,
    message: string,
    headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'ManagementApiError';
    this.status = status;
    this.errorCode = errorCode;
    this.headers = Object.freeze({ ...headers });
  }
}

/** Auth0's error body for `status`. */
export function errorBody(
  status: number,
  message: string,
  errorCode: string,
): { statusCode: number; error: string; message: string; errorCode: string } {
  return { statusCode: status, error: STATUS_CODES[status] ?? 'Error', message, errorCode };
}

/** Writes an error in Auth0's shape, never cached. */
export function sendError(res: Response, error: ManagementApiError): void {
  res.set('Cache-Control', 'no-store');
  for (const [name, value] of Object.entries(error.headers)) res.set(name, value);
  res.status(error.status).json(errorBody(error.status, error.message, error.errorCode));
}

/** A 400 for a query string the route cannot read. */
export function invalidQuery(message: string): ManagementApiError {
  return new ManagementApiError(400, 'invalid_query_string', message);
}
