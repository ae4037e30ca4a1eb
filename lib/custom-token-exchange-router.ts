import type { RequestHandler, Router } from 'express';
import type { AttackProtectionHandle } from './attack-protection/attack-protection.js';
import type { ActionsHandle } from './handles/actions-handle.js';
import type { ClientsHandle } from './handles/clients-handle.js';
import type { PermissionsHandle } from './handles/permissions-handle.js';
import type { OrganizationsHandle } from './handles/organizations-handle.js';
import type { ProfilesHandle } from './handles/profiles-handle.js';
import type { ResourceServersHandle } from './handles/resource-servers-handle.js';
import type { AuthorizationServerMetadata } from './http/metadata.js';
import type { LogEntryType } from './logs/log-entry.js';
import type { LogListener } from './logs/log-events.js';
import type { HealthCheckOptions, HealthReport } from './observability/health.js';
import type { TenantLogsHandle } from './logs/tenant-logs.js';
import type { ManagementApiOptions } from './management/management-options.js';
import type { PostExchangeHookHandle } from './profiles/post-exchange-hook.js';
import type { RefreshTokensHandle } from './refresh-tokens/refresh-tokens-handle.js';
import type { KeysHandle } from './tokens/keys-handle.js';
import type { UserStore } from './users/user-store.js';

/** The router `customTokenExchange()` returns: mount it with `app.use()`; it carries the handles. */
export interface CustomTokenExchangeRouter extends Router {
  /** Actions: `create`, `get`, `list`, `update` (the draft), `delete`, and `deploy`. */
  readonly actions: ActionsHandle;
  /** Token exchange profiles: `create`, `get`, `list`, `update`, `delete`. */
  readonly profiles: ProfilesHandle;
  /**
   * The optional post-exchange action that adds custom claims: `set(actionId)` (a deployed action
   * with the `post-exchange` trigger), `clear()`, `get()`, each a promise. None by default.
   */
  readonly postExchange: PostExchangeHookHandle;
  /**
   * Applications: `create`, `get`, `list`, `update`, `delete` (never showing `client_secret`),
   * and `invalidate(clientId?)` to forget what this instance cached of a `ClientStore`'s client.
   */
  readonly clients: ClientsHandle;
  /** APIs: `create`, `get`, `list`, `update`, `delete`. */
  readonly resourceServers: ResourceServersHandle;
  /** The user store in use (the in-memory one when `options.users` was absent). */
  readonly users: UserStore;
  /**
   * Organizations: `create`, `get`, `getByName`, `list`, `update`, `delete`, with
   * `members.add/remove/list` and `connections.set/remove/list`.
   */
  readonly organizations: OrganizationsHandle;
  /**
   * Roles and permissions of `options.permissions.store`: `create`, `get`, `list`, `update`,
   * `delete` of roles, with `rolePermissions`, `userRoles` and `userPermissions`.
   */
  readonly permissions: PermissionsHandle;
  /**
   * Signing keys: `jwks()` to publish elsewhere, `list()`, `rotate(alg?)`, `add(jwk | signer)`,
   * each async. Nothing on it signs.
   */
  readonly keys: KeysHandle;
  /**
   * Attack protection: `status(ip)` and `unblock(ip)` for suspicious IP throttling,
   * `setProfileRateLimit(profileId, { windowMs, limit } | null)` and `getProfileRateLimit()`,
   * `getSuspiciousIpThrottling()` and `updateSuspiciousIpThrottling(patch)` (Auth0's shape,
   * shared through `stores.config`).
   */
  readonly attackProtection: AttackProtectionHandle;
  /**
   * Tenant logs: `list(query)` (type, date range, client, user, IP, paged newest first) answered
   * by a queryable sink of `logSinks` (a `PostgresLogSink`: every instance's entries) or by the
   * in-memory ring; `dropped()` counts what each sink dropped.
   */
  readonly logs: TenantLogsHandle;
  /**
   * Refresh tokens the router issued: `revoke(token)`, `revokeFamily(familyId)`,
   * `revokeForUser(userId, { client_id? })` (each revokes whole families) and
   * `listForUser(userId)`.
   */
  readonly refreshTokens: RefreshTokensHandle;
  /**
   * The router's authorization server metadata (RFC 8414), also its OpenID Connect Discovery
   * document: for a host that serves its own discovery document and merges these fields into it
   * (with `metadata: { serve: false }` when the router's routes would shadow the host's).
   */
  metadata(): AuthorizationServerMetadata;
  /**
   * RFC 8414 section 3.1's document at the host's root, `path` being
   * `/.well-known/oauth-authorization-server` followed by the issuer's path: mount it with
   * `app.get(cte.authorizationServerMetadata.path, cte.authorizationServerMetadata.handler)`.
   * For an issuer without a path the router already serves it at its mount's root.
   */
  readonly authorizationServerMetadata: { readonly path: string; readonly handler: RequestHandler };
  /**
   * A new router serving the Management API (Auth0's `/api/v2` paths for token exchange
   * profiles, actions, suspicious IP throttling, IP blocks and logs) for the host to mount where
   * it wants, e.g. `app.use('/api/v2', cte.managementApi())`. Off unless mounted: whoever holds
   * `create:actions` or `update:actions` runs code that issues tokens for any user. Requests
   * need a bearer JWT for `options.audience` with Auth0's scope of each route.
   *
   * @throws TypeError naming the option when `options` is invalid.
   */
  managementApi(options?: ManagementApiOptions): Router;
  /**
   * Resolves once the configuration of `options.stores.config` (what the Management API created)
   * is loaded, so the token endpoint serves it: await it before listening. Rejects when the store
   * cannot be read or a secret in it cannot be decrypted with `options.configSecretKeys`.
   */
  ready(): Promise<void>;
  /**
   * Calls `listener` with every later tenant-log entry of `type` (`secte`, `fecte`, and any
   * other type the router writes): a deep-frozen copy, in a microtask after the entry is written.
   * A listener that throws or rejects is reported to the `logger`, never to the exchange.
   */
  on(type: LogEntryType, listener: LogListener): CustomTokenExchangeRouter;
  /** Like {@link on}, for the next entry of `type` only. */
  once(type: LogEntryType, listener: LogListener): CustomTokenExchangeRouter;
  /** Removes a listener added with {@link on} or {@link once}. */
  off(type: LogEntryType, listener: LogListener): CustomTokenExchangeRouter;
  /**
   * The router's readiness: each store's answer to its `ping()` (`up`, `down`, or `unknown` for
   * a store without one), the sandbox's state and the signing keys' ages. `status` is `fail`
   * when a store is down or the sandbox could not be loaded: answer a readiness probe with 503
   * then. Options: `timeoutMs` per ping (default 2000), `maxKeyAgeSeconds` (a current key older
   * than this makes the keys `warn`).
   */
  health(options?: HealthCheckOptions): Promise<HealthReport>;
  /**
   * Shuts the router down gracefully. At once, token, revocation and introspection requests of
   * the router's own that arrive are answered `503 temporarily_unavailable` with `Retry-After: 1`
   * (token requests with their `fecte` entry), while the host's own routes are untouched; the requests in flight are awaited, for
   * `closeTimeoutMs` at most; then the sandboxes and attack-protection stores stop, and the log
   * sinks are flushed and closed (`closeTimeoutMs` at most for their pending writes, and again
   * for their `close()`). Stop the HTTP server from accepting connections first. Idempotent:
   * every call resolves when the first is done.
   */
  close(): Promise<void>;
}
