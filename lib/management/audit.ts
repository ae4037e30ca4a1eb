import { createHash } from 'node:crypto';
import type { Request } from 'express';
import type { LogEntry } from '../logs/log-entry.js';
import { newLogId } from '../logs/tenant-log.js';
import type { ManagementCaller } from './access-token.js';

/** What one change did, as a route reports it for the audit entry. */
export interface AuditChange {
  /** What was done, in Auth0's words: `Create an action`, `Update a token exchange profile`. */
  description: string;
  target: { type: string; id: string };
  /** The object before the change (secret values never present); absent for a creation. */
  before?: object;
  /** The object after it; absent for a deletion. */
  after?: object;
}

/** What the audit entry of a refused change says about the refusal. */
export interface AuditFailure {
  status: number;
  error: string;
  message: string;
}

/**
 * The tenant-log entry of a Management API change: `sapi` for one made, `fapi` for one refused.
 * Who: the token's subject, client and scopes (no one for a request without a valid token);
 * what: the method, path and target; before and after without secrets and with action code as
 * its SHA-256 (the entry keeps strings short).
 */
export function auditEntry(
  req: Request,
  caller: ManagementCaller | undefined,
  status: number,
  outcome:
    { change: AuditChange } | { failure: AuditFailure; description: string; suppressed?: number },
): LogEntry {
  const change = 'change' in outcome ? outcome.change : undefined;
  return {
    log_id: newLogId(),
    date: new Date().toISOString(),
    type: change ? 'sapi' : 'fapi',
    description: 'change' in outcome ? outcome.change.description : outcome.description,
    client_id: caller?.clientId ?? null,
    client_name: '',
    ip: req.ip ?? '',
    ...(req.get('User-Agent') === undefined ? {} : { user_agent: req.get('User-Agent')! }),
    hostname: req.hostname ?? '',
    details: {
      request: {
        method: req.method,
        path: req.originalUrl.split('?')[0]!,
        ...(caller === undefined
          ? {}
          : {
              auth: {
                subject: caller.subject,
                client_id: caller.clientId,
                scopes: [...caller.scopes].sort(),
              },
            }),
      },
      ...('suppressed' in outcome && outcome.suppressed ? { suppressed: outcome.suppressed } : {}),
      status_code: status,
      ...(change
        ? {
            target: change.target,
            ...(change.before === undefined ? {} : { before: auditView(change.before) }),
            ...(change.after === undefined ? {} : { after: auditView(change.after) }),
          }
        : {
            error: 'failure' in outcome ? outcome.failure.error : '',
            error_description: 'failure' in outcome ? outcome.failure.message : '',
          }),
    },
  };
}

/** The audited copy of an object: action code replaced by its digest, secrets by their names. */
function auditView(value: object): object {
  const copy: Record<string, unknown> = { ...(value as Record<string, unknown>) };
  if (typeof copy.code === 'string') {
    copy.code_sha256 = createHash('sha256').update(copy.code).digest('hex');
    delete copy.code;
  }
  if (Array.isArray(copy.secrets)) {
    copy.secrets = copy.secrets.map((secret: { name?: unknown }) => secret?.name);
  }
  return copy;
}
