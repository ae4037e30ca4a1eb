import type { IncomingMessage } from 'node:http';
import express from 'express';
import expressPackage from 'express/package.json' with { type: 'json' };
import type { Request, Response } from 'express';
import { InvalidRequest } from '../errors.js';
import type { OAuthError } from '../errors.js';

/** A generous cap, so that a host's large assertions (a SAML bearer grant, ...) still reach it. */
export const MAX_BODY_BYTES = 1024 * 1024;
/** body-parser's own default. */
const MAX_PARAMETERS = 1000;

/**
 * The `extended` of `express.urlencoded()` when a host passes none: body-parser 1 (Express 4)
 * parses with qs, body-parser 2 (Express 5) without nesting. `express` is a peer dependency, so
 * this is the Express the host runs.
 */
export const DEFAULT_URLENCODED_EXTENDED = Number.parseInt(expressPackage.version, 10) < 5;

/** Reads a request's body into `req.body`; `done` gets the refusal of a body it cannot read. */
export type BodyReader = (req: Request, res: Response, done: (error?: OAuthError) => void) => void;

/**
 * Reads the body of the router's endpoints with Express's own parsers, `express.urlencoded()`
 * then `express.json()`, so a request handed on to the host carries exactly the `req.body` its
 * own parsers would have made (with `extended` as the host parses forms), and those parsers skip
 * the body already read: body-parser 2 sees the request stream finished, body-parser 1 the
 * `req._body` flag, which is set here too in case the host runs the other major. A body parsed
 * before the router (by a host parser mounted earlier) is left as it is.
 *
 * A body that cannot be read at all is `400 invalid_request`, whatever the grant: over 1 MiB,
 * over 1000 parameters, malformed JSON, an unsupported charset or content encoding, a type other
 * than a form or JSON, or a JSON value that is not an object.
 */
export function bodyReader(extended = DEFAULT_URLENCODED_EXTENDED): BodyReader {
  const urlencoded = express.urlencoded({
    extended,
    limit: MAX_BODY_BYTES,
    parameterLimit: MAX_PARAMETERS,
    verify: markRead,
  });
  const json = express.json({ limit: MAX_BODY_BYTES, strict: true, verify: markRead });
  return function readBody(req, res, done): void {
    const before: unknown = req.body;
    urlencoded(req, res, (formError?: unknown) => {
      if (formError) return done(bodyError(formError));
      json(req, res, (jsonError?: unknown) => {
        if (jsonError) return done(bodyError(jsonError));
        // Body-parser 1 leaves `{}` on a request it did not read: only a body read counts.
        const read =
          (req as ReadMark)._body === true || (before !== undefined && req.body === before);
        if (!read || !isPlainObject(req.body)) {
          return done(
            new InvalidRequest(
              'the request body must be application/x-www-form-urlencoded or application/json',
            ),
          );
        }
        done();
      });
    });
  };
}

/** body-parser 1's mark of a request whose body was read. */
interface ReadMark {
  _body?: boolean;
}

function markRead(req: IncomingMessage): void {
  (req as ReadMark)._body = true;
}

function isPlainObject(body: unknown): boolean {
  return typeof body === 'object' && body !== null && !Array.isArray(body);
}

/** What each body-parser error `type` means to the client; the message goes to the log. */
const BODY_ERRORS: Readonly<Record<string, string>> = {
  'entity.too.large': 'the request body is too large',
  'parameters.too.many': 'the request has too many parameters',
  'entity.parse.failed': 'the request body is not valid JSON',
  'charset.unsupported': 'the request body charset is not supported',
  'encoding.unsupported': 'the request body encoding is not supported',
  'request.aborted': 'the request body was aborted',
};

/** A body-parser error as `400 invalid_request`, the cause kept for the log. */
function bodyError(err: unknown): OAuthError {
  const type = (err as { type?: unknown }).type;
  const known = typeof type === 'string' && Object.hasOwn(BODY_ERRORS, type);
  const description =
    (known ? BODY_ERRORS[type] : undefined) ?? 'the request body could not be read';
  return new InvalidRequest(description, {
    privateCause: err instanceof Error ? err.message : String(err),
  });
}
