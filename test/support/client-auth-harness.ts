import express from 'express';
import type { NextFunction, Request, Response } from 'express';
import type { ClientAuthenticator } from '../../lib/client-auth/client-authenticator.js';
import { OAuthError } from '../../lib/errors.js';

export interface ClientAuthHarness {
  app: express.Express;
  /** The last error the route rejected with: what the tenant log would record. */
  lastError: () => OAuthError | undefined;
}

/**
 * A tiny token endpoint: parse the form, authenticate, answer with the client id (and what
 * `after` adds) or the error; `before` runs first (a host's own middleware). Anything thrown that
 * is not an OAuthError is a `599`, so a test sees it.
 */
export function clientAuthHarness(
  authenticate: ClientAuthenticator,
  before?: (req: Request, res: Response, next: NextFunction) => void,
  after?: (req: Request) => Record<string, unknown>,
): ClientAuthHarness {
  let last: OAuthError | undefined;
  const app = express();
  if (before) app.use(before);
  app.post('/oauth/token', express.urlencoded({ extended: false }), async (req, res) => {
    const authenticated = await authenticate(req);
    res.json({ client_id: authenticated.client_id, ...after?.(req) });
  });
  app.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
    if (!(err instanceof OAuthError)) {
      res.status(599).json({ error: 'not_an_oauth_error', error_description: String(err) });
      return;
    }
    last = err;
    res.status(err.status).set(err.headers).json(err.toJSON());
  });
  return { app, lastError: () => last };
}
