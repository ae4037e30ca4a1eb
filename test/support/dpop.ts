import { randomUUID } from 'node:crypto';
import { SignJWT, calculateJwkThumbprint, exportJWK, generateKeyPair } from 'jose';
import type { JWK, JWTPayload } from 'jose';
import { ISSUER } from './fixtures.js';

/** The fixture router's token endpoint: every proof's `htu`. */
export const TOKEN_URL = `${ISSUER}oauth/token`;

type PrivateKey = Awaited<ReturnType<typeof generateKeyPair>>['privateKey'];

/** A client's DPoP key pair and the thumbprint its tokens are bound to. */
export interface DpopKey {
  privateKey: PrivateKey;
  publicJwk: JWK;
  jkt: string;
  alg: string;
}

export async function dpopKey(alg: 'ES256' | 'RS256' | 'EdDSA' = 'ES256'): Promise<DpopKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  const publicJwk = await exportJWK(publicKey);
  return { privateKey, publicJwk, jkt: await calculateJwkThumbprint(publicJwk, 'sha256'), alg };
}

export interface ProofOptions {
  /** Claims over the defaults (`jti` fresh, `htm` POST, `htu` the token endpoint, `iat` now). */
  claims?: JWTPayload;
  /** Default claims to leave out. */
  omit?: Array<'jti' | 'htm' | 'htu' | 'iat'>;
  /** Header members over the defaults (`typ: dpop+jwt`, the key's `alg`, its public `jwk`). */
  header?: Record<string, unknown>;
}

/** A DPoP proof JWT signed with `key`. */
export async function dpopProof(key: DpopKey, options: ProofOptions = {}): Promise<string> {
  const payload: JWTPayload = {
    jti: randomUUID(),
    htm: 'POST',
    htu: TOKEN_URL,
    iat: Math.floor(Date.now() / 1000),
    ...options.claims,
  };
  for (const claim of options.omit ?? []) delete payload[claim];
  return new SignJWT(payload)
    .setProtectedHeader({
      typ: 'dpop+jwt',
      alg: key.alg,
      jwk: key.publicJwk,
      ...options.header,
    })
    .sign(key.privateKey);
}
