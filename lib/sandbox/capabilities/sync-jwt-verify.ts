import crypto from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { UnsecuredJWT } from 'jose';
import type { JWTHeaderParameters, JWTPayload, JWTVerifyOptions } from 'jose';

/**
 * `jwtVerify` answered synchronously, when it can be: the signature checked with node:crypto on
 * keys imported once, the claims checked by jose's own claim validation (`UnsecuredJWT.decode`
 * runs the same `validateClaimsSet` as `jwtVerify`). It lets a sandboxed action's `jwtVerify`
 * finish inside the entry that called it, with no WebCrypto thread hop and no second entry into the
 * isolate (node:crypto verifies ES256 at about half the cost of jose's WebCrypto path).
 *
 * It only ever says yes to what jose would accept: anything it does not handle exactly as jose
 * does returns `undefined` so the caller runs jose itself, which then gives jose's answer and jose's
 * error. That covers every failure short of the claims (a bad signature, no or several candidate
 * keys, headers with `crit`/`b64`, unusual encodings, algorithms outside the table below); claim
 * failures throw jose's own `JWTExpired` / `JWTClaimValidationFailed`, which are what `jwtVerify`
 * throws for a correctly signed token.
 */
export function verifyJwtSync(
  token: string,
  keys: SyncKeySet,
  options: JWTVerifyOptions,
): { payload: JWTPayload; protectedHeader: JWTHeaderParameters } | undefined {
  const dot1 = token.indexOf('.');
  const dot2 = token.indexOf('.', dot1 + 1);
  if (dot1 <= 0 || dot2 <= dot1 + 1 || token.indexOf('.', dot2 + 1) !== -1) return undefined;
  const encodedHeader = token.slice(0, dot1);
  const encodedPayload = token.slice(dot1 + 1, dot2);
  const encodedSignature = token.slice(dot2 + 1);
  if (!isBase64url(encodedHeader) || !isBase64url(encodedPayload)) return undefined;
  if (!isBase64url(encodedSignature)) return undefined;

  const header = parseHeader(encodedHeader);
  if (header === undefined || 'crit' in header || 'b64' in header) return undefined;
  const { alg, kid } = header;
  if (typeof alg !== 'string' || !options.algorithms?.includes(alg)) return undefined;
  const algorithm = ALGORITHMS.get(alg);
  if (algorithm === undefined || (kid !== undefined && typeof kid !== 'string')) return undefined;
  const key = keys.select(alg, algorithm, kid);
  if (key === undefined) return undefined;

  let verified: boolean;
  try {
    verified = crypto.verify(
      algorithm.hash,
      Buffer.from(token.slice(0, dot2), 'latin1'),
      { key, ...algorithm.verifyOptions },
      Buffer.from(encodedSignature, 'base64url'),
    );
  } catch {
    return undefined;
  }
  if (!verified) return undefined;

  // The signature holds: the claims are jose's call, through the same validation jwtVerify runs.
  const { algorithms: _algorithms, crit: _crit, ...claimOptions } = options;
  const unsecuredHeader = unsecuredHeaderFor(header.typ);
  const { payload } = UnsecuredJWT.decode(`${unsecuredHeader}.${encodedPayload}.`, claimOptions);
  return { payload, protectedHeader: header as JWTHeaderParameters };
}

/** What a JWS `alg` needs of a key and of `crypto.verify` (jose's table, minus HMAC and ML-DSA). */
export interface SyncAlgorithm {
  kty: 'RSA' | 'EC' | 'OKP';
  crv?: string;
  hash: string | null;
  verifyOptions: { dsaEncoding?: 'ieee-p1363'; padding?: number; saltLength?: number };
  minRsaBits?: number;
}

const rsa = (hash: string, saltLength?: number): SyncAlgorithm => ({
  kty: 'RSA',
  hash,
  verifyOptions:
    saltLength === undefined
      ? { padding: crypto.constants.RSA_PKCS1_PADDING }
      : { padding: crypto.constants.RSA_PKCS1_PSS_PADDING, saltLength },
  minRsaBits: 2048,
});
const ecdsa = (crv: string, hash: string): SyncAlgorithm => ({
  kty: 'EC',
  crv,
  hash,
  verifyOptions: { dsaEncoding: 'ieee-p1363' },
});
const ed25519: SyncAlgorithm = { kty: 'OKP', crv: 'Ed25519', hash: null, verifyOptions: {} };

