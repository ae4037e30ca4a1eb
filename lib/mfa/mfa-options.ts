import { hkdfSync, randomBytes } from 'node:crypto';
import { checkKnownKeys, checkObject, checkOptionalInteger, fail } from '../definition-checks.js';

/** What the host's verifier is asked to check: one `mfa-otp` or `mfa-oob` request. */
export interface MfaVerification {
  /** `otp` for `grant_type=http://auth0.com/oauth/grant-type/mfa-otp`, `oob` for `mfa-oob`. */
  type: 'otp' | 'oob';
  /** The user the pending exchange is for (`user_id`, as the user store has it). */
  user: { user_id: string };
  /** The client redeeming the `mfa_token` (the one it was issued to). */
  client_id: string;
  /**
   * The provider the exchange asked for: what `api.multifactor.enable` named (`any`, `duo`,
   * `google-authenticator`, `guardian`), `any` for a client's `mfa_policy`.
   */
  provider: string;
  /** The `mfa_token` as sent: a key for the host's own challenge state, never to be parsed. */
  mfa_token: string;
  /** The one-time password (`mfa-otp`). */
  otp?: string;
  /** The out-of-band code of the host's challenge (`mfa-oob`). */
  oob_code?: string;
  /** The code the user read off the out-of-band channel (`mfa-oob`, SMS or email). */
  binding_code?: string;
}

/**
 * The verifier's answer: `true` the factor is proven; `false` the code is wrong (the request is
 * refused and counts as a failed attempt); `'pending'` an out-of-band challenge the user has not
 * answered yet (`authorization_pending`, not counted); `'rejected'` the user refused it (the
 * `mfa_token` is spent).
 */
export type MfaVerificationResult = boolean | 'pending' | 'rejected';

/** `options.mfa`: multi-factor authentication inside the token exchange. */
export interface MfaOptions {
  /**
   * Checks the second factor of an `mfa-otp` or `mfa-oob` request. Required: without it the
   * router serves neither grant, and an exchange that needs MFA fails.
   */
  verify(verification: MfaVerification): Promise<MfaVerificationResult> | MfaVerificationResult;
  /** Milliseconds `verify` may take; beyond it `503 temporarily_unavailable`. 1–60000, default 5000. */
  timeoutMs?: number;
  /** Seconds an `mfa_token` is valid. 30–3600, default 300. */
  tokenLifetime?: number;
  /**
   * Wrong codes an `mfa_token` survives; the last one spends it. 1–20, default 5. Counted in
   * `stores.replay`, so on every instance sharing it.
   */
  maxAttempts?: number;
  /**
   * The secret the pending exchange is encrypted with inside the `mfa_token` (at least 32 bytes;
   * a string is taken as UTF-8). Every instance redeeming each other's tokens needs the same one;
   * required with a shared store. Default: random per router (single process).
   */
  secret?: string | Uint8Array;
}

/** `options.mfa` validated, with its defaults. */
export interface MfaConfig {
  verify: MfaOptions['verify'];
  timeoutMs: number;
  tokenLifetime: number;
  maxAttempts: number;
  /** The 256-bit content-encryption key of `mfa_token`s, derived from the secret. */
  key: Uint8Array;
  /** Whether the secret was given (instances can share tokens only then). */
  sharedSecret: boolean;
}

/** Shortest `secret`, in bytes. */
const MIN_SECRET_BYTES = 32;

/**
 * Validates `options.mfa`; `undefined` when absent. The key is derived for the router's `issuer`,
 * so routers of different tenants sharing a secret cannot redeem each other's `mfa_token`s.
 */
export function parseMfaOptions(
  input: unknown,
  path: string,
  issuer: string,
): MfaConfig | undefined {
  if (input === undefined) return undefined;
  const mfa = checkObject(input, path);
  checkKnownKeys(mfa, ['verify', 'timeoutMs', 'tokenLifetime', 'maxAttempts', 'secret'], path);
  if (typeof mfa.verify !== 'function') {
    fail(`${path}.verify`, 'must be a function ({ type, user, mfa_token, otp, ... }) => boolean');
  }
  let secret: Uint8Array;
  if (mfa.secret === undefined) {
    secret = randomBytes(MIN_SECRET_BYTES);
  } else if (typeof mfa.secret === 'string') {
    secret = Buffer.from(mfa.secret, 'utf8');
  } else if (mfa.secret instanceof Uint8Array) {
    secret = mfa.secret;
  } else {
    fail(`${path}.secret`, 'must be a string or a Uint8Array');
  }
  if (secret.byteLength < MIN_SECRET_BYTES) {
    fail(`${path}.secret`, `must be at least ${MIN_SECRET_BYTES} bytes`);
  }
  return {
    verify: mfa.verify as MfaOptions['verify'],
    timeoutMs: checkOptionalInteger(mfa.timeoutMs, `${path}.timeoutMs`, 5000, {
      min: 1,
      max: 60_000,
    }),
    tokenLifetime: checkOptionalInteger(mfa.tokenLifetime, `${path}.tokenLifetime`, 300, {
      min: 30,
      max: 3600,
    }),
    maxAttempts: checkOptionalInteger(mfa.maxAttempts, `${path}.maxAttempts`, 5, {
      min: 1,
      max: 20,
    }),
    // A key of its own, so the secret could serve another purpose without the two meeting, and
    // one per issuer.
    key: new Uint8Array(
      hkdfSync('sha256', secret, new Uint8Array(0), `cte mfa_token A256GCM ${issuer}`, 32),
    ),
    sharedSecret: mfa.secret !== undefined,
  };
}
