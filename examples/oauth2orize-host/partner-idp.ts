/**
 * A simulated partner identity provider, served under `/partner-idp/` by the same server so the
 * example runs alone: an ES256 key made at start, its JWKS, and a sign-in route that hands out an
 * ID token for one of its users (no password: it stands in for the partner's real login).
 */
import express from 'express';
import type { Router } from 'express';
import { SignJWT, exportJWK, generateKeyPair } from 'jose';

/** The partner's own users, by username. */
const PARTNER_USERS: Record<string, { sub: string; email: string; name: string }> = {
  jane: { sub: 'p-jane-42', email: 'jane@partner.example', name: 'Jane Partner' },
  bob: { sub: 'p-bob-7', email: 'bob@partner.example', name: 'Bob Partner' },
  carol: { sub: 'p-carol-9', email: 'carol@partner.example', name: 'Carol Partner' },
};

export interface PartnerIdp {
  issuer: string;
  jwksUrl: string;
  /** `GET .well-known/jwks.json` and `POST sign-in`, to mount at `/partner-idp`. */
  router: Router;
  /** An ID token for `username`, addressed to `audience` (the client that will exchange it). */
  signIdToken(username: string, audience: string): Promise<string>;
}

export async function createPartnerIdp(origin: string): Promise<PartnerIdp> {
  const issuer = `${origin}/partner-idp/`;
  const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
  const jwk = { ...(await exportJWK(publicKey)), kid: 'partner-2025', alg: 'ES256', use: 'sig' };

  const signIdToken = async (username: string, audience: string): Promise<string> => {
    const user = Object.hasOwn(PARTNER_USERS, username) ? PARTNER_USERS[username] : undefined;
    if (user === undefined) throw new Error(`the partner has no user ${username}`);
    return new SignJWT({ email: user.email, email_verified: true, name: user.name })
      .setProtectedHeader({ alg: 'ES256', kid: jwk.kid, typ: 'JWT' })
      .setIssuer(issuer)
      .setAudience(audience)
      .setSubject(user.sub)
      .setIssuedAt()
      .setExpirationTime('10m')
      .sign(privateKey);
  };

  const router = express.Router();
  router.get('/.well-known/jwks.json', (_req, res) => {
    res.json({ keys: [jwk] });
  });
  router.post('/sign-in', express.urlencoded(), async (req, res) => {
    const { username, client_id: clientId } = (req.body ?? {}) as Record<string, unknown>;
    if (typeof username !== 'string' || !Object.hasOwn(PARTNER_USERS, username)) {
      res.status(404).json({ error: 'unknown_user' });
      return;
    }
    if (typeof clientId !== 'string' || clientId === '') {
      res.status(400).json({ error: 'client_id is required' });
      return;
    }
    res.set('Cache-Control', 'no-store').json({ id_token: await signIdToken(username, clientId) });
  });

  return { issuer, jwksUrl: `${issuer}.well-known/jwks.json`, router, signIdToken };
}
