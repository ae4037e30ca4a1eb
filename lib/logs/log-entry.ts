import type { Actor } from '../tokens/actor.js';

/**
 * Tenant-log event types: `secte` a successful exchange, `fecte` a failed one, `limit_cte` an IP
 * blocked by suspicious IP throttling (written once, by the invalid subject token that took its
 * last attempt; named after Auth0's `limit_mu`, which Auth0 writes for login throttling).
 * Refresh tokens use Auth0's types: `sertft` / `fertft` a successful / failed refresh, `srrt` a
 * refresh token family revoked through `POST /oauth/revoke`, `srat` (the router's own: Auth0
 * does not revoke access tokens) an access token revoked there, `resource_cleanup` (Auth0's
 * "Refresh Token Excess Warning") the oldest families of a user and client revoked because an
 * exchange took them past `maxRefreshTokensPerUserAndClient`. The Management API writes Auth0's
 * `sapi` (a change it made) and `fapi` (a change it refused) for every change requested of it.
 */
export type LogEntryType =
  | 'secte'
  | 'fecte'
  | 'limit_cte'
  | 'sertft'
  | 'fertft'
  | 'srrt'
  | 'srat'
  | 'resource_cleanup'
  | 'seotpft'
  | 'feotpft'
  | 'seoobft'
  | 'feoobft'
  | 'sapi'
  | 'fapi';

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
  /** The `jti` of the `mfa_token` an MFA grant redeemed (`seotpft`, `seoobft`), never the token. */
  mfa_token_jti?: string;
  /**
   * The refresh token family issued (`secte`), redeemed (`sertft`) or revoked (`srrt`): an id,
   * never a token; `refreshTokens.revokeFamily()` takes it.
   */
  refresh_token_family_id?: string;
  /**
   * `false` when the entry's `client_id` is the client a request named without authenticating as
   * it (a failed client authentication): anyone can send such a request.
   */
  client_authenticated?: false;
  /** Failure only: the `error` code answered. */
  error?: string;
  /** Failure only: the `error_description` answered. */
  error_description?: string;
  /** Failure only: the private cause (action errors with line numbers, store failures). */
  cause?: string;
  /** The action's captured console lines, redacted and cut to 256 characters each. */
  console?: string[];
  /**
   * `resource_cleanup` only, with Auth0's field names: what was cleaned up (`refresh_tokens`),
   * the live families of the user and client before (`start`) and after (`endCount`), and how
   * many were revoked (`removedCount`); `refresh_token_family_id` is the new family, and
   * `revoked_refresh_token_family_ids` the families revoked, oldest first.
   */
  resource?: 'refresh_tokens';
  start?: number;
  removedCount?: number;
  endCount?: number;
  revoked_refresh_token_family_ids?: string[];
  /**
   * `limit_cte` only: the bucket that became empty (the IP, or its IPv6 network), the throttling
   * policy, and when the IP gets an attempt back (ISO 8601).
   */
  suspicious_ip_throttling?: {
    key: string;
    max_attempts: number;
    rate: number;
    next_attempt_at?: string;
  };
  /** A Management API request (`sapi`, `fapi`): the route and the token that made it. */
  request?: ManagementRequestDetails;
  /**
   * `fapi` of a `401` only: how many `401`s before this one were not logged, since the Management
   * API logs at most a few a minute however many bad tokens arrive.
   */
  suppressed?: number;
  /** The status the Management API answered a change with (`sapi`, `fapi`). */
  status_code?: number;
  /** The object a change concerns (`sapi`, `fapi`): its kind and id. */
  target?: { type: string; id: string };
  /** The object before a change, without secrets (`sapi`; absent for a creation). */
  before?: unknown;
  /** The object after a change, without secrets (`sapi`; absent for a deletion). */
  after?: unknown;
}

/** Who asked the Management API for a change, and how. */
export interface ManagementRequestDetails {
  method: string;
  path: string;
  /**
   * The access token's `sub`, its client (`azp` or `client_id`), and its scopes. Absent from the
   * `fapi` entry of a request whose token was missing or invalid (`401`).
   */
  auth?: { subject: string; client_id: string | null; scopes: string[] };
}

/**
 * Where entries go. The tenant log hands each sink a deep-frozen copy of every entry, cut to the
 * log's bounds (at most 32 KiB of JSON; see `boundedEntry`), and never waits for it: `write` may return a promise (awaited only by `close()`), and a throw or a
 * rejection only counts the entry as dropped for that sink.
 */
export interface LogSink {
  /** Takes one entry. Should return quickly: buffer and write in batches, as I/O sinks do. */
  write(entry: LogEntry): void | Promise<void>;
  /** Writes out whatever is buffered and releases the sink's resources. Called once, at close. */
  close?(): void | Promise<void>;
  /**
   * Entries the sink accepted but could not deliver (a full buffer, a failed write), for a sink
   * that fails behind its own buffer; added to what the tenant log counts for it.
   */
  readonly dropped?: number;
}
