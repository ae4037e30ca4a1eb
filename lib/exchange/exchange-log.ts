import type { Request } from 'express';
import type { SuspiciousIpBlock } from '../attack-protection/suspicious-ip-throttle.js';
import type { OAuthError } from '../errors.js';
import type { LogEntry } from '../logs/log-entry.js';
import { newLogId } from '../logs/tenant-log.js';
import { isRefreshTokenRequest } from '../refresh-tokens/refresh-token-request.js';
import type { RefreshTokenCleanup } from '../refresh-tokens/refresh-token-service.js';
import type { RefreshTokenFamily } from '../stores/refresh-token-store.js';
import type { ExchangeContext } from './exchange-context.js';
import { copyPlain } from '../plain-copy.js';

/** The `secte` entry of a successful exchange (with the refresh token's family when one was issued). */
export function successEntry(
  req: Request,
  context: ExchangeContext,
  grantedScopes: readonly string[],
  accessTokenJti: string,
  refreshTokenFamilyId?: string,
): LogEntry {
  // `details` is set below (by assignment, like common's fields: this runs for every exchange).
  const entry = common(
    req,
    context,
    'secte',
    'Successful Exchange via Custom Token Exchange',
  ) as LogEntry;
  entry.scope = grantedScopes.join(' ');
  const details = commonDetails(context);
  if (context.actor !== undefined) details.actor = copyPlain(context.actor);
  details.access_token_jti = accessTokenJti;
  if (refreshTokenFamilyId !== undefined) details.refresh_token_family_id = refreshTokenFamilyId;
  entry.details = details;
  return entry;
}

/** The `sertft` entry of a successful refresh (Auth0's type for a refresh token exchange). */
export function refreshSuccessEntry(
  req: Request,
  context: ExchangeContext,
  scope: readonly string[],
  accessTokenJti: string,
  refreshTokenFamilyId: string,
): LogEntry {
  return {
    ...common(req, context, 'sertft', 'Successful Exchange of Refresh Token for Access Token'),
    scope: scope.join(' '),
    details: { access_token_jti: accessTokenJti, refresh_token_family_id: refreshTokenFamilyId },
  };
}

/** The `srrt` entry of a refresh token family revoked through `POST /oauth/revoke` (Auth0's type). */
export function revocationEntry(
  req: Request,
  context: ExchangeContext,
  family: RefreshTokenFamily,
): LogEntry {
  return {
    ...common(req, context, 'srrt', 'Successful Refresh Token Revocation'),
    audience: family.audience,
    scope: family.scope.join(' '),
    user_id: family.user_id,
    details: { refresh_token_family_id: family.family_id },
  };
}

/**
 * The `resource_cleanup` entry (Auth0's "Refresh Token Excess Warning") of an exchange whose new
 * refresh token took its user past the live families allowed with the client: the oldest were
 * revoked.
 */
export function refreshTokenCleanupEntry(
  req: Request,
  context: ExchangeContext,
  familyId: string,
  { live, revoked }: RefreshTokenCleanup,
): LogEntry {
  return {
    ...common(
      req,
      context,
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
 * The `fecte` entry of a failed exchange (`fertft` for a failed refresh): what the client was
 * told, and the private cause.
 */
export function failureEntry(req: Request, context: ExchangeContext, error: OAuthError): LogEntry {
  // An action's deny reason or failure cause may quote the subject token or a secret.
  const redact = context.redact ?? ((text: string) => text);
  const description = redact(error.description);
  return {
    ...common(req, context, isRefreshTokenRequest(req) ? 'fertft' : 'fecte', description),
    ...(context.requestedScopes.length ? { scope: context.requestedScopes.join(' ') } : {}),
    details: {
      ...commonDetails(context),
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
  context: ExchangeContext,
  block: SuspiciousIpBlock,
): LogEntry {
  // The action's console lines belong to the request's own fecte entry.
  const { console: _console, ...details } = commonDetails(context);
  return {
    ...common(
      req,
      context,
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
  context: ExchangeContext,
  type: LogEntry['type'],
  description: string,
): Omit<LogEntry, 'details'> {
  const userAgent = req.get('user-agent');
  const user = context.user;
  const userName = user?.email ?? user?.username ?? user?.name ?? user?.nickname;
  // A failed client authentication is logged under the registered client it claimed to be.
  const client = context.client ?? context.claimedClient;
  const entry: PartialEntry = {
    log_id: newLogId(),
    date: new Date().toISOString(),
    type,
    description,
    client_id: client?.client_id ?? null,
    client_name: client?.name ?? '',
    ip: context.ip,
  };
  if (userAgent !== undefined) entry.user_agent = userAgent;
  entry.hostname = req.hostname ?? '';
  if (context.resourceServer) entry.audience = context.resourceServer.identifier;
  if (user) entry.user_id = user.user_id;
  if (userName !== undefined) entry.user_name = userName;
  if (context.connection !== undefined) entry.connection = context.connection;
  return entry as Omit<LogEntry, 'details'>;
}

/** An entry being built (fields in the log's order, so some arrive after others). */
type PartialEntry = Partial<LogEntry> & Pick<LogEntry, 'log_id' | 'date' | 'type' | 'description'>;

function commonDetails(context: ExchangeContext): LogEntry['details'] {
  const details: LogEntry['details'] = {};
  if (context.client === undefined && context.claimedClient !== undefined) {
    details.client_authenticated = false;
  }
  const subjectTokenType = context.request?.params.subject_token_type;
  if (subjectTokenType !== undefined) details.subject_token_type = subjectTokenType;
  if (context.profile) {
    details.profile_id = context.profile.id;
    details.action_id = context.profile.action_id;
  }
  if (context.console?.length) details.console = [...context.console];
  return details;
}
