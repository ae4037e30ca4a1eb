import type { SigningAlg } from './jws.js';

/**
 * A private key the router signs with without holding it: a key in a KMS or an HSM, reached
 * through your adapter. Give it in `options.keys` beside (or instead of) private JWKs, or to
 * `cte.keys.add()`. Only the public key is ever published or stored.
 *
 * `sign` receives the JWS signing input (`base64url(header).base64url(payload)` as bytes) and
 * returns the raw JWS signature of RFC 7518: for ES256 the 64 bytes `r || s` (a KMS usually
 * answers DER, which must be converted), for RS256 and PS256 (salt length 32) the RSA signature,
 * for EdDSA the 64-byte Ed25519 signature. The first signature of each signer is checked against
 * its `publicJwk`, so a signer that answers another form fails loudly instead of issuing tokens
 * nobody can verify. It runs on every token the key signs: a remote call per token costs its
 * round trip on every response.
 */
export interface Signer {
  /** The key id, published in the JWKS and in the header of every token it signs. */
  readonly kid: string;
  /** RS256, PS256 (RSA of at least 2048 bits), ES256 (P-256) or EdDSA (Ed25519). */
  readonly alg: SigningAlg;
  /** The public key as a JWK (`kty`, and `n`/`e` or `crv`/`x`(/`y`)); private members are refused. */
  readonly publicJwk: Readonly<Record<string, unknown>>;
  /** Signs `data` and returns the raw JWS signature. */
  sign(data: Uint8Array): Uint8Array | Promise<Uint8Array>;
}

/** Whether `value` has the shape of a {@link Signer} (a `sign` function) rather than a JWK. */
export function isSigner(value: unknown): value is Signer {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { sign?: unknown }).sign === 'function'
  );
}
