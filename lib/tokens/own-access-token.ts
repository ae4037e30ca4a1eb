import { decodeJwt, errors as joseErrors, jwtVerify } from 'jose';
import type { JWTHeaderParameters, JWTPayload } from 'jose';
import { randomToken } from '../secure-random.js';
import type { Actor } from './actor.js';
import { SIGNING_ALGS } from './jws.js';
import type { KeySet } from './key-set.js';

/**
 * The prefix of every access token `jti` the router mints. A host may share the router's issuer
 * and even its signing keys (a node-oidc-provider host does), so issuer and signature alone do
 * not tell the router's tokens from the host's; no other issuer mints a `jti` with this prefix by
 * accident, so revocation and introspection recognise the router's own tokens by it and hand
 * every other token to the host.
 */
export const ACCESS_TOKEN_JTI_PREFIX = 'cte_at_';

/** 16 random bytes: the 128 bits of RFC 9068 section 2.2's advice for a `jti` that never repeats. */
const JTI_RANDOM_BYTES = 16;
const JTI_SHAPE = /^cte_at_[A-Za-z0-9_-]{22}$/;

/**
 * Longest token looked at. The router's access tokens are a few kB (more with custom claims and
 * nested actors); anything longer is not one of them and is never decoded.
 */
const MAX_ACCESS_TOKEN_LENGTH = 64 * 1024;

/** A new access token `jti`: the router's prefix and 128 random bits in base64url. */
export function newAccessTokenJti(): string {
  return `${ACCESS_TOKEN_JTI_PREFIX}${randomToken(JTI_RANDOM_BYTES)}`;
}

/** The claims of one of the router's access tokens, once its signature and lifetime are checked. */
export interface AccessTokenClaims {
  iss: string;
  sub: string;
  aud: string;
  iat: number;
  exp: number;
  jti: string;
  client_id: string;
  scope?: string;
  act?: Actor;
  /** The DPoP key the token is bound to (RFC 9449 section 6.1). */
  cnf?: { jkt: string };
  [claim: string]: unknown;
}

/**
 * What {@link readOwnAccessToken} found: `foreign` (not a JWT with the router's `jti` and
 * issuer: the host's, or not a token at all), `invalid` (the router's shape, but the signature,
 * the key or a claim does not hold, or it has expired; `reason` is for the log), or `valid`.
 */
export type OwnAccessToken =
  | { readonly status: 'foreign' }
  | { readonly status: 'invalid'; readonly reason: string }
  | { readonly status: 'valid'; readonly claims: AccessTokenClaims };

/** What the router checks its access tokens against. */
export interface OwnAccessTokenCheck {
  issuer: string;
  keys: KeySet;
  /** The current time in seconds since the epoch; default now. */
  now?: number;
}

/**
 * Whether `token` has the shape of one of the router's access tokens: a JWT whose `jti` has the
 * router's prefix and whose `iss` is the router's. Nothing is verified: this only decides that a
 * request is the router's to answer rather than the host's.
 */
export function hasOwnAccessTokenShape(token: string, issuer: string): boolean {
  if (token.length > MAX_ACCESS_TOKEN_LENGTH) return false;
  let unverified: JWTPayload;
  try {
    unverified = decodeJwt(token);
  } catch {
    return false;
  }
  return (
    typeof unverified.jti === 'string' &&
    JTI_SHAPE.test(unverified.jti) &&
    unverified.iss === issuer
  );
}

/**
 * Reads a token presented for revocation or introspection: whether it is one of the router's own
 * access tokens (its `jti` prefix and `iss`, read before anything is verified) and, if so,
 * whether it is still good: signed by one of the router's published keys with that key's own
 * algorithm, `typ: at+jwt`, not expired.
 */
export async function readOwnAccessToken(
  token: string,
  { issuer, keys, now = Math.floor(Date.now() / 1000) }: OwnAccessTokenCheck,
): Promise<OwnAccessToken> {
  if (!hasOwnAccessTokenShape(token, issuer)) return { status: 'foreign' };
  try {
    const { payload } = await jwtVerify(token, (header) => publicKeyFor(keys, header), {
      issuer,
      typ: 'at+jwt',
      algorithms: [...SIGNING_ALGS],
      requiredClaims: ['sub', 'aud', 'iat', 'exp', 'jti', 'client_id'],
      currentDate: new Date(now * 1000),
      clockTolerance: 0,
    });
    if (typeof payload.aud !== 'string' || typeof payload.client_id !== 'string') {
      return { status: 'invalid', reason: 'aud or client_id is not a string' };
    }
    return { status: 'valid', claims: payload as AccessTokenClaims };
  } catch (err) {
    if (err instanceof joseErrors.JOSEError) {
      return { status: 'invalid', reason: `${err.code}: ${err.message}` };
    }
    throw err;
  }
}

/** The router's public key named by `kid`, only for the algorithm it signs with. */
function publicKeyFor(keys: KeySet, header: JWTHeaderParameters) {
  const key = header.kid === undefined ? undefined : keys.verificationKey(header.kid);
  if (key === undefined || key.alg !== header.alg) {
    throw new joseErrors.JWKSNoMatchingKey('no published key of the router has this kid and alg');
  }
  return key.publicKey;
}
