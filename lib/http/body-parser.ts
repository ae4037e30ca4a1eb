import express from 'express';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { invalidRequest } from '../errors.js';

/** A generous cap so a host's large assertions still reach it (spec §1). */
export const MAX_BODY_BYTES = 1024 * 1024;
const MAX_PARAMETERS = 1000;

/**
 * Parses the token endpoint's body with Express's own parsers, so a request handed on to the host
 * carries `req.body` exactly as the host's `express.urlencoded()` / `express.json()` would have
 * set it (they skip a body already parsed). A body that cannot be parsed at all is
 * `400 invalid_request` whatever the grant.
 */
export function tokenEndpointBodyParser(): RequestHandler {
  const urlencoded = express.urlencoded({
    extended: false,
    limit: MAX_BODY_BYTES,
    parameterLimit: MAX_PARAMETERS,
  });
  const json = express.json({ limit: MAX_BODY_BYTES, strict: true });
  return function parseTokenRequestBody(req: Request, res: Response, next: NextFunction): void {
    urlencoded(req, res, (formError?: unknown) => {
      if (formError) return next(bodyError(formError));
      json(req, res, (jsonError?: unknown) => {
        if (jsonError) return next(bodyError(jsonError));
        if (!isPlainBody(req.body)) {
          return next(
            invalidRequest(
              'the request body must be application/x-www-form-urlencoded or application/json',
            ),
          );
        }
        next();
      });
    });
  };
}

function isPlainBody(body: unknown): body is Record<string, unknown> {
  return typeof body === 'object' && body !== null && !Array.isArray(body);
}

function bodyError(err: unknown): Error {
  const type = (err as { type?: string }).type;
  const described: Record<string, string> = {
    'entity.too.large': 'the request body is too large',
    'parameters.too.many': 'the request has too many parameters',
    'entity.parse.failed': 'the request body is not valid JSON',
    'charset.unsupported': 'the request body charset is not supported',
    'encoding.unsupported': 'the request body encoding is not supported',
    'request.aborted': 'the request body was aborted',
  };
  return invalidRequest(described[type ?? ''] ?? 'the request body could not be read', {
    privateCause: err instanceof Error ? err.message : String(err),
  });
}
