import type { ErrorRequestHandler, Response } from 'express';
import { toOAuthError } from '../errors.js';
import { endExchange, exchangeContext } from '../exchange/exchange-context.js';
import { failureEntry } from '../exchange/exchange-log.js';
import type { TenantLog } from '../logs/tenant-log.js';

/** RFC 6749 §5.1: token responses, success or error, are never cached. */
export const NO_STORE_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  'Cache-Control': 'no-store',
  Pragma: 'no-cache',
});

/**
 * Writes a token endpoint response: JSON, `no-store`, and `headers` (on top of any the request set
 * before, such as `WWW-Authenticate`). Straight to Node's response rather than `res.json()`:
 * Express would hash the body for an ETag and check freshness, work a never-cached POST answer
 * does not need, on every exchange.
 */
export function sendTokenResponse(
  res: Response,
  status: number,
  body: unknown,
  headers: Readonly<Record<string, string>> = {},
): void {
  const payload = JSON.stringify(body);
  res.writeHead(status, {
    ...NO_STORE_HEADERS,
    ...headers,
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': Buffer.byteLength(payload),
  });
  res.end(payload);
}

/**
 * The one place an error on our routes becomes a response: RFC 6749 JSON with `no-store`; an
 * unexpected error is `server_error` with a generic description, its cause only in the log.
 */
export function tokenErrorHandler(log: TenantLog): ErrorRequestHandler {
  return function writeOAuthError(err, req, res, next) {
    const context = exchangeContext(req);
    // An exchange refused before its action ran gives its attempt back (a no-op after the action).
    context?.suspiciousIpAttempt?.settle();
    if (res.headersSent) return next(err);
    const error = toOAuthError(err);
    if (context) log.write(failureEntry(req, context, error));
    sendTokenResponse(res, error.status, error.toJSON(), error.headers);
    endExchange(req);
  };
}
