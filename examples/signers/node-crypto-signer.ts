/**
 * The shape of a `Signer`, worked over node:crypto: a private key the router never sees, only
 * asks to sign. An adapter for a KMS or an HSM has the same four members; its `sign` calls the
 * service (AWS KMS `Sign` with `ECDSA_SHA_256` and `MessageType: 'RAW'`, Google Cloud KMS
 * `asymmetricSign`, a PKCS#11 session, ...) and converts the answer to the raw JWS form.
 */
import crypto, { type KeyObject } from 'node:crypto';
import type { Signer } from '../../lib/index.js';

/**
 * An ES256 signer over a P-256 private key held by node:crypto (here, where a KMS would hold it).
 * `kid` names the key in the JWKS and in the header of every token it signs.
 */
export function nodeCryptoSigner(privateKey: KeyObject, kid: string): Signer {
  // The public half, published by the router; the private half stays in this closure.
  const { kty, crv, x, y } = crypto.createPublicKey(privateKey).export({ format: 'jwk' });
  return {
    kid,
    alg: 'ES256',
    publicJwk: { kty, crv, x, y },
    // ES256 wants r || s, 64 bytes (RFC 7518 §3.4). node:crypto, like most KMSs, answers DER
    // unless told otherwise: a KMS adapter converts its DER answer here.
    sign: async (data) =>
      crypto.sign('sha256', data, { key: privateKey, dsaEncoding: 'ieee-p1363' }),
  };
}
