/**
 * A simulated partner OpenID provider for the use-case examples: an ES256 signing key generated at
 * start, its JWKS and discovery document, and a stand-in for its login page that hands out ID
 * tokens. A real partner IdP is a public server the action reaches over https; this one lives
 * under a path of the example's own server.
 */
import express from 'express';
import type { Router } from 'express';
import { randomUUID } from 'node:crypto';
import { SignJWT, exportJWK, generateKeyPair } from 'jose';

/** What a user of the partner looks like in its ID tokens. */
export interface PartnerUser {
  sub: string;
  email?: string;
  email_verified?: boolean;
  name?: string;
  given_name?: string;
  family_name?: string;
}

/** How an ID token is minted; the defaults make a valid token for the registered app. */
export interface IdTokenOptions {
  /** `aud`: the app's client id at the partner. Default: the `clientId` the IdP was created with. */
  audience?: string;
  /** Seconds between `iat` and now (default 0); the token lives 10 minutes from `iat`. */
  issuedSecondsAgo?: number;
}

export interface PartnerIdp {
  /** `iss` of its ID tokens, with a trailing slash. */
  readonly issuer: string;
  /** Where its public keys are published. */
  readonly jwksUri: string;
  /** `GET /.well-known/jwks.json`, `GET /.well-known/openid-configuration`, `POST /sign-in`. */
  readonly routes: Router;
  /** Signs an ID token (ES256, `iss`, `sub`, `aud`, `iat`, `exp`, no `nonce`) for `user`. */
  signIdToken(user: PartnerUser, options?: IdTokenOptions): Promise<string>;
}

/** The lifetime of the partner's ID tokens. */
const ID_TOKEN_LIFETIME_SECONDS = 600;

/**
 * @param issuer - the partner's issuer URL, ending in `/`; mount `routes` at its path
 * @param clientId - the client id the example's app is registered under at the partner
 */
export async function createPartnerIdp(issuer: string, clientId: string): Promise<PartnerIdp> {
  const { publicKey, privateKey } = await generateKeyPair('ES256', { extractable: true });
  const kid = 'partner-key-1';
  const jwks = { keys: [{ ...(await exportJWK(publicKey)), kid, alg: 'ES256', use: 'sig' }] };
  const jwksUri = `${issuer}.well-known/jwks.json`;

  const signIdToken = async (user: PartnerUser, options: IdTokenOptions = {}): Promise<string> => {
    const { sub, ...profile } = user;
    const iat = Math.floor(Date.now() / 1000) - (options.issuedSecondsAgo ?? 0);
    return new SignJWT({ ...profile })
      .setProtectedHeader({ alg: 'ES256', typ: 'JWT', kid })
      .setIssuer(issuer)
      .setSubject(sub)
      .setAudience(options.audience ?? clientId)
      .setIssuedAt(iat)
      .setExpirationTime(iat + ID_TOKEN_LIFETIME_SECONDS)
      .setJti(randomUUID())
      .sign(privateKey);
  };

  const routes = express.Router();
  routes.get('/.well-known/jwks.json', (_req, res) => {
    res.json(jwks);
  });
  routes.get('/.well-known/openid-configuration', (_req, res) => {
    res.json({
      issuer,
      jwks_uri: jwksUri,
      id_token_signing_alg_values_supported: ['ES256'],
      subject_types_supported: ['public'],
    });
  });
  // Stands in for the partner's login page and its SPA's code flow: whoever posts a user gets an
  // ID token for it. A simulation only; `audience` and `issued_seconds_ago` let the tests ask for
  // a token meant for another app, or one that has expired.
  routes.post('/sign-in', express.json(), async (req, res) => {
    const body = (req.body ?? {}) as Record<string, unknown>;
    if (typeof body.sub !== 'string' || body.sub === '') {
      res.status(400).json({ error: 'invalid_request', error_description: 'sub is required' });
      return;
    }
    const user: PartnerUser = { sub: body.sub };
    for (const key of ['email', 'name', 'given_name', 'family_name'] as const) {
      if (typeof body[key] === 'string') user[key] = body[key];
    }
    if (typeof body.email_verified === 'boolean') user.email_verified = body.email_verified;
    const options: IdTokenOptions = {};
    if (typeof body.audience === 'string') options.audience = body.audience;
    if (typeof body.issued_seconds_ago === 'number') {
      options.issuedSecondsAgo = body.issued_seconds_ago;
    }
    res.set('Cache-Control', 'no-store');
    res.json({ id_token: await signIdToken(user, options) });
  });

  return { issuer, jwksUri, routes, signIdToken };
}
