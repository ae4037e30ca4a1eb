import type { NextFunction, Request, Response } from 'express';
import { toOAuthError } from '../errors.js';
import type { Endpoint, RequestFacts } from '../observability/request-observation.js';
import type { Telemetry } from '../observability/telemetry.js';
import { sendOAuthError } from './token-response.js';

/**
 * Answers a request that is the router's with `steps`, inside the request's span (see
 * `RequestObservation`): `steps` writes the answer and records in `facts` what it learns (the
 * authenticated client). A failure is answered as its `OAuthError` (`server_error` for anything
 * else), or handed to Express once headers were sent. Resolves once answered; never rejects.
 */
export async function answerObserved(
  telemetry: Telemetry,
  endpoint: Endpoint,
  { req, res, next }: { req: Request; res: Response; next: NextFunction },
  steps: (facts: RequestFacts) => Promise<void>,
): Promise<void> {
  const observation = telemetry.request(endpoint, req);
  const facts: RequestFacts = {};
  try {
    await observation.run(() => steps(facts));
  } catch (err) {
    if (res.headersSent) {
      observation.end(res.statusCode, facts, err);
      return next(err);
    }
    const error = toOAuthError(err);
    sendOAuthError(res, error);
    observation.end(res.statusCode, facts, error);
    return;
  }
  observation.end(res.statusCode, facts);
}
