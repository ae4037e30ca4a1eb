import { EmbeddedJWK, calculateJwkThumbprint, errors as joseErrors, jwtVerify } from 'jose';
import type { JWK, JWTPayload } from 'jose';
import { InvalidDpopProof, UseDpopNonce } from '../errors.js';
import { ASYMMETRIC_ALGORITHMS } from './asymmetric-algorithms.js';
import type { DpopNonces } from './dpop-nonce.js';

/** The algorithms a DPoP proof may be signed with: asymmetric ones only (RFC 9449 section 4.3). */
export const DPOP_SIGNING_ALGORITHMS: readonly string[] = ASYMMETRIC_ALGORITHMS;

/** Seconds of clock skew allowed on a proof's `iat`, both ways. */
export const DPOP_CLOCK_TOLERANCE = 30;

/** A proof longer than this is not one (a JWT with an embedded public key is under 2 kB). */
const MAX_PROOF_LENGTH = 8 * 1024;
/** A `jti` is kept in the replay store; bounding it bounds what one proof can make it hold. */
const MAX_JTI_LENGTH = 256;

/** What a proof is checked against. */
export interface DpopProofCheck {
  /** The request's method: the proof's `htm`. */
  method: string;
  /** The endpoint's URL as configured (never from the request's `Host`): the proof's `htu`. */
  url: string;
  /** Seconds a proof's `iat` may lie in the past. */
  maxAge: number;
  /** Server nonces, when the router requires them. */
  nonces?: DpopNonces | undefined;
  /** Seconds since the epoch; default now. */
  now?: number;
}

/** A proof that holds: the key it binds to, and what its one-time use is recorded by. */
export interface DpopProof {
  /** The JWK SHA-256 thumbprint of the proof's key (RFC 7638): the tokens' `cnf.jkt`. */
  jkt: string;
  jti: string;
  /** Until when the proof could be accepted: how long its `jti` must be remembered. */
  acceptableUntil: number;
}

/**
 * Verifies a DPoP proof JWT (RFC 9449 section 4.3): a JWT with `typ: dpop+jwt`, an asymmetric `alg`, a
 * public `jwk` in its header that verifies its signature, a `jti`, `htm` equal to the request's
 * method, `htu` equal to the endpoint's URL (query and fragment ignored, scheme and host
 * compared case-insensitively, default ports dropped), an `iat` within the window, and, when
 * the router requires nonces, a `nonce` it issued. Every failure is `400 invalid_dpop_proof`
 * saying what is wrong, except a missing or stale nonce: `400 use_dpop_nonce` with a fresh
 * one. The `jti` is not consumed here: the caller does once the client is known.
 */
export async function verifyDpopProof(proof: string, check: DpopProofCheck): Promise<DpopProof> {
  const now = check.now ?? Math.floor(Date.now() / 1000);
  if (proof.length > MAX_PROOF_LENGTH) {
    throw new InvalidDpopProof(`the DPoP proof is longer than ${MAX_PROOF_LENGTH} characters`);
  }
  let payload: JWTPayload;
  let jwk: JWK;
  try {
    const verified = await jwtVerify(proof, EmbeddedJWK, {
      typ: 'dpop+jwt',
      algorithms: [...DPOP_SIGNING_ALGORITHMS],
      requiredClaims: ['jti', 'htm', 'htu', 'iat'],
      maxTokenAge: check.maxAge,
      clockTolerance: DPOP_CLOCK_TOLERANCE,
      currentDate: new Date(now * 1000),
    });
    payload = verified.payload;
    jwk = verified.protectedHeader.jwk!;
  } catch (err) {
    // Whatever jose or node:crypto refuse (a key that does not import, a curve point off the
    // curve, ...) is the proof's fault: every malformed proof gets the same error code.
    throw new InvalidDpopProof(`invalid DPoP proof: ${describe(err)}`);
  }

  const { jti, htm, htu, nonce } = payload;
  if (typeof jti !== 'string' || jti === '' || jti.length > MAX_JTI_LENGTH) {
    throw new InvalidDpopProof(
      `the DPoP proof jti must be a string of 1 to ${MAX_JTI_LENGTH} characters`,
    );
  }
  if (htm !== check.method) {
    throw new InvalidDpopProof(`the DPoP proof htm must be ${check.method}`);
  }
  if (typeof htu !== 'string' || normalizeHtu(htu) !== normalizeHtu(check.url)) {
    throw new InvalidDpopProof(`the DPoP proof htu must be ${check.url}`);
  }
  if (check.nonces !== undefined) {
    if (typeof nonce !== 'string' || !check.nonces.accepts(nonce, now)) {
      throw new UseDpopNonce(
        check.nonces.current(now),
        nonce === undefined ? 'the DPoP proof has no nonce' : 'the DPoP proof nonce is not current',
      );
    }
  }
  return {
    jkt: await calculateJwkThumbprint(jwk, 'sha256'),
    jti,
    acceptableUntil: (payload.iat as number) + check.maxAge + DPOP_CLOCK_TOLERANCE,
  };
}

/** An `htu` as compared: parsed (scheme and host lowercased, default port dropped), no query. */
function normalizeHtu(value: string): string | undefined {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return undefined;
  }
  url.search = '';
  url.hash = '';
  return url.href;
}

function describe(err: unknown): string {
  if (err instanceof joseErrors.JOSEError) return `${err.code}: ${err.message}`;
  return err instanceof Error ? err.message : String(err);
}
