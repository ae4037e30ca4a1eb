import type { ErrorRequestHandler } from 'express';
import { toOAuthError } from '../errors.js';
import { exchangeContext } from '../exchange/exchange-context.js';
import { failureEntry } from '../exchange/exchange-log.js';
import type { TenantLog } from '../logs/tenant-log.js';

/** RFC 6749 §5.1: token responses, success or error, are never cached. */
export const NO_STORE_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  'Cache-Control': 'no-store',
  Pragma: 'no-cache',
});

/**
 * The one place an error on our routes becomes a response: RFC 6749 JSON with `no-store`; an
 * unexpected error is `server_error` with a generic description, its cause only in the log.
 */
export function tokenErrorHandler(log: TenantLog): ErrorRequestHandler {
  return function writeOAuthError(err, req, res, next) {
    if (res.headersSent) return next(err);
    const error = toOAuthError(err);
    const context = exchangeContext(req);
    if (context) log.write(failureEntry(req, context, error));
    res.status(error.status).set(NO_STORE_HEADERS).set(error.headers).json(error.toJSON());
  };
}
