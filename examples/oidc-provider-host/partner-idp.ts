/**
 * A simulated partner identity provider on the same server: an ES256 key, its JWKS under
 * `/idp/.well-known/jwks.json`, and the ID tokens it would give the partner's users.
 */
import { Router } from 'express';
import { SignJWT, exportJWK, generateKeyPair } from 'jose';
import type { CryptoKey, JWK } from 'jose';

const KID = 'partner-1';

export class SimulatedPartnerIdp {
  readonly issuer: string;
  readonly jwksUrl: string;
  readonly #privateKey: CryptoKey;
  readonly #publicJwk: JWK;

  private constructor(origin: string, privateKey: CryptoKey, publicJwk: JWK) {
    this.issuer = `${origin}/idp/`;
    this.jwksUrl = `${origin}/idp/.well-known/jwks.json`;
    this.#privateKey = privateKey;
    this.#publicJwk = publicJwk;
  }

  static async create(origin: string): Promise<SimulatedPartnerIdp> {
    const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
    const publicJwk = { ...(await exportJWK(publicKey)), kid: KID, alg: 'ES256', use: 'sig' };
    return new SimulatedPartnerIdp(origin, privateKey, publicJwk);
  }

  /** The routes the partner serves: its JWKS. */
  router(): Router {
    return Router().get('/idp/.well-known/jwks.json', (_req, res) => {
      res.json({ keys: [this.#publicJwk] });
    });
  }

  /** An ID token for the partner's user `sub`, issued to `audience`, valid ten minutes. */
  signIdToken(sub: string, audience: string, profile: Record<string, unknown>): Promise<string> {
    return new SignJWT(profile)
      .setProtectedHeader({ alg: 'ES256', kid: KID })
      .setIssuer(this.issuer)
      .setAudience(audience)
      .setSubject(sub)
      .setIssuedAt()
      .setExpirationTime('10m')
      .sign(this.#privateKey);
  }
}
