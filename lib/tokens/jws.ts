/**
 * Compact JWS (RFC 7515) signing and signature checks on node:crypto `KeyObject`s. jose builds the
 * same signatures through WebCrypto at two to four times the cost, and the token endpoint signs
 * on every request, so the hot path stays here.
 *
 * @packageDocumentation
 */
import crypto, { type KeyObject } from 'node:crypto';

/** The asymmetric JWS algorithms the router signs with. `EdDSA` means Ed25519. */
export type SigningAlg = 'RS256' | 'PS256' | 'ES256' | 'EdDSA';

/** Every {@link SigningAlg}, in the order error messages list them. */
export const SIGNING_ALGS: readonly SigningAlg[] = Object.freeze([
  'RS256',
  'PS256',
  'ES256',
  'EdDSA',
]);

/**
 * A key that signs: what `signJwt` needs. The private key never leaves the closure (or the KMS
 * behind it: a signer may answer through a promise).
 */
export interface SigningKey {
  readonly kid: string;
  readonly alg: SigningAlg;
  /** Signs a JWS signing input and returns the raw signature. */
  sign(data: Buffer): Buffer | Promise<Buffer>;
}

/**
 * The caller-chosen part of a JWS protected header. `alg` and `kid` are deliberately not in it:
 * they always come from the key, so a header can never name a different key or algorithm than
 * the one that signed.
 */
export interface JwsHeader {
  /** `at+jwt` for RFC 9068 access tokens, `JWT` for ID tokens. */
  typ: string;
}

/** The claims of a JWT; serialized with `JSON.stringify`, so `undefined` members are dropped. */
export type JwtPayload = Readonly<Record<string, unknown>>;

/** Signs `data` and returns the raw JWS signature (not yet base64url-encoded). */
export type JwsSignFunction = (data: Buffer) => Buffer;

/**
 * Builds the signing function for one private key. The node:crypto options object is built once
 * here so that signing allocates nothing per call beyond the signature itself.
 *
 * @param alg - the JWS algorithm; the key type must already have been checked to fit it.
 * @param privateKey - an imported private `KeyObject`.
 */
export function createJwsSigner(alg: SigningAlg, privateKey: KeyObject): JwsSignFunction {
  switch (alg) {
    case 'RS256': {
      const options = { key: privateKey, padding: crypto.constants.RSA_PKCS1_PADDING };
      return (data) => crypto.sign('sha256', data, options);
    }
    case 'PS256': {
      // RFC 7518 §3.5: the salt is as long as the hash output (32 bytes for SHA-256).
      const options = {
        key: privateKey,
        padding: crypto.constants.RSA_PKCS1_PSS_PADDING,
        saltLength: 32,
      };
      return (data) => crypto.sign('sha256', data, options);
    }
    case 'ES256': {
      // JWS wants the fixed-width r||s form (RFC 7518 §3.4), not node's default DER.
      const options = { key: privateKey, dsaEncoding: 'ieee-p1363' as const };
      return (data) => crypto.sign('sha256', data, options);
    }
    case 'EdDSA':
      // Ed25519 hashes internally: node requires a null digest.
      return (data) => crypto.sign(null, data, privateKey);
  }
}

/**
 * Checks a raw JWS signature over `data` with the parameters {@link createJwsSigner} signs with.
 *
 * @param alg - the JWS algorithm the key is bound to (never taken from an untrusted header).
 * @param publicKey - a public (or private) `KeyObject`.
 * @param data - the JWS signing input, `base64url(header) + '.' + base64url(payload)`.
 * @param signature - the decoded signature.
 * @returns `true` when the signature is valid.
 */
export function verifyJwsSignature(
  alg: SigningAlg,
  publicKey: KeyObject,
  data: Buffer,
  signature: Buffer,
): boolean {
  switch (alg) {
    case 'RS256':
      return crypto.verify(
        'sha256',
        data,
        { key: publicKey, padding: crypto.constants.RSA_PKCS1_PADDING },
        signature,
      );
    case 'PS256':
      return crypto.verify(
        'sha256',
        data,
        { key: publicKey, padding: crypto.constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 },
        signature,
      );
    case 'ES256':
      return crypto.verify(
        'sha256',
        data,
        { key: publicKey, dsaEncoding: 'ieee-p1363' },
        signature,
      );
    case 'EdDSA':
      return crypto.verify(null, data, publicKey, signature);
  }
}

/**
 * Signs a JWT as a compact JWS with one of the router's keys. The protected header is
 * `{ alg, typ, kid }`, `alg` and `kid` taken from `key`.
 *
 * @param header - the `typ` of the token.
 * @param payload - the claims.
 * @param key - a key from `KeySet.signingKey(alg)`.
 * @returns the compact serialization `header.payload.signature`.
 */
export async function signJwt(
  header: JwsHeader,
  payload: JwtPayload,
  key: SigningKey,
): Promise<string> {
  const signingInput = `${encodeSegment({ alg: key.alg, typ: header.typ, kid: key.kid })}.${encodeSegment(payload)}`;
  const signature = await key.sign(Buffer.from(signingInput));
  return `${signingInput}.${signature.toString('base64url')}`;
}

/**
 * Signs a JWT with HMAC-SHA-256 (`alg: HS256`), as Auth0 does for ID tokens of clients whose
 * `jwt_configuration.alg` is HS256. The header carries no `kid`: the verifier already knows the
 * secret it shares with us.
 *
 * @param header - the `typ` of the token.
 * @param payload - the claims.
 * @param secret - the client secret, used as its UTF-8 bytes (what Auth0's SDKs verify with).
 * @throws Error when `secret` is empty: an empty HMAC key would make the token forgeable by anyone.
 */
export function signHs256Jwt(header: JwsHeader, payload: JwtPayload, secret: string): string {
  if (secret.length === 0) throw new Error('HS256 signing needs a non-empty secret');
  const signingInput = `${encodeSegment({ alg: 'HS256', typ: header.typ })}.${encodeSegment(payload)}`;
  const signature = crypto.createHmac('sha256', secret).update(signingInput).digest('base64url');
  return `${signingInput}.${signature}`;
}

function encodeSegment(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}
