import type { Actor } from '../action-api/types.js';

/** Tenant-log event types: `secte` a successful exchange, `fecte` a failed one. */
export type LogEntryType = 'secte' | 'fecte';

/** One tenant-log entry, with Auth0's log schema field names. Never carries a token or secret. */
export interface LogEntry {
  log_id: string;
  /** ISO 8601. */
  date: string;
  type: LogEntryType;
  description: string;
  client_id: string | null;
  client_name: string;
  ip: string;
  user_agent?: string;
  hostname: string;
  audience?: string;
  /** Space-delimited: requested scopes on failure, granted scopes on success. */
  scope?: string;
  user_id?: string;
  user_name?: string;
  connection?: string;
  organization_id?: string;
  details: LogEntryDetails;
}

export interface LogEntryDetails {
  subject_token_type?: string;
  /** `tep_…` id of the profile that served the request. */
  profile_id?: string;
  action_id?: string;
  actor?: Actor;
  access_token_jti?: string;
  /** Failure only: the `error` code answered. */
  error?: string;
  /** Failure only: the `error_description` answered. */
  error_description?: string;
  /** Failure only: the private cause (action errors with line numbers, store failures). */
  cause?: string;
  /** The action's captured console lines, redacted and cut to 256 characters each. */
  console?: string[];
}

/** Where entries go. `write` must not throw; a sink that can fail handles it itself. */
export interface LogSink {
  write(entry: LogEntry): void | Promise<void>;
  close?(): void | Promise<void>;
}
