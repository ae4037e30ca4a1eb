import { createLocalJWKSet, createRemoteJWKSet, errors, jwtVerify } from 'jose';
import type { JWTVerifyGetKey } from 'jose';
import { ASYMMETRIC_ALGORITHMS } from '../tokens/asymmetric-algorithms.js';
import type { KeySet } from '../tokens/key-set.js';
import { ManagementApiError } from './management-errors.js';
import type { ManagementApiConfig } from './management-options.js';

/** Who a verified access token speaks for. */
export interface ManagementCaller {
  /** The token's `sub`. */
  subject: string;
  /** The application the token was issued to (`azp`, else `client_id`), or `null`. */
  clientId: string | null;
  /** The token's `scope` (space-separated) and `permissions` (RBAC's array), together. */
  scopes: ReadonlySet<string>;
}

/** Tokens a second or so apart in clocks still verify. */
const CLOCK_TOLERANCE_SECONDS = 5;

/** Verifies `Authorization: Bearer` access tokens for the Management API. */
export type AccessTokenVerifier = (authorization: string | undefined) => Promise<ManagementCaller>;

/**
 * The verifier of the API: a JWT with the configured issuer and audience, signed by a key of the
 * configured JWKS URL or of the router's own key set (read at each request, so rotations apply).
 */
export function accessTokenVerifier(
  config: Pick<ManagementApiConfig, 'issuer' | 'audience' | 'jwksUri'>,
  keys: KeySet,
): AccessTokenVerifier {
  const getKey = config.jwksUri ? createRemoteJWKSet(config.jwksUri) : ownKeys(keys);
  return async (authorization) => {
    const token = bearerToken(authorization);
    let payload;
    try {
      ({ payload } = await jwtVerify(token, getKey, {
        issuer: config.issuer,
        audience: config.audience,
        // Never a shared secret: every holder of one could mint tokens.
        algorithms: [...ASYMMETRIC_ALGORITHMS],
        clockTolerance: CLOCK_TOLERANCE_SECONDS,
        requiredClaims: ['sub', 'exp'],
      }));
    } catch (err) {
      throw invalidToken(rejection(err, config));
    }
    const scopes = new Set<string>();
    if (typeof payload.scope === 'string') {
      for (const scope of payload.scope.split(' ')) if (scope) scopes.add(scope);
    }
    if (Array.isArray(payload.permissions)) {
      for (const scope of payload.permissions) if (typeof scope === 'string') scopes.add(scope);
    }
    const client = payload.azp ?? payload.client_id;
    return {
      subject: payload.sub!,
      clientId: typeof client === 'string' ? client : null,
      scopes,
    };
  };
}

function ownKeys(keys: KeySet): JWTVerifyGetKey {
  // The key set hands out the same JWKS object until it changes: build jose's set once per change.
  let source: ReturnType<KeySet['jwks']> | undefined;
  let set: JWTVerifyGetKey | undefined;
  return (header, token) => {
    const jwks = keys.jwks();
    if (jwks !== source || set === undefined) {
      source = jwks;
      set = createLocalJWKSet(jwks);
    }
    return set(header, token);
  };
}

function bearerToken(authorization: string | undefined): string {
  if (authorization === undefined || authorization === '') {
    throw new ManagementApiError(401, 'missing_authentication', 'Missing authentication', {
      'WWW-Authenticate': 'Bearer',
    });
  }
  const match = /^Bearer +([A-Za-z0-9\-._~+/]+=*)$/i.exec(authorization);
  if (!match) throw invalidToken('Bad HTTP authentication header format');
  return match[1]!;
}

function rejection(err: unknown, config: Pick<ManagementApiConfig, 'issuer' | 'audience'>): string {
  if (err instanceof errors.JWTExpired) {
    return 'Expired token received for JSON Web Token validation';
  }
  if (err instanceof errors.JWSSignatureVerificationFailed) {
    return 'Invalid signature received for JSON Web Token validation';
  }
  if (err instanceof errors.JWTClaimValidationFailed) {
    if (err.claim === 'aud') return `Bad audience: expected ${config.audience}`;
    if (err.claim === 'iss') return `Bad issuer: expected ${config.issuer}`;
    return `Invalid token: ${err.message}`;
  }
  if (err instanceof errors.JWKSNoMatchingKey) {
    return 'Invalid token: no key of the issuer matches the token';
  }
  return 'Invalid token';
}

function invalidToken(message: string): ManagementApiError {
  return new ManagementApiError(401, 'invalid_token', message, {
    'WWW-Authenticate': `Bearer error="invalid_token", error_description="${message.replace(/"/g, "'")}"`,
  });
}
