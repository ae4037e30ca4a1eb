import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { ClientAuthenticator } from '../client-auth/client-authenticator.js';
import { InvalidRequest } from '../errors.js';
import { readTokenRequest } from '../grants/token-request.js';
import type { Endpoint } from '../observability/request-observation.js';
import type { Telemetry } from '../observability/telemetry.js';
import type { Client } from '../registry/clients.js';
import { answerObserved } from './observed-request.js';
import { namesOwnToken, ownTokenKind } from './own-token.js';
import type { OwnTokenKind } from './own-token.js';
import type { BodyReader } from './read-body.js';
import type { ShutdownGate } from './shutdown-gate.js';
import { sendOAuthError } from './token-response.js';

/** What an endpoint about one of the router's tokens (revocation, introspection) runs on. */
export interface OwnTokenEndpointOptions {
  issuer: string;
  readBody: BodyReader;
  /** Each request of ours gets a span and its metrics. */
  telemetry: Telemetry;
  /** Sets the CORS headers of a request of ours, for its client's origins. */
  cors: (req: Request, res: Response) => Promise<void> | undefined;
  /** Counts the requests for a graceful `close()`, and refuses them once it began. */
  shutdown: ShutdownGate;
}

/** Which endpoint it is, and how it authenticates its callers. */
export interface OwnTokenEndpointKind {
  /** Names the request's span and metrics. */
  endpoint: Exclude<Endpoint, 'token'>;
  /** Authenticates the caller as at the token endpoint. */
  authenticate: ClientAuthenticator;
}

/** A request about one of the router's tokens, its caller authenticated. */
export interface OwnTokenRequest {
  req: Request;
  res: Response;
  token: string;
  /** Which of the router's tokens `token` has the shape of; `undefined` for none. */
  kind: OwnTokenKind | undefined;
  caller: Client;
}

/**
 * The handler of an endpoint that takes a `token` of the router's (RFC 7009 revocation, RFC 7662
 * introspection). A request whose `token` is not one of them by shape goes to the host with
 * `next('route')` untouched, so the host's own endpoint keeps working. Otherwise, inside the
 * request's span and admitted by the shutdown gate: CORS, the strict read of the parameters
 * (`token` required), the caller's authentication, then `respond`, which writes the answer. A
 * failure anywhere is answered as its OAuth error.
 */
export function ownTokenEndpoint(
  options: OwnTokenEndpointOptions & OwnTokenEndpointKind,
  respond: (request: OwnTokenRequest) => Promise<void>,
): RequestHandler {
  const { endpoint, issuer, readBody, authenticate, telemetry, cors, shutdown } = options;

  async function handle(req: Request, res: Response, next: NextFunction): Promise<void> {
    const body = req.body as Record<string, unknown>;
    if (!namesOwnToken(body, issuer)) return next('route');
    return answerObserved(telemetry, endpoint, { req, res, next }, async (facts) => {
      await cors(req, res);
      const answered = shutdown.enter();
      try {
        const { params } = readTokenRequest(body);
        const token = params.token;
        if (token === undefined) throw new InvalidRequest('token is required');
        const caller = await authenticate(req);
        facts.client = caller;
        await respond({ req, res, token, kind: ownTokenKind(token, issuer), caller });
      } finally {
        // close() waits for the stores the answer reads and writes, and its log entry.
        answered();
      }
    });
  }

  return function answerOwnTokenRequest(req: Request, res: Response, next: NextFunction): void {
    readBody(req, res, (error) => {
      if (error) return sendOAuthError(res, error);
      // Express 4 does not forward a rejected promise; handle answers its own errors anyway.
      handle(req, res, next).catch(next);
    });
  };
}