const ALGORITHMS = new Map<string, SyncAlgorithm>([
  ['RS256', rsa('sha256')],
  ['RS384', rsa('sha384')],
  ['RS512', rsa('sha512')],
  ['PS256', rsa('sha256', 32)],
  ['PS384', rsa('sha384', 48)],
  ['PS512', rsa('sha512', 64)],
  ['ES256', ecdsa('P-256', 'sha256')],
  ['ES384', ecdsa('P-384', 'sha384')],
  ['ES512', ecdsa('P-521', 'sha512')],
  ['EdDSA', ed25519],
  ['Ed25519', ed25519],
]);

/** Members only a private or secret JWK has: jose refuses those in a key set, and so do we. */
const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k', 'priv'];

interface Candidate {
  jwk: Record<string, unknown>;
  /** Imported on first use; `null` when node:crypto or the rules refuse it. */
  key?: KeyObject | null;
}

/**
 * The public JWKs of a key set jose has already accepted, with node:crypto keys imported on first
 * use. `select` applies jose's candidate rules (`createLocalJWKSet`'s `isUsableJWK`): exactly one
 * usable key, or no answer.
 */
export class SyncKeySet {
  readonly #candidates: Candidate[];

  constructor(jwks: readonly unknown[]) {
    this.#candidates = jwks
      .filter((jwk): jwk is Record<string, unknown> => isPlainObject(jwk))
      .map((jwk) => ({ jwk }));
  }

  select(alg: string, algorithm: SyncAlgorithm, kid: string | undefined): KeyObject | undefined {
    let found: Candidate | undefined;
    for (const candidate of this.#candidates) {
      if (!usable(candidate.jwk, alg, algorithm, kid)) continue;
      if (found !== undefined) return undefined; // several candidates: jose tries each in turn
      found = candidate;
    }
    if (found === undefined) return undefined;
    found.key ??= importPublic(found.jwk, algorithm);
    return found.key ?? undefined;
  }
}

function usable(
  jwk: Record<string, unknown>,
  alg: string,
  algorithm: SyncAlgorithm,
  kid: string | undefined,
): boolean {
  const { ext, key_ops: keyOps, use, crv } = jwk;
  if (ext !== undefined && typeof ext !== 'boolean') return false;
  // jose needs "verify" among them, and WebCrypto then refuses a public key with any other usage.
  if (
    keyOps !== undefined &&
    !(Array.isArray(keyOps) && keyOps.length === 1 && keyOps[0] === 'verify')
  ) {
    return false;
  }
  if (jwk.kty !== algorithm.kty) return false;
  if (kid !== undefined && jwk.kid !== kid) return false;
  if (jwk.alg !== undefined && jwk.alg !== alg) return false;
  if (use !== undefined && use !== 'sig') return false;
  return algorithm.crv === undefined || crv === algorithm.crv;
}

function importPublic(jwk: Record<string, unknown>, algorithm: SyncAlgorithm): KeyObject | null {
  if (PRIVATE_MEMBERS.some((member) => member in jwk)) return null;
  try {
    const key = crypto.createPublicKey({ key: jwk as crypto.JsonWebKey, format: 'jwk' });
    const bits = key.asymmetricKeyDetails?.modulusLength;
    if (algorithm.minRsaBits !== undefined && (bits === undefined || bits < algorithm.minRsaBits)) {
      return null;
    }
    return key;
  } catch {
    return null;
  }
}

const BASE64URL = /^[A-Za-z0-9_-]*$/;
function isBase64url(segment: string): boolean {
  return segment.length % 4 !== 1 && BASE64URL.test(segment);
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });
function parseHeader(encoded: string): Record<string, unknown> | undefined {
  try {
    const parsed: unknown = JSON.parse(strictUtf8.decode(Buffer.from(encoded, 'base64url')));
    return isPlainObject(parsed) ? parsed : undefined;
  } catch {
    return undefined;
  }
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const prototype = Object.getPrototypeOf(value) as unknown;
  return prototype === null || prototype === Object.prototype;
}

function base64urlJson(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

/** The `alg: none` header claims are decoded under, without a `typ` or with the usual one. */
const UNSECURED_HEADER = base64urlJson({ alg: 'none' });
const UNSECURED_JWT_HEADER = base64urlJson({ alg: 'none', typ: 'JWT' });

function unsecuredHeaderFor(typ: unknown): string {
  if (typ === undefined) return UNSECURED_HEADER;
  return typ === 'JWT' ? UNSECURED_JWT_HEADER : base64urlJson({ alg: 'none', typ });
}
