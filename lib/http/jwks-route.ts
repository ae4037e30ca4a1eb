import type { Request, RequestHandler, Response } from 'express';
import type { KeySet } from '../tokens/key-set.js';

/** `GET /.well-known/jwks.json`: the public keys, cacheable for `maxAge` seconds. */
export function jwksRoute(keys: KeySet, maxAge: number): RequestHandler {
  return function serveJwks(_req: Request, res: Response): void {
    res.set('Cache-Control', `public, max-age=${maxAge}`).json(keys.jwks());
  };
}
