import type { Response } from 'express';
import type { OAuthError } from '../errors.js';

/** RFC 6749 section 5.1: token responses, success or error, are never cached. */
export const NO_STORE_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  'Cache-Control': 'no-store',
  Pragma: 'no-cache',
});

/**
 * Writes a token endpoint response: JSON, `no-store`, and `headers` (on top of any the request set
 * before, such as the `RateLimit` headers). Straight to Node's response rather than `res.json()`:
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

/** The one way a refusal is answered: RFC 6749 section 5.2 JSON with the error's status and headers. */
export function sendOAuthError(res: Response, error: OAuthError): void {
  sendTokenResponse(res, error.status, error.toJSON(), error.headers);
}
