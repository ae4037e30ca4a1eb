import type { Request, Response } from 'express';
import type { AttackProtection } from '../attack-protection/attack-protection.js';
import type { ClientGrantIndex } from '../exchange/client-grants.js';
import type { LogEntryType } from '../logs/log-entry.js';
import type { TenantLog } from '../logs/tenant-log.js';
import type { Telemetry } from '../observability/telemetry.js';
import type { Config } from '../options.js';
import type { ActionRegistry } from '../profiles/action-registry.js';
import type { PostExchangeHook } from '../profiles/post-exchange-hook.js';
import type { ProfileRegistry } from '../profiles/profile-registry.js';
import type { RefreshTokenService } from '../refresh-tokens/refresh-token-service.js';
import type { Client } from '../registry/clients.js';
import type { ResourceServerRegistry } from '../registry/resource-servers.js';
import type { ActionRunner } from '../sandbox/action-runner.js';
import type { ReplayStore } from '../stores/replay-store.js';
import type { DpopProof } from '../tokens/dpop-proof.js';
import type { KeySet } from '../tokens/key-set.js';
import type { UserStore } from '../users/user-store.js';
import type { RequestTrail } from './request-log.js';
import type { TokenRequest } from './token-request.js';

/**
 * One `grant_type` the token endpoint answers, as a module: the parameters it reads, whether a
 * request is the router's (decided before anything else, so the host gets the rest untouched),
 * and its handler, which runs once the client is authenticated.
 */
export interface Grant {
  /** The `grant_type` value. */
  readonly type: string;
  /**
   * Every parameter the grant consumes, `grant_type` and client authentication's included; any
   * other parameter is an extension parameter.
   */
  readonly parameters: ReadonlySet<string>;
  /** The tenant-log type of a request of this grant that fails. */
  readonly failureLogType: LogEntryType;
  /**
   * Whether a request with this `grant_type` is the router's to answer; `false` hands it to the
   * host with `next()`. Reads the body as parsed, before any strict check.
   */
  isOurs(body: Record<string, unknown>): boolean | Promise<boolean>;
  /**
   * Answers a request that is ours, its client authenticated: resolves the JSON response (after
   * writing the success entry) or rejects with an `OAuthError`.
   */
  handle(request: GrantRequest): Promise<object>;
}

/** A request that is ours, once its parameters are read and its client authenticated. */
export interface GrantRequest {
  readonly req: Request;
  readonly res: Response;
  readonly params: TokenRequest;
  readonly client: Client;
  /** The end user's IP: `req.ip`, or what a trusted client forwarded. */
  readonly ip: string;
  /** What the request's log entry will say; the handler records facts as it learns them. */
  readonly trail: RequestTrail;
  /** The request's DPoP proof, verified and used: the tokens are bound to its key. */
  readonly dpop: DpopProof | undefined;
}

/** Parameters of client authentication, consumed whatever the grant. */
export const CLIENT_AUTHENTICATION_PARAMETERS: readonly string[] = [
  'client_id',
  'client_secret',
  'client_assertion',
  'client_assertion_type',
];

/** Everything the grants use, built once by `customTokenExchange()`. */
export interface GrantServices {
  config: Config;
  resourceServers: ResourceServerRegistry;
  clientGrants: ClientGrantIndex;
  profiles: ProfileRegistry;
  actions: ActionRegistry;
  /** The optional post-exchange action (custom claims), run after the profile's action. */
  postExchange: PostExchangeHook;
  runner: ActionRunner;
  users: UserStore;
  keys: KeySet;
  log: TenantLog;
  refreshTokens: RefreshTokenService;
  /** One-time values: used and attempted `mfa_token`s. */
  replay: ReplayStore;
  protection: AttackProtection;
  /** Spans of the steps, and the counts of blocked IPs. */
  telemetry: Telemetry;
}
