import { EncryptJWT, errors, jwtDecrypt } from 'jose';
import { randomToken } from '../secure-random.js';

/**
 * An exchange that needs a second factor, as decided up to the signing of its tokens: everything
 * the `mfa-otp` and `mfa-oob` grants need to issue exactly the tokens the exchange would have
 * issued. Plain data; never carries a subject token or a secret.
 */
export interface PendingGrant {
  client_id: string;
  user_id: string;
  /** The API's identifier. */
  audience: string;
  /** The scopes the tokens carry. */
  scope: string[];
  /** The access token's `permissions` claim, when the API has an `_authz` token dialect. */
  permissions?: string[];
  /** Custom claims the post-exchange action added, per token. */
  claims?: { accessToken: Record<string, unknown>; idToken: Record<string, unknown> };
  /** The profile that served the exchange, and its subject token type, for the log. */
  profile_id: string;
  subject_token_type: string;
  /** The thumbprint of the exchange's DPoP key: redemption must prove the same key. */
  dpop_jkt?: string;
  /** The provider `api.multifactor.enable` named, or `any` for the client's policy. */
  provider: string;
}

/** An `mfa_token` opened: its pending grant, its one-time id, when it expires (Unix seconds). */
export interface OpenedMfaToken {
  grant: PendingGrant;
  jti: string;
  exp: number;
}

/** Why an `mfa_token` cannot be opened. */
export class MfaTokenError extends Error {
  readonly reason: 'expired' | 'malformed';

  constructor(reason: 'expired' | 'malformed', message: string) {
    super(message);
    this.name = 'MfaTokenError';
    this.reason = reason;
  }
}

/**
 * Seals a pending grant into an `mfa_token`: a compact JWE (`dir`, `A256GCM`) under the router's
 * MFA key, so the client carries the state without reading or changing it, and any instance
 * with the same key can redeem it. Its `jti` makes it single use (consumed in the replay store).
 */
export async function sealPendingGrant(
  key: Uint8Array,
  grant: PendingGrant,
  lifetimeSeconds: number,
  now: number = Date.now(),
): Promise<{ token: string; jti: string; exp: number }> {
  const iat = Math.floor(now / 1000);
  const exp = iat + lifetimeSeconds;
  const jti = randomToken(16);
  const token = await new EncryptJWT({ grant: { ...grant } })
    .setProtectedHeader({ alg: 'dir', enc: 'A256GCM', typ: 'mfa-token' })
    .setJti(jti)
    .setIssuedAt(iat)
    .setExpirationTime(exp)
    .encrypt(key);
  return { token, jti, exp };
}

/**
 * Opens an `mfa_token`. Throws {@link MfaTokenError} `expired` past its `exp` (no tolerance),
 * `malformed` for anything else: not a JWE, another key, altered, or not a pending grant.
 */
export async function openPendingGrant(
  key: Uint8Array,
  token: string,
  now: number = Date.now(),
): Promise<OpenedMfaToken> {
  let payload: Record<string, unknown>;
  try {
    ({ payload } = await jwtDecrypt(token, key, {
      keyManagementAlgorithms: ['dir'],
      contentEncryptionAlgorithms: ['A256GCM'],
      typ: 'mfa-token',
      requiredClaims: ['jti', 'exp'],
      currentDate: new Date(now),
    }));
  } catch (err) {
    if (err instanceof errors.JWTExpired) {
      throw new MfaTokenError('expired', 'the mfa_token is past its exp');
    }
    const message = err instanceof Error ? err.message : String(err);
    throw new MfaTokenError('malformed', `the mfa_token does not open: ${message}`);
  }
  const grant = payload.grant;
  if (!isPendingGrant(grant)) {
    throw new MfaTokenError('malformed', 'the mfa_token does not carry a pending grant');
  }
  return { grant, jti: payload.jti as string, exp: payload.exp as number };
}

/** Checks the shape the router itself sealed: a token under our key is ours, but stay strict. */
function isPendingGrant(value: unknown): value is PendingGrant {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const grant = value as Record<string, unknown>;
  const strings = [
    'client_id',
    'user_id',
    'audience',
    'profile_id',
    'subject_token_type',
    'provider',
  ];
  if (!strings.every((name) => typeof grant[name] === 'string')) return false;
  if (!isStringArray(grant.scope)) return false;
  if (grant.permissions !== undefined && !isStringArray(grant.permissions)) return false;
  if (grant.dpop_jkt !== undefined && typeof grant.dpop_jkt !== 'string') return false;
  if (grant.claims !== undefined) {
    const claims = grant.claims as Record<string, unknown> | null;
    if (typeof claims !== 'object' || claims === null) return false;
    if (typeof claims.accessToken !== 'object' || typeof claims.idToken !== 'object') return false;
  }
  return true;
}

function isStringArray(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((item) => typeof item === 'string');
}
