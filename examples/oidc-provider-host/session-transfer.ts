/**
 * The provider's login interaction (its `interactions.url`, `/interaction/:uid`), built as a
 * session transfer: the user signs in with a recent ID token this issuer gave the same client,
 * such as the `id_token` of a custom token exchange (never one that carries an `act` claim). The provider then runs its own
 * authorization code flow for that account: `findAccount` finds the user in the shared store when
 * the session resumes, when the code is redeemed and at userinfo.
 *
 * A real host would put its usual login page here; this one exists to hand an exchanged user to
 * the provider without a password the user never had.
 */
import express, { Router } from 'express';
import type { NextFunction, Request, Response } from 'express';
import { createLocalJWKSet, jwtVerify } from 'jose';
import type { JSONWebKeySet } from 'jose';
import type Provider from 'oidc-provider';
import { SIGNING_ALG } from './shared-registry.js';

/** How old an ID token may be to start a session. */
const MAX_ID_TOKEN_AGE = '5m';

export interface SessionTransferOptions {
  provider: Provider;
  issuer: string;
  /** The public keys both servers sign with. */
  jwks: JSONWebKeySet;
}

export function sessionTransfer({ provider, issuer, jwks }: SessionTransferOptions): Router {
  const keys = createLocalJWKSet(jwks);
  const router = Router();

  router.get('/interaction/:uid', async (req: Request, res: Response) => {
    const { uid, params } = await provider.interactionDetails(req, res);
    res.type('html').send(`<!doctype html>
<title>Sign in</title>
<form method="post" action="/interaction/${uid}/login">
  <p>Sign in to ${escapeHtml(String(params.client_id))} with an ID token this server issued to it
  in the last five minutes (the <code>id_token</code> of a token exchange):</p>
  <textarea name="id_token" rows="8" cols="80" required></textarea>
  <p><button>Sign in</button></p>
</form>`);
  });

  router.post(
    '/interaction/:uid/login',
    express.urlencoded({ extended: false }),
    async (req: Request, res: Response) => {
      const { params } = await provider.interactionDetails(req, res);
      const clientId = String(params.client_id);
      let accountId: string;
      try {
        const idToken = (req.body as { id_token?: unknown } | undefined)?.id_token;
        const { payload } = await jwtVerify(typeof idToken === 'string' ? idToken : '', keys, {
          issuer,
          audience: clientId,
          algorithms: [SIGNING_ALG],
          // Both servers' ID tokens qualify (the provider's carry no typ); access tokens never
          // do: their aud is an API, not a client.
          maxTokenAge: MAX_ID_TOKEN_AGE,
          requiredClaims: ['sub'],
        });
        // A delegated session (an actor acting for the user) never becomes the user's own.
        if (payload.act !== undefined) throw new Error('delegated ID token');
        accountId = payload.sub!;
      } catch {
        res.status(400).json({
          error: 'invalid_id_token',
          error_description: `not an undelegated ID token of ${issuer} for ${clientId} issued in the last ${MAX_ID_TOKEN_AGE}`,
        });
        return;
      }
      // A first-party client: the OIDC scopes it asked for are granted without a consent screen.
      const grant = new provider.Grant({ accountId, clientId });
      grant.addOIDCScope(String(params.scope));
      const grantId = await grant.save();
      await provider.interactionFinished(
        req,
        res,
        { login: { accountId }, consent: { grantId } },
        { mergeWithLastSubmission: false },
      );
    },
  );

  // interactionDetails throws the provider's own errors (an unknown or expired interaction).
  router.use(
    '/interaction',
    (
      err: { status?: number; error?: string; error_description?: string },
      _req: Request,
      res: Response,
      _next: NextFunction,
    ) => {
      res.status(err.status ?? 500).json({
        error: err.error ?? 'server_error',
        error_description: err.error_description ?? 'the interaction failed',
      });
    },
  );
  return router;
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
