/**
 * The simulated legacy authorization server: it issues opaque access tokens (random strings that
 * mean nothing without it) and answers RFC 7662 token introspection for them, to resource servers
 * that authenticate with HTTP Basic. The router's action is one such resource server.
 *
 * - `POST /tokens` (`sub`, `scope`, `expires_in`) stands in for the legacy sign-in: it issues a
 *   token for one of the legacy users.
 * - `POST /introspect` (Basic auth, form `token=`) answers `{ active: true, sub, scope, ... }`
 *   for a token it issued that has not expired, `{ active: false }` for anything else.
 * - `POST /fault` (`mode=error|down|stale|none`) simulates a faulty introspection endpoint:
 *   `error` answers 503, `down` drops the connection, `stale` answers like an outdated cache
 *   (expired tokens still `active: true`, with their past `exp`), `none` restores it.
 */
import crypto from 'node:crypto';
import express from 'express';
import type { Request, Response, Router } from 'express';

/** The legacy user base: what introspection tells about each subject. */
export const LEGACY_USERS: Readonly<
  Record<string, { username: string; email: string; name: string }>
> = {
  'u-1001': { username: 'jane', email: 'jane@legacy.example', name: 'Jane Legacy' },
  'u-1002': { username: 'omar', email: 'omar@legacy.example', name: 'Omar Legacy' },
};

/** The legacy web app the tokens were issued to (`client_id` in introspection answers). */
export const LEGACY_CLIENT_ID = 'legacy-web';

type FaultMode = 'none' | 'error' | 'down' | 'stale';

interface IssuedToken {
  sub: string;
  scope: string;
  iat: number;
  exp: number;
}

export interface LegacyAuthorizationServer {
  /** Mount at `/legacy-as`. */
  router: Router;
  /** Issues an opaque token for a legacy user. */
  issue(sub: string, scope: string, expiresIn?: number): string;
}

/**
 * @param issuer - `iss` in introspection answers
 * @param resourceServers - the Basic credentials allowed to introspect (id → secret)
 */
export function createLegacyAuthorizationServer(
  issuer: string,
  resourceServers: Readonly<Record<string, string>>,
): LegacyAuthorizationServer {
  const tokens = new Map<string, IssuedToken>();
  let fault: FaultMode = 'none';

  const issue = (sub: string, scope: string, expiresIn = 3600): string => {
    const token = crypto.randomBytes(32).toString('base64url');
    const iat = Math.floor(Date.now() / 1000);
    tokens.set(token, { sub, scope, iat, exp: iat + expiresIn });
    return token;
  };

  const router = express.Router();
  router.use(express.urlencoded());

  router.post('/tokens', (req: Request, res: Response) => {
    res.set('Cache-Control', 'no-store');
    const { sub, scope = '', expires_in = '3600' } = (req.body ?? {}) as Record<string, unknown>;
    const expiresIn = Number(expires_in);
    if (typeof sub !== 'string' || LEGACY_USERS[sub] === undefined) {
      res.status(400).json({ error: 'invalid_request', error_description: 'unknown sub' });
      return;
    }
    if (typeof scope !== 'string' || !Number.isInteger(expiresIn) || expiresIn < 1) {
      res
        .status(400)
        .json({ error: 'invalid_request', error_description: 'bad scope or expires_in' });
      return;
    }
    res.json({
      access_token: issue(sub, scope, expiresIn),
      token_type: 'Bearer',
      expires_in: expiresIn,
      scope,
    });
  });

  router.post('/introspect', (req: Request, res: Response) => {
    if (fault === 'down') {
      req.socket.destroy();
      return;
    }
    res.set('Cache-Control', 'no-store');
    if (fault === 'error') {
      res.status(503).json({ error: 'temporarily_unavailable' });
      return;
    }
    const [id, secret] = basicCredentials(req);
    const expected = id === undefined ? undefined : resourceServers[id];
    if (expected === undefined || !sameSecret(secret ?? '', expected)) {
      res.set('WWW-Authenticate', 'Basic realm="legacy-as"');
      res.status(401).json({ error: 'invalid_client' });
      return;
    }
    const token = (req.body as Record<string, unknown> | undefined)?.token;
    if (typeof token !== 'string' || token.length === 0) {
      res.status(400).json({ error: 'invalid_request', error_description: 'token is required' });
      return;
    }
    const issued = tokens.get(token);
    const now = Math.floor(Date.now() / 1000);
    if (issued === undefined || (issued.exp <= now && fault !== 'stale')) {
      res.json({ active: false });
      return;
    }
    const user = LEGACY_USERS[issued.sub]!;
    res.json({
      active: true,
      scope: issued.scope,
      client_id: LEGACY_CLIENT_ID,
      username: user.username,
      token_type: 'Bearer',
      exp: issued.exp,
      iat: issued.iat,
      sub: issued.sub,
      iss: issuer,
      // Extensions (RFC 7662 §2.2 allows them): the profile the migrated user starts with.
      email: user.email,
      name: user.name,
    });
  });

  router.post('/fault', (req: Request, res: Response) => {
    const mode = (req.body as Record<string, unknown> | undefined)?.mode;
    if (mode !== 'none' && mode !== 'error' && mode !== 'down' && mode !== 'stale') {
      res.status(400).json({ error: 'mode must be none, error, down or stale' });
      return;
    }
    fault = mode;
    res.json({ fault });
  });

  return { router, issue };
}

function basicCredentials(req: Request): [string?, string?] {
  const match = /^Basic ([A-Za-z0-9+/=]+)$/.exec(req.get('authorization') ?? '');
  if (!match) return [];
  const decoded = Buffer.from(match[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return [];
  // RFC 6749 §2.3.1: client id and secret are form-encoded before Basic encoding.
  const decode = (part: string) => decodeURIComponent(part.replace(/\+/g, ' '));
  try {
    return [decode(decoded.slice(0, colon)), decode(decoded.slice(colon + 1))];
  } catch {
    return []; // malformed percent-encoding
  }
}

function sameSecret(given: string, expected: string): boolean {
  const a = crypto.createHash('sha256').update(given).digest();
  const b = crypto.createHash('sha256').update(expected).digest();
  return crypto.timingSafeEqual(a, b);
}
