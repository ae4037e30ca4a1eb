import type { Request, RequestHandler, Response } from 'express';
import { toOAuthError } from '../errors.js';
import type { KeySet } from '../tokens/key-set.js';
import { sendOAuthError } from './token-response.js';

/**
 * `GET /.well-known/jwks.json`: the public keys, cacheable for `maxAge` seconds, readable from any
 * origin (a public document: browser clients verify ID tokens with it). Before a key store's
 * schedule could be read it answers `503 temporarily_unavailable` with `Retry-After`.
 */
export function jwksRoute(keys: KeySet, maxAge: number): RequestHandler {
  const serve = (res: Response) => {
    res
      .set('Cache-Control', `public, max-age=${maxAge}`)
      .set('Access-Control-Allow-Origin', '*')
      .json(keys.jwks());
  };
  return function serveJwks(_req: Request, res: Response): void {
    const pending = keys.whenReady();
    if (pending === undefined) return serve(res);
    pending.then(
      () => serve(res),
      (error: unknown) => sendOAuthError(res, toOAuthError(error)),
    );
  };
}
