import {
  InvalidDpopProof,
  InvalidMfaGrant,
  InvalidRequest,
  MfaAuthorizationPending,
  MfaTokenExpired,
  ServerError,
  TemporarilyUnavailable,
  TooManyMfaAttempts,
  UserBlocked,
} from '../errors.js';
import { checkClientMayExchange } from '../exchange/client-rules.js';
import type { MfaConfig, MfaVerification, MfaVerificationResult } from '../mfa/mfa-options.js';
import { CUSTOM_AUTHENTICATION } from '../profiles/profile.js';
import { MfaTokenError, openPendingGrant } from '../mfa/pending-grant.js';
import type { OpenedMfaToken } from '../mfa/pending-grant.js';
import type { ReplayStore } from '../stores/replay-store.js';
import type { Grant, GrantRequest, GrantServices } from './grant.js';
import { CLIENT_AUTHENTICATION_PARAMETERS } from './grant.js';
import { issueRefreshToken, mintTokens } from './issuance.js';
import type { Issuance, TokenResponse } from './issuance.js';
import { mfaSuccessEntry, refreshTokenCleanupEntry } from './request-log.js';

/** Auth0's `grant_type` for redeeming an `mfa_token` with a one-time password. */
export const MFA_OTP_GRANT = 'http://auth0.com/oauth/grant-type/mfa-otp';
/** Auth0's `grant_type` for redeeming an `mfa_token` with an out-of-band challenge. */
export const MFA_OOB_GRANT = 'http://auth0.com/oauth/grant-type/mfa-oob';

/** Seconds a client waits before retrying when the verifier did not answer in time. */
const VERIFIER_RETRY_AFTER_SECONDS = 1;

/**
 * `grant_type=http://auth0.com/oauth/grant-type/mfa-otp` (`mfa_token`, `otp`): redeems the
 * `mfa_token` of an exchange that needed MFA once the host's `mfa.verify` accepts the code.
 */
export function mfaOtpGrant(services: GrantServices, mfa: MfaConfig): Grant {
  return mfaGrant(services, mfa, 'otp');
}

/**
 * `grant_type=http://auth0.com/oauth/grant-type/mfa-oob` (`mfa_token`, `oob_code`, optional
 * `binding_code`): as {@link mfaOtpGrant}, for an out-of-band challenge the host sent (push, SMS,
 * email); `authorization_pending` while the user has not answered it.
 */
export function mfaOobGrant(services: GrantServices, mfa: MfaConfig): Grant {
  return mfaGrant(services, mfa, 'oob');
}

/**
 * The two MFA grants. In order, for an authenticated client: the `mfa_token` must open under
 * the router's MFA key (`403 invalid_grant` "Malformed mfa_token") and be within its lifetime
 * (`401 expired_token`), have been issued to this client, and its user must still exist and not
 * be blocked. A request carrying a guessable code (an `otp`, a `binding_code`) takes one of the
 * token's `maxAttempts` attempts from the replay store before the verifier sees it, so codes can
 * be tried at most that many times per token on every instance together (`429` after). On
 * success the token is consumed in the replay store (single use) and the pending exchange's
 * tokens are signed: access token, ID token with `openid`, refresh token with `offline_access`.
 */
