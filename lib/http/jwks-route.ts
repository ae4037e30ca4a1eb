import type { Request, RequestHandler, Response } from 'express';
import type { KeySet } from '../tokens/key-set.js';

/**
 * `GET /.well-known/jwks.json`: the public keys, cacheable for `maxAge` seconds, readable from any
 * origin (a public document: browser clients verify ID tokens with it).
 */
export function jwksRoute(keys: KeySet, maxAge: number): RequestHandler {
  return function serveJwks(_req: Request, res: Response): void {
    res
      .set('Cache-Control', `public, max-age=${maxAge}`)
      .set('Access-Control-Allow-Origin', '*')
      .json(keys.jwks());
  };
}
