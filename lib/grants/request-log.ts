import type { Organization } from '../organizations/organization-store.js';
import type { Request } from 'express';
import type { Actor } from '../sandbox/action-types.js';
import type { SuspiciousIpBlock } from '../attack-protection/suspicious-ip-throttle.js';
import type { OAuthError } from '../errors.js';
import type { LogEntry } from '../logs/log-entry.js';
import { newLogId } from '../logs/tenant-log.js';
import type { StoredProfile } from '../profiles/profile.js';
import type { RefreshTokenCleanup } from '../refresh-tokens/refresh-token-service.js';
import type { Client } from '../registry/clients.js';
import type { RefreshTokenFamily } from '../stores/refresh-token-store.js';
import type { AccessTokenClaims } from '../tokens/own-access-token.js';
import type { User } from '../users/user-store.js';
import { copyPlain } from '../plain-copy.js';

/**
 * What the tenant log knows of one token request that is ours: the steps record each fact as
 * they establish it, and only the log entries below read it, whichever step the request ends at.
 * The steps themselves pass what they established to the next as typed values.
 */
export interface RequestTrail {
  /**
   * The end user's IP, the one place `event.request.ip`, the log's `ip` and attack protection
   * read it from: `req.ip` (per Express `trust proxy`, IPv4-mapped IPv6 as IPv4) until the client
   * is known, then the IP a trusted client forwarded, if any.
   */
  ip: string;
  client?: Client;
  /**
   * When client authentication failed: the registered client the request claimed to be (a Basic
   * id, a body `client_id`, an assertion's `iss`), so the failure's entry names it. Never set for
   * an id no client has.
   */
  claimedClient?: Client;
  subjectTokenType?: string;
  profile?: Readonly<StoredProfile>;
  audience?: string;
  /** Requested scopes, until the entry of a success says what was granted. */
  scope?: readonly string[];
  user?: User;
  connection?: string;
  /** The exchange's organization, once the request or the action named one. */
  organization?: Organization;
  actor?: Actor;
  /** Redacted console lines of the actions that ran. */
  console?: string[];
  /** Removes the request's tokens and secrets from text bound for the log. */
  redact?: (text: string) => string;
}

/** The `secte` entry of a successful exchange (with the refresh token's family when one was issued). */
export function exchangeSuccessEntry(
  req: Request,
  trail: RequestTrail,
  grantedScopes: readonly string[],
  accessTokenJti: string,
  refreshTokenFamilyId: string | undefined,
): LogEntry {
  // `details` is set below (by assignment, like common's fields: this runs for every exchange).
  const entry = common(
    req,
    trail,
    'secte',
    'Successful Exchange via Custom Token Exchange',
  ) as LogEntry;
  entry.scope = grantedScopes.join(' ');
  const details = commonDetails(trail);
  if (trail.actor !== undefined) details.actor = copyPlain(trail.actor);
  details.access_token_jti = accessTokenJti;
  if (refreshTokenFamilyId !== undefined) details.refresh_token_family_id = refreshTokenFamilyId;
  entry.details = details;
  return entry;
}

/**
 * The success entry of an `mfa-otp` or `mfa-oob` redemption: Auth0's `seotpft` / `seoobft`, with
 * the exchange's details as `secte` has them (subject token type, profile, access token `jti`),
 * and the redeemed `mfa_token`'s `jti`, which the `mfa_required` entry's cause names.
 */
export function mfaSuccessEntry(
  req: Request,
  type: 'otp' | 'oob',
  trail: RequestTrail,
  grantedScopes: readonly string[],
  accessTokenJti: string,
  refreshTokenFamilyId: string | undefined,
  mfaTokenJti: string,
): LogEntry {
  const entry = common(
    req,
    trail,
    type === 'otp' ? 'seotpft' : 'seoobft',
    type === 'otp'
      ? 'Successful Exchange of MFA OTP Challenge for Access Token'
      : 'Successful Exchange of MFA OOB Challenge for Access Token',
  ) as LogEntry;
  entry.scope = grantedScopes.join(' ');
  const details = commonDetails(trail);
  details.access_token_jti = accessTokenJti;
  if (refreshTokenFamilyId !== undefined) details.refresh_token_family_id = refreshTokenFamilyId;
  details.mfa_token_jti = mfaTokenJti;
  entry.details = details;
  return entry;
}

/** The `sertft` entry of a successful refresh (Auth0's type for a refresh token exchange). */
export function refreshSuccessEntry(
  req: Request,
  trail: RequestTrail,
  scope: readonly string[],
  accessTokenJti: string,
  refreshTokenFamilyId: string,
): LogEntry {
  return {
    ...common(req, trail, 'sertft', 'Successful Exchange of Refresh Token for Access Token'),
    scope: scope.join(' '),
    details: { access_token_jti: accessTokenJti, refresh_token_family_id: refreshTokenFamilyId },
  };
}

/** The `srrt` entry of a refresh token family revoked through `POST /oauth/revoke` (Auth0's type). */
export function revocationEntry(
  req: Request,
  trail: RequestTrail,
  family: RefreshTokenFamily,
): LogEntry {
  return {
    ...common(req, trail, 'srrt', 'Successful Refresh Token Revocation'),
    audience: family.audience,
    scope: family.scope.join(' '),
    user_id: family.user_id,
    details: { refresh_token_family_id: family.family_id },
  };
}