function mfaGrant(services: GrantServices, mfa: MfaConfig, type: 'otp' | 'oob'): Grant {
  const { users, replay, log, refreshTokens, resourceServers, telemetry } = services;
  const signer = { issuer: services.config.issuer, keys: services.keys };
  const codeParameters = type === 'otp' ? ['otp'] : ['oob_code', 'binding_code'];

  async function redeem({
    req,
    params,
    client,
    trail,
    dpop,
  }: GrantRequest): Promise<TokenResponse> {
    const token = params.params.mfa_token;
    if (token === undefined) throw new InvalidRequest('mfa_token is required');
    const code = type === 'otp' ? params.params.otp : params.params.oob_code;
    if (code === undefined) throw new InvalidRequest(`${codeParameters[0]} is required`);
    const bindingCode = type === 'oob' ? params.params.binding_code : undefined;

    const opened = await open(token);
    const { grant, jti, exp } = opened;
    trail.subjectTokenType = grant.subject_token_type;
    const profile = services.profiles.bySubjectTokenType(grant.subject_token_type);
    if (profile !== undefined && profile.id === grant.profile_id) trail.profile = profile;
    trail.audience = grant.audience;
    trail.scope = grant.scope;
    if (grant.client_id !== client.client_id) {
      throw new InvalidMfaGrant(
        'Malformed mfa_token',
        `mfa_token ${jti} was issued to client ${JSON.stringify(grant.client_id)}`,
      );
    }
    // The client may have lost custom token exchange since the mfa_token was issued.
    checkClientMayExchange(client, CUSTOM_AUTHENTICATION);
    if (grant.dpop_jkt !== undefined && dpop?.jkt !== grant.dpop_jkt) {
      throw new InvalidDpopProof('the mfa_token is bound to the DPoP key of its exchange', {
        privateCause: `mfa_token ${jti} is bound to DPoP key ${grant.dpop_jkt}`,
      });
    }
    const user = await users.getById(grant.user_id);
    if (user === undefined) {
      throw new InvalidMfaGrant(
        'Malformed mfa_token',
        `user ${JSON.stringify(grant.user_id)} no longer exists`,
      );
    }
    trail.user = user;
    if (user.blocked === true) throw new UserBlocked(user.user_id);
    const resourceServer = resourceServers.get(grant.audience);
    if (resourceServer === undefined) {
      throw new InvalidMfaGrant(
        'Malformed mfa_token',
        `API ${JSON.stringify(grant.audience)} no longer exists`,
      );
    }
    // Client grants are per router: the instance redeeming may no longer grant the API.
    if (services.clientGrants.scopesFor(client.client_id, grant.audience) === null) {
      throw new InvalidMfaGrant(
        'Malformed mfa_token',
        `client ${JSON.stringify(client.client_id)} has no client grant for ${JSON.stringify(grant.audience)} any more`,
      );
    }

    const guessable = type === 'otp' || bindingCode !== undefined;
    const attempt = guessable ? await takeAttempt(replay, opened, mfa.maxAttempts) : undefined;
    const verification: MfaVerification = {
      type,
      user: { user_id: user.user_id },
      client_id: client.client_id,
      mfa_token: token,
      provider: grant.provider,
      ...(type === 'otp' ? { otp: code } : { oob_code: code }),
      ...(bindingCode === undefined ? {} : { binding_code: bindingCode }),
    };
    const result = await telemetry.mfaVerify(() => verify(mfa, verification));
    const attempts = attempt === undefined ? '' : ` (attempt ${attempt} of ${mfa.maxAttempts})`;
    if (result === false) {
      // The last attempt spends the token, so no grant (an mfa-oob poll takes no attempt) can
      // redeem it afterwards.
      if (attempt === mfa.maxAttempts) await replay.consume(tokenKey(jti), exp);
      const wrong =
        type === 'otp' ? 'otp_code' : bindingCode === undefined ? 'oob_code' : 'binding_code';
      throw new InvalidMfaGrant(`Invalid ${wrong}.`, `mfa.verify refused the code${attempts}`);
    }
    if (result === 'pending') throw new MfaAuthorizationPending();
    if (result === 'rejected') {
      await replay.consume(tokenKey(jti), exp);
      throw new InvalidMfaGrant(
        'MFA Authorization rejected.',
        `the user rejected the challenge; mfa_token ${jti} is spent`,
      );
    }
    if (result !== true) {
      throw new ServerError(
        `mfa.verify answered ${describeAnswer(result)}, not true, false, 'pending' or 'rejected'`,
      );
    }

    // Keys that cannot sign now must fail the request before the token is spent, not after.
    await services.keys.whenReady();
    if (!(await replay.consume(tokenKey(jti), exp))) {
      throw new MfaTokenExpired(`mfa_token ${jti} was already redeemed or spent`);
    }
    const issuance: Issuance = {
      client,
      user,
      resourceServer,
      scope: grant.scope,
      claims: grant.claims,
      // Auth0's step-up check: the ID token of a second factor says so. Its refreshes do not.
      amr: ['mfa'],
      dpopJkt: dpop?.jkt,
      permissions: grant.permissions,
    };
    const {
      response,
      jti: accessTokenJti,
      issuedAt,
    } = await telemetry.sign(resourceServer.signing_alg, () => mintTokens(signer, issuance));
    // The second factor completes the authentication: its time is the family's auth_time.
    const refreshToken = await issueRefreshToken(refreshTokens, issuance, issuedAt);
    if (refreshToken !== undefined) response.refresh_token = refreshToken.token;
    if (refreshToken?.cleanup) {
      log.write(refreshTokenCleanupEntry(req, trail, refreshToken.familyId, refreshToken.cleanup));
    }
    log.write(
      mfaSuccessEntry(req, type, trail, grant.scope, accessTokenJti, refreshToken?.familyId, jti),
    );
    return response;
  }

  async function open(token: string): Promise<OpenedMfaToken> {
    try {
      return await openPendingGrant(mfa.key, token);
    } catch (err) {
      if (!(err instanceof MfaTokenError)) throw err;
      if (err.reason === 'expired') throw new MfaTokenExpired(err.message);
      throw new InvalidMfaGrant('Malformed mfa_token', err.message);
    }
  }

  return {
    type: type === 'otp' ? MFA_OTP_GRANT : MFA_OOB_GRANT,
    parameters: new Set([
      'grant_type',
      'mfa_token',
      ...codeParameters,
      ...CLIENT_AUTHENTICATION_PARAMETERS,
    ]),
    failureLogType: type === 'otp' ? 'feotpft' : 'feoobft',
    isOurs: () => true,
    handle: redeem,
  };
}

/** The replay-store key that makes an `mfa_token` single use. */
function tokenKey(jti: string): string {
  return `mfa-token:${jti}`;
}

/**
 * Takes the first free attempt of the token, `1` to `max`, from the replay store (one key per
 * attempt, so every instance sharing the store counts together); throws once none is left.
 */
async function takeAttempt(
  replay: ReplayStore,
  { jti, exp }: OpenedMfaToken,
  max: number,
): Promise<number> {
  for (let attempt = 1; attempt <= max; attempt++) {
    if (await replay.consume(`mfa-attempt:${jti}:${attempt}`, exp)) return attempt;
  }
  throw new TooManyMfaAttempts(`mfa_token ${jti} has had its ${max} attempts`);
}

/**
 * Calls the host's verifier within `timeoutMs`: late is `503` (the client may retry; the attempt
 * stays taken), a throw is `500` with the error in the log.
 */
async function verify(
  mfa: MfaConfig,
  verification: MfaVerification,
): Promise<MfaVerificationResult> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new TemporarilyUnavailable(
            VERIFIER_RETRY_AFTER_SECONDS,
            `mfa.verify did not answer within ${mfa.timeoutMs} ms`,
          ),
        ),
      mfa.timeoutMs,
    );
  });
  try {
    return await Promise.race([
      Promise.resolve()
        .then(() => mfa.verify(verification))
        .catch((err: unknown) => {
          const cause = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
          throw new ServerError(`mfa.verify threw ${cause}`);
        }),
      late,
    ]);
  } finally {
    clearTimeout(timer);
  }
}

function describeAnswer(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.slice(0, 64));
  return typeof value;
}
