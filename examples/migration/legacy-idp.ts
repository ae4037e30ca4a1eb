/**
 * The legacy identity provider being migrated away from, simulated: an OAuth 2.0 server whose
 * apps hold opaque refresh tokens. It answers `POST /oauth/token` (`grant_type=refresh_token`,
 * client credentials in the form body, RFC 6749 §6) with a short-lived opaque access token, and
 * `GET /userinfo` for that access token. It can be switched into an outage to show what the
 * exchange does then.
 */
import crypto from 'node:crypto';
import express from 'express';
import type { NextFunction, Request, Response, Router } from 'express';

/** A user of the legacy IdP, as its userinfo endpoint describes it. */
export interface LegacyUser {
  /** The legacy user id. */
  sub: string;
  email: string;
  email_verified: boolean;
  name: string;
}

/**
 * `up`: normal service. `failing`: every endpoint answers `503`. `unreachable`: every connection
 * is dropped without an answer, as when the IdP's host is gone.
 */
export type LegacyIdpMode = 'up' | 'failing' | 'unreachable';
const MODES: readonly LegacyIdpMode[] = ['up', 'failing', 'unreachable'];

export interface LegacyIdp {
  /** `POST /oauth/token`, `GET /userinfo`, and `PUT /admin/mode` (`{ "mode": "failing" }`). */
  readonly routes: Router;
  /** Issues a refresh token for one of its users, as the IdP did when the user signed in. */
  issueRefreshToken(sub: string): string;
  /** Revokes a refresh token: the token endpoint then answers `invalid_grant` for it. */
  revoke(refreshToken: string): void;
}

const ACCESS_TOKEN_LIFETIME_SECONDS = 300;

/**
 * @param client - the one client allowed to redeem refresh tokens (the router's action)
 * @param users - the IdP's users
 */
export function createLegacyIdp(
  client: { clientId: string; clientSecret: string },
  users: readonly LegacyUser[],
): LegacyIdp {
  const usersById = new Map(users.map((user) => [user.sub, user]));
  /** Live refresh tokens → user id. */
  const refreshTokens = new Map<string, string>();
  /** Access tokens → user id and expiry (ms). */
  const accessTokens = new Map<string, { sub: string; expiresAt: number }>();
  let mode: LegacyIdpMode = 'up';

  const opaque = (prefix: string): string =>
    `${prefix}${crypto.randomBytes(24).toString('base64url')}`;
  const oauthError = (res: Response, status: number, error: string, description: string) => {
    res
      .status(status)
      .set('Cache-Control', 'no-store')
      .json({ error, error_description: description });
  };
  /** The outage switch, in front of every endpoint but the switch itself. */
  const outage = (req: Request, res: Response, next: NextFunction): void => {
    if (mode === 'unreachable') {
      req.socket.destroy();
      return;
    }
    if (mode === 'failing') {
      oauthError(res, 503, 'temporarily_unavailable', 'the legacy IdP is down for maintenance');
      return;
    }
    next();
  };

  const routes = express.Router();
  routes.post('/oauth/token', outage, express.urlencoded({ extended: false }), (req, res) => {
    const body = (req.body ?? {}) as Record<string, unknown>;
    const secretMatches =
      typeof body.client_secret === 'string' &&
      body.client_secret.length === client.clientSecret.length &&
      crypto.timingSafeEqual(Buffer.from(body.client_secret), Buffer.from(client.clientSecret));
    if (body.client_id !== client.clientId || !secretMatches) {
      oauthError(res, 401, 'invalid_client', 'client authentication failed');
      return;
    }
    if (body.grant_type !== 'refresh_token') {
      oauthError(res, 400, 'unsupported_grant_type', 'only refresh_token is supported');
      return;
    }
    const sub =
      typeof body.refresh_token === 'string' ? refreshTokens.get(body.refresh_token) : undefined;
    if (sub === undefined) {
      oauthError(res, 400, 'invalid_grant', 'the refresh token is invalid, expired or revoked');
      return;
    }
    const accessToken = opaque('lat_');
    accessTokens.set(accessToken, {
      sub,
      expiresAt: Date.now() + ACCESS_TOKEN_LIFETIME_SECONDS * 1000,
    });
    res.set('Cache-Control', 'no-store').json({
      access_token: accessToken,
      token_type: 'Bearer',
      expires_in: ACCESS_TOKEN_LIFETIME_SECONDS,
    });
  });
  routes.get('/userinfo', outage, (req, res) => {
    const token = /^Bearer (\S+)$/.exec(req.get('authorization') ?? '')?.[1];
    const grant = token === undefined ? undefined : accessTokens.get(token);
    const user = grant && grant.expiresAt > Date.now() ? usersById.get(grant.sub) : undefined;
    if (user === undefined) {
      res.status(401).set('WWW-Authenticate', 'Bearer error="invalid_token"').end();
      return;
    }
    res.json(user);
  });
  // The example's switch, not part of any real IdP: lets you (and the tests) cause an outage.
  routes.put('/admin/mode', express.json(), (req, res) => {
    const requested = (req.body as { mode?: unknown } | undefined)?.mode;
    if (!MODES.includes(requested as LegacyIdpMode)) {
      res.status(400).json({ error: `mode must be one of ${MODES.join(', ')}` });
      return;
    }
    mode = requested as LegacyIdpMode;
    res.json({ mode });
  });

  return {
    routes,
    issueRefreshToken(sub) {
      if (!usersById.has(sub)) throw new Error(`the legacy IdP has no user ${sub}`);
      const token = opaque('lrt_');
      refreshTokens.set(token, sub);
      return token;
    },
    revoke(refreshToken) {
      refreshTokens.delete(refreshToken);
    },
  };
}