/**
 * The `srat` entry of an access token the client revoked through `POST /oauth/revoke`: its `jti`
 * is refused by introspection until the token expires.
 */
export function accessTokenRevocationEntry(
  req: Request,
  trail: RequestTrail,
  claims: AccessTokenClaims,
): LogEntry {
  return {
    ...common(req, trail, 'srat', 'Successful Access Token Revocation'),
    audience: claims.aud,
    ...(claims.scope === undefined ? {} : { scope: claims.scope }),
    user_id: claims.sub,
    details: { access_token_jti: claims.jti },
  };
}

/**
 * The `resource_cleanup` entry (Auth0's "Refresh Token Excess Warning") of an exchange whose new
 * refresh token took its user past the live families allowed with the client: the oldest were
 * revoked.
 */
export function refreshTokenCleanupEntry(
  req: Request,
  trail: RequestTrail,
  familyId: string,
  { live, revoked }: RefreshTokenCleanup,
): LogEntry {
  return {
    ...common(
      req,
      trail,
      'resource_cleanup',
      'Refresh tokens revoked: the user held more with this application than allowed',
    ),
    details: {
      resource: 'refresh_tokens',
      start: live,
      removedCount: revoked.length,
      endCount: live - revoked.length,
      refresh_token_family_id: familyId,
      revoked_refresh_token_family_ids: revoked.map((family) => family.family_id),
    },
  };
}

/**
 * The entry of a request that failed (`fecte` for an exchange, `fertft` for a refresh: the
 * grant's type): what the client was told, and the private cause.
 */
export function failureEntry(
  req: Request,
  type: LogEntry['type'],
  trail: RequestTrail,
  error: OAuthError,
): LogEntry {
  // An action's deny reason or failure cause may quote the subject token or a secret.
  const redact = trail.redact ?? ((text: string) => text);
  const description = redact(error.description);
  return {
    ...common(req, trail, type, description),
    ...(trail.scope?.length ? { scope: trail.scope.join(' ') } : {}),
    details: {
      ...commonDetails(trail),
      error: error.error,
      error_description: description,
      ...(error.privateCause === undefined ? {} : { cause: redact(error.privateCause) }),
    },
  };
}

/**
 * The `limit_cte` entry of the invalid subject token that took an IP's last attempt: from now on
 * every custom token exchange from that IP (or IPv6 network) is `429 too_many_attempts`.
 */
export function suspiciousIpBlockEntry(
  req: Request,
  trail: RequestTrail,
  block: SuspiciousIpBlock,
): LogEntry {
  // The action's console lines belong to the request's own fecte entry.
  const { console: _console, ...details } = commonDetails(trail);
  return {
    ...common(
      req,
      trail,
      'limit_cte',
      'Blocked IP address: too many invalid subject tokens via Custom Token Exchange',
    ),
    details: {
      ...details,
      suspicious_ip_throttling: {
        key: block.key,
        max_attempts: block.maxAttempts,
        rate: block.rate,
        ...(block.nextAttemptAt === undefined
          ? {}
          : { next_attempt_at: block.nextAttemptAt.toISOString() }),
      },
    },
  };
}

/**
 * The fields every entry starts with, in the log's field order; callers add theirs and `details`.
 * Built by assignment rather than spreads: this runs for every request.
 */
function common(
  req: Request,
  trail: RequestTrail,
  type: LogEntry['type'],
  description: string,
): Omit<LogEntry, 'details'> {
  const userAgent = req.get('user-agent');
  const user = trail.user;
  const userName = user?.email ?? user?.username ?? user?.name ?? user?.nickname;
  // A failed client authentication is logged under the registered client it claimed to be.
  const client = trail.client ?? trail.claimedClient;
  const entry: PartialEntry = {
    log_id: newLogId(),
    date: new Date().toISOString(),
    type,
    description,
    client_id: client?.client_id ?? null,
    client_name: client?.name ?? '',
    ip: trail.ip,
  };
  if (userAgent !== undefined) entry.user_agent = userAgent;
  entry.hostname = req.hostname ?? '';
  if (trail.audience !== undefined) entry.audience = trail.audience;
  if (user) entry.user_id = user.user_id;
  if (userName !== undefined) entry.user_name = userName;
  if (trail.connection !== undefined) entry.connection = trail.connection;
  if (trail.organization !== undefined) entry.organization_id = trail.organization.id;
  return entry as Omit<LogEntry, 'details'>;
}

/** An entry being built (fields in the log's order, so some arrive after others). */
type PartialEntry = Partial<LogEntry> & Pick<LogEntry, 'log_id' | 'date' | 'type' | 'description'>;

function commonDetails(trail: RequestTrail): LogEntry['details'] {
  const details: LogEntry['details'] = {};
  if (trail.client === undefined && trail.claimedClient !== undefined) {
    details.client_authenticated = false;
  }
  if (trail.subjectTokenType !== undefined) details.subject_token_type = trail.subjectTokenType;
  if (trail.profile) {
    details.profile_id = trail.profile.id;
    details.action_id = trail.profile.action_id;
  }
  if (trail.console?.length) details.console = [...trail.console];
  return details;
}
