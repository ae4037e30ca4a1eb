import type { Request } from 'express';
import type { OAuthError } from '../errors.js';
import type { LogEntry } from '../logs/log-entry.js';
import { newLogId } from '../logs/tenant-log.js';
import type { ExchangeContext } from './exchange-context.js';

/** The `secte` entry of a successful exchange. */
export function successEntry(
  req: Request,
  context: ExchangeContext,
  grantedScopes: readonly string[],
  accessTokenJti: string,
): LogEntry {
  return {
    ...common(req, context, 'secte', 'Successful Exchange via Custom Token Exchange'),
    scope: grantedScopes.join(' '),
    details: {
      ...commonDetails(context),
      ...(context.actor === undefined ? {} : { actor: structuredClone(context.actor) }),
      access_token_jti: accessTokenJti,
    },
  };
}

/** The `fecte` entry of a failed exchange: what the client was told, and the private cause. */
export function failureEntry(req: Request, context: ExchangeContext, error: OAuthError): LogEntry {
  // An action's deny reason or failure cause may quote the subject token or a secret.
  const redact = context.redact ?? ((text: string) => text);
  const description = redact(error.description);
  return {
    ...common(req, context, 'fecte', description),
    ...(context.requestedScopes.length ? { scope: context.requestedScopes.join(' ') } : {}),
    details: {
      ...commonDetails(context),
      error: error.error,
      error_description: description,
      ...(error.privateCause === undefined ? {} : { cause: redact(error.privateCause) }),
    },
  };
}

function common(
  req: Request,
  context: ExchangeContext,
  type: LogEntry['type'],
  description: string,
): Omit<LogEntry, 'details'> {
  const userAgent = req.get('user-agent');
  const user = context.user;
  const userName = user?.email ?? user?.username ?? user?.name ?? user?.nickname;
  return {
    log_id: newLogId(),
    date: new Date().toISOString(),
    type,
    description,
    client_id: context.client?.client_id ?? null,
    client_name: context.client?.name ?? '',
    ip: req.ip ?? '',
    ...(userAgent === undefined ? {} : { user_agent: userAgent.slice(0, 512) }),
    hostname: req.hostname ?? '',
    ...(context.resourceServer ? { audience: context.resourceServer.identifier } : {}),
    ...(user ? { user_id: user.user_id } : {}),
    ...(userName === undefined ? {} : { user_name: userName }),
    ...(context.connection === undefined ? {} : { connection: context.connection }),
  };
}

function commonDetails(context: ExchangeContext): LogEntry['details'] {
  const subjectTokenType = context.request?.params.subject_token_type;
  return {
    ...(subjectTokenType === undefined ? {} : { subject_token_type: subjectTokenType }),
    ...(context.profile
      ? { profile_id: context.profile.id, action_id: context.profile.action_id }
      : {}),
    ...(context.console?.length ? { console: [...context.console] } : {}),
  };
}
