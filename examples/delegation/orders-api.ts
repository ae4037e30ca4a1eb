/**
 * The resource server: an orders API that serves AI agents acting for a user, and only them. It
 * verifies the access token against the router's JWKS, then authorizes on the two identities RFC
 * 8693 §4.1 says count: the user (`sub`) and the current actor (`act.sub`); nested actors, when
 * there are any, are prior links of the chain and only informational. Every request it serves is
 * recorded: who acted for whom.
 */
import express from 'express';
import type { Request, Response, Router } from 'express';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import type { JWTPayload } from 'jose';

export interface Order {
  id: string;
  item: string;
  status: string;
}

/** One served request of the audit trail. */
export interface DelegatedAccess {
  at: string;
  user: string;
  actor: string;
  client_id: unknown;
  jti: unknown;
}

export interface OrdersApiOptions {
  /** The router's issuer. */
  issuer: string;
  /** This API's identifier: the tokens' `aud`. */
  audience: string;
  /** The router's JWKS. */
  jwksUrl: URL;
  /** The `act.sub` values this API lets act for its users. */
  trustedAgents: readonly string[];
  orders: Readonly<Record<string, readonly Order[]>>;
}

interface ActClaim {
  sub: string;
}

/** Mount at `/api`: `GET /orders` (the agent route) and `GET /audit` (who acted for whom). */
export function createOrdersApi(options: OrdersApiOptions): Router {
  const jwks = createRemoteJWKSet(options.jwksUrl);
  const audit: DelegatedAccess[] = [];
  const router = express.Router();

  router.get('/orders', async (req: Request, res: Response) => {
    res.set('Cache-Control', 'no-store');
    const token = /^Bearer ([\w.~+/-]+=*)$/.exec(req.get('authorization') ?? '')?.[1];
    if (token === undefined) {
      // RFC 6750 §3.1: no error code when the request carried no token at all.
      res.set('WWW-Authenticate', 'Bearer realm="orders"');
      res
        .status(401)
        .json({ error: 'invalid_request', error_description: 'a Bearer access token is required' });
      return;
    }
    let claims: JWTPayload;
    try {
      ({ payload: claims } = await jwtVerify(token, jwks, {
        issuer: options.issuer,
        audience: options.audience,
        typ: 'at+jwt',
        algorithms: ['ES256'],
      }));
    } catch {
      res.set('WWW-Authenticate', 'Bearer realm="orders", error="invalid_token"');
      res
        .status(401)
        .json({ error: 'invalid_token', error_description: 'the access token is invalid' });
      return;
    }
    const act = claims.act as ActClaim | undefined;
    if (act === undefined || typeof act.sub !== 'string') {
      forbidden(
        res,
        'access_denied',
        'this route serves agents acting for a user: the token has no act claim',
      );
      return;
    }
    if (!options.trustedAgents.includes(act.sub)) {
      forbidden(res, 'access_denied', `${act.sub} is not an agent this API trusts`);
      return;
    }
    const scopes = typeof claims.scope === 'string' ? claims.scope.split(' ') : [];
    if (!scopes.includes('read:orders')) {
      res.set(
        'WWW-Authenticate',
        'Bearer realm="orders", error="insufficient_scope", scope="read:orders"',
      );
      forbidden(res, 'insufficient_scope', 'read:orders is required');
      return;
    }
    const user = claims.sub!;
    audit.push({
      at: new Date().toISOString(),
      user,
      actor: act.sub,
      client_id: claims.client_id,
      jti: claims.jti,
    });
    res.json({ user, actor: act.sub, orders: options.orders[user] ?? [] });
  });

  // A real API would protect its audit trail; the example exposes it for curl and the tests.
  router.get('/audit', (_req, res) => {
    res.json(audit);
  });
  return router;
}

function forbidden(res: Response, error: string, description: string): void {
  res.status(403).json({ error, error_description: description });
}
