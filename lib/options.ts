import type {
  AttackProtectionConfig,
  AttackProtectionOptions,
} from './attack-protection/attack-protection-options.js';
import { parseAttackProtection } from './attack-protection/attack-protection-options.js';
import type { HostAuthenticator } from './client-auth/client-authenticator.js';
import {
  checkArray,
  checkHttpsUrl,
  checkKnownKeys,
  checkObject,
  checkOneOf,
  checkOptionalBoolean,
  checkOptionalInteger,
  checkString,
  fail,
} from './definition-checks.js';
import { LOG_LEVELS, consoleLogger } from './logger.js';
import type { Logger } from './logger.js';
import { MAX_LOG_ENTRY_BYTES } from './logs/entry-bounds.js';
import type { LogEntry, LogSink } from './logs/log-entry.js';
import { DEFAULT_MEMORY_LOG_MAX_BYTES } from './logs/memory-log-sink.js';
import { DEFAULT_MAX_REFRESH_TOKENS_PER_USER_AND_CLIENT } from './refresh-tokens/refresh-token-service.js';
import type { Client, ClientDefinition } from './registry/clients.js';
import { parseClient } from './registry/clients.js';
import type {
  ClientCacheConfig,
  ClientCacheOptions,
  ClientStore,
} from './registry/client-store.js';
import { isClientStore, parseClientCacheOptions } from './registry/client-store.js';
import type {
  ClientGrantDefinition,
  ResourceServer,
  ResourceServerDefinition,
} from './registry/resource-servers.js';
import { parseClientGrant, parseResourceServer } from './registry/resource-servers.js';
import { ACTION_LIMIT_RANGES } from './profiles/action-definition.js';
import { MAX_TOKEN_LENGTH_CEILING } from './profiles/profile-registry.js';
import { parseObservabilityOptions } from './observability/observability-options.js';
import type {
  ObservabilityConfig,
  ObservabilityOptions,
} from './observability/observability-options.js';
import type { ActionCacheStore } from './sandbox/capabilities/action-cache.js';
import { DEFAULT_ACTION_LIMITS, type ActionLimits } from './sandbox/action-runner.js';
import { SecretSealer } from './stores/config-secrets.js';
import type { ConfigSecretKey } from './stores/config-secrets.js';
import { isConfigStore } from './stores/config-store.js';
import type { ConfigStore } from './stores/config-store.js';
import { MemoryConfigStore } from './stores/memory-config-store.js';
import type { RefreshTokenStore } from './stores/refresh-token-store.js';
import type { ReplayStore } from './stores/replay-store.js';
import type { RevokedTokenStore } from './stores/revoked-token-store.js';
import type { SigningKeyInput } from './tokens/key-set.js';
import { parseSigningKeys } from './tokens/key-set.js';
import type { KeyStore } from './tokens/key-store.js';
import { MemoryActionCacheStore } from './sandbox/capabilities/action-cache.js';
import { MemoryAttemptStore } from './stores/memory-attempt-store.js';
import { MemoryRefreshTokenStore } from './stores/memory-refresh-token-store.js';
import { MemoryReplayStore } from './stores/memory-replay-store.js';
import { MemoryRevokedTokenStore } from './stores/memory-revoked-token-store.js';
import type { Signer } from './tokens/signer.js';
import type { UserStore } from './users/user-store.js';
import { parseOrganizationsOptions } from './organizations/organization-options.js';
import { parsePermissionsOptions } from './permissions/permission-options.js';
import { parseMfaOptions } from './mfa/mfa-options.js';
import type { MfaConfig, MfaOptions } from './mfa/mfa-options.js';
import type { PermissionsConfig, PermissionsOptions } from './permissions/permission-options.js';
import type {
  OrganizationsConfig,
  OrganizationsOptions,
} from './organizations/organization-options.js';
import type { StandardsConfig, StandardsOptions } from './standards-options.js';
import { STANDARDS_OPTION_KEYS, parseStandardsOptions } from './standards-options.js';

/** Where the router answers token requests, under its mount. */
const TOKEN_PATH = '/oauth/token';

/** Options of {@link customTokenExchange}. Validated once; the object is never mutated. */
export interface CustomTokenExchangeOptions extends StandardsOptions {
  /**
   * The `iss` of every token, exactly as given (Auth0 style: `https://auth.example.com/`, trailing
   * slash included). https, or http for localhost.
   */
  issuer: string;
  /**
   * Applications allowed to call the token endpoint (Auth0 Management API fields), or a
   * `ClientStore` that reads them from your own registry (`get(client_id)`), cached as
   * `clientCache` says.
   */
  clients: ClientDefinition[] | ClientStore;
  /** How clients of a `ClientStore` are cached (TTL, bounds, unknown ids); see `ClientCacheOptions`. */
  clientCache?: ClientCacheOptions;
  /** APIs that tokens can be issued for (Auth0 Management API fields). */
  resourceServers: ResourceServerDefinition[];
  /**
   * When given, each client may only request the APIs and scopes its grants list. When absent, a
   * first-party client may request any API and any of its scopes (Auth0's default for user flows).
   */
  clientGrants?: ClientGrantDefinition[];
  /** The API used when a request names no `audience`/`resource`. */
  defaultAudience?: string;
  /** The user database; an in-memory `MemoryUserStore` when absent. */
  users?: UserStore;
  /** Organizations: their store (in memory by default) and whether names may stand for ids. */
  organizations?: OrganizationsOptions;
  /**
   * Role-based access control: where users' permissions come from, a host `resolve(user,
   * audience)` or a `store` of roles (a `MemoryPermissionStore`, ...). Needed by any API with
   * `enforce_policies: true` or an `_authz` `token_dialect`; absent, such an API is refused.
   */
  permissions?: PermissionsOptions;
  /**
   * Multi-factor authentication inside the exchange: the host's `verify` function, which the
   * `mfa-otp` and `mfa-oob` grants call, and the `mfa_token`'s lifetime, attempts and secret.
   * Absent: those grants go to the host, and an exchange that needs MFA fails with `500`.
   */
  mfa?: MfaOptions;
  /**
   * Signing keys: private JWKs, each with `kid` and `alg` (RS256, PS256, ES256, EdDSA), and
   * `Signer`s (a private key in a KMS or HSM behind your adapter), as an array or a JWKS. When
   * absent, `stores.keys` makes and keeps the keys; without it either, development keys are
   * generated in memory (with a warning; refused with a shared store): tokens then do not survive
   * a restart and instances do not share keys.
   */
  keys?: Array<SigningKeyInput | Signer> | { keys: Array<SigningKeyInput | Signer> };
  /**
   * Seconds a rotated-out key stays in the JWKS so tokens it signed still verify: at least this,
   * and at least the longest token lifetime of the APIs and clients the router signs for.
   * Default 86400.
   */
  keyRotationGracePeriod?: number;
  /**
   * `max-age` of the JWKS response in seconds. Default 600. A rotation schedules the next key to
   * sign no sooner than this after it was published.
   */
  jwksMaxAge?: number;
  /** `event.tenant.id`. Default: the issuer's host name. */
  tenant?: string;
  /**
   * A token exchange whose (non-reserved) `subject_token_type` no profile claims: `'reject'`
   * answers `400 invalid_request` (default); `'next'` hands it to the host with `next()`.
   */
  unknownSubjectTokenType?: 'reject' | 'next';
  /**
   * The absolute URL of this token endpoint as clients see it, accepted as a `private_key_jwt`
   * assertion audience besides the issuer, and the `htu` of DPoP proofs. Default:
   * `{issuer}oauth/token`. The revocation, introspection and JWKS URLs the metadata names are its
   * siblings (`…/oauth/revoke`, `…/oauth/introspect`, `…/.well-known/jwks.json`).
   */
  tokenEndpoint?: string;
  /**
   * Longest `subject_token` or `actor_token` accepted, in characters, for a profile without its
   * own `max_token_length`; longer ones are `400 invalid_request` before anything reads them.
   * Default 16384 (16 KiB: room for any JWT, nested actor claims included); at most 1048576.
   */
  maxTokenLength?: number;
  /**
   * Token requests the router answers at once (exchanges and refreshes, from the moment a
   * request is known to be ours until its answer is written). Beyond it a request is refused at
   * once with `503 temporarily_unavailable` and `Retry-After: 1` rather than queued, so a flood
   * cannot pile up work, memory and latency for everyone. Default 1000.
   */
  maxExchangesInFlight?: number;
  /**
   * How your own `express.urlencoded()` parses forms: give the router the same `extended` so a
   * request it hands on (any grant that is not its own) carries the `req.body` your parser would
   * have made. The router reads the token endpoint's body first with Express's own parsers (the
   * `express` your app runs: a peer dependency), and body-parser then skips a body already read.
   * Default: your Express major's default, `true` on Express 4 and `false` on Express 5.
   */
  urlencoded?: { extended?: boolean };
  /** Authenticate clients with the host's own passport strategies instead of the built-in ones. */
  clientAuthentication?: { passport: HostAuthenticator; strategies: string[] };
  /**
   * Tenant-log sinks besides the in-memory ring, which is always kept (`JsonLinesLogSink`,
   * `FunctionLogSink`, `PostgresLogSink`, or any `{ write(entry) }`). The first that answers
   * queries answers `logs.list()`. Closed by `close()`.
   */
  logSinks?: LogSink[];
  /** Entries kept by the in-memory log ring. Default 1000. */
  logCapacity?: number;
  /**
   * Bytes the in-memory log ring may hold, each entry counted as the UTF-8 length of its JSON
   * (at most 32 KiB per entry); the oldest entries are dropped to stay within it. 32768 to
   * 1073741824, default 8388608 (8 MiB).
   */
  logCapacityBytes?: number;
  /**
   * Told about each entry a sink of `logSinks` failed to take (it threw, its promise rejected, or
   * 1000 of its writes were pending), for an alert; must not throw. Default: a `logger.warn` on
   * a sink's first failure, then at most once a minute per sink. Either way every drop counts in
   * `logs.dropped()`. A `JsonLinesLogSink` reports its own buffer and I/O failures through its
   * `onError` option.
   */
  onLogSinkError?: (error: unknown, sink: LogSink, entry: LogEntry) => void;
  /**
   * Live refresh tokens (families: a token and its rotations) one user may hold with one client,
   * as Auth0 limits active refresh tokens per user and application. An exchange that issues one
   * more revokes the user's oldest with that client and logs a `resource_cleanup` entry. 1 to
   * 100000, default 200.
   */
  maxRefreshTokensPerUserAndClient?: number;
  /**
   * Where the router's operational messages go (a missing signing key configuration, a client
   * the auth0 SDK cannot refresh with, a failing log sink or listener, a failing attack-protection store in `fail-open` mode, shutdown): any
   * logger with pino's `info`, `warn` and `error`, each called as `(fields, message)`. Default:
   * the console (`console.info`, `console.warn`, `console.error` with the message). A logger
   * that throws is ignored: it never fails a request.
   */
  logger?: Logger;
  /**
   * How long `close()` waits, in ms, for each of its steps: the token requests in flight to be
   * answered, then the log sinks' pending writes, then their `close()`. 0 to 600000, default
   * 5000.
   */
  closeTimeoutMs?: number;
  /** Shared state; memory implementations by default. */
  stores?: {
    /**
     * One-time values: `private_key_jwt` assertion and DPoP proof `jti`s, the keys actions pass
     * to `api.replay.consume`, used `mfa_token`s. Default: a `MemoryReplayStore` (single process).
     */
    replay?: ReplayStore;
    actionCache?: ActionCacheStore;
    /**
     * The refresh tokens the router issues (families and token hashes); share it between the
     * instances serving one tenant. Default: a `MemoryRefreshTokenStore` (single process).
     */
    refreshTokens?: RefreshTokenStore;
    /**
     * The signing-key schedule, shared by every instance (`PostgresKeyStore`): all sign with the
     * same current key and serve the same JWKS, read again in the background every minute (or
     * half the JWKS `max-age`, if shorter). Without `keys` the router makes its keys there.
     */
    keys?: KeyStore;
    /**
     * The `jti`s of access tokens revoked through `POST /oauth/revoke`, until they expire;
     * introspection reads it. Default: a `MemoryRevokedTokenStore` (single process).
     */
    revokedTokens?: RevokedTokenStore;
    /**
     * The configuration the Management API changes (its actions with their versions, and its
     * profiles), shared by every instance given the same store and kept across restarts: a
     * `PostgresConfigStore`, or a `MemoryConfigStore` shared by routers of one process. Default:
     * a `MemoryConfigStore` of this router. Objects the host's code creates through the
     * handles stay in the process, defined again by the code at each start.
     */
    config?: ConfigStore;
  };
  /**
   * The key ring that encrypts action secrets in `stores.config` (AES-256-GCM): the first key
   * encrypts, every key decrypts, so a new key goes first and the old one stays until the secrets
   * were written again. Required with any store other than a `MemoryConfigStore`.
   */
  configSecretKeys?: ConfigSecretKey[];
  /** Default runtime limits of actions (each overridable per action). */
  actionDefaults?: Partial<ActionLimits>;
  /**
   * Run `code` actions in isolated-vm (default `true`; the process needs `--no-node-snapshot`).
   * `false` accepts only in-process `handler` actions.
   */
  sandbox?: boolean;
  /**
   * Suspicious IP throttling (on by default: 10 invalid subject tokens per IP, one back every
   * ten minutes), per-profile rate limits (off unless configured), the forwarded-IP header of
   * trusted clients, and what a failing store does (fail closed by default).
   */
  attackProtection?: AttackProtectionOptions;
  /**
   * OpenTelemetry: the providers spans and metrics go to (the global ones by default: a no-op
   * until the host registers an SDK), and whether spans name the end user and metrics the
   * client. See the README's Observability section.
   */
  observability?: ObservabilityOptions;
}

/** The validated, defaulted configuration the router runs on. */
export interface Config extends StandardsConfig {
  issuer: string;
  tokenEndpoint: string;
  /**
   * The router's URL as clients see it, without a trailing slash: the token endpoint's URL
   * without `/oauth/token` (the issuer's, unless `tokenEndpoint` says otherwise). The revocation,
   * introspection and JWKS URLs of the metadata are under it.
   */
  routerUrl: string;
  tenant: string;
  /** The clients given as an array; empty with a store. */
  clients: Client[];
  clientStore: { store: ClientStore; cache: ClientCacheConfig } | undefined;
  resourceServers: ResourceServer[];
  clientGrants: ClientGrantDefinition[] | undefined;
  defaultAudience: string | undefined;
  users: UserStore | undefined;
  organizations: OrganizationsConfig;
  permissions: PermissionsConfig | undefined;
  mfa: MfaConfig | undefined;
  keys: Array<SigningKeyInput | Signer> | undefined;
  keyRotationGracePeriod: number;
  jwksMaxAge: number;
  unknownSubjectTokenType: 'reject' | 'next';
  maxTokenLength: number;
  maxExchangesInFlight: number;
  /** `undefined`: the installed Express's default. */
  urlencodedExtended: boolean | undefined;
  clientAuthentication: { passport: HostAuthenticator; strategies: string[] } | undefined;
  logSinks: LogSink[];
  logger: Logger;
  closeTimeoutMs: number;
  logCapacity: number;
  logCapacityBytes: number;
  maxRefreshTokensPerUserAndClient: number;
  onLogSinkError: ((error: unknown, sink: LogSink, entry: LogEntry) => void) | undefined;
  stores: {
    replay?: ReplayStore;
    actionCache?: ActionCacheStore;
    refreshTokens?: RefreshTokenStore;
    keys?: KeyStore;
    revokedTokens?: RevokedTokenStore;
  };
  /** `stores.config`, or the router's own memory store. */
  configStore: ConfigStore;
  /** Seals action secrets in `configStore`; absent for the router's own memory store. */
  configSealer: SecretSealer | undefined;
  actionDefaults: ActionLimits;
  sandbox: boolean;
  attackProtection: AttackProtectionConfig;
  observability: ObservabilityConfig;
}

export { DEFAULT_ACTION_LIMITS } from './sandbox/action-runner.js';

/** Default of `closeTimeoutMs`. */
export const DEFAULT_CLOSE_TIMEOUT_MS = 5000;

/** Default of `maxTokenLength`: 16 KiB, more than any JWT needs. */
export const DEFAULT_MAX_TOKEN_LENGTH = 16 * 1024;

const OPTION_KEYS = [
  ...STANDARDS_OPTION_KEYS,
  'issuer',
  'clients',
  'clientCache',
  'resourceServers',
  'clientGrants',
  'defaultAudience',
  'users',
  'organizations',
  'permissions',
  'mfa',
  'keys',
  'keyRotationGracePeriod',
  'jwksMaxAge',
  'tenant',
  'unknownSubjectTokenType',
  'tokenEndpoint',
  'maxTokenLength',
  'maxExchangesInFlight',
  'urlencoded',
  'clientAuthentication',
  'logSinks',
  'logger',
  'closeTimeoutMs',
  'logCapacity',
  'logCapacityBytes',
  'maxRefreshTokensPerUserAndClient',
  'onLogSinkError',
  'stores',
  'configSecretKeys',
  'actionDefaults',
  'sandbox',
  'attackProtection',
  'observability',
] as const;

/** Validates `options` once, at construction; a mistake throws a TypeError naming its path. */
export function parseOptions(input: unknown): Config {
  const options = checkObject(input, 'options');
  if (options.logs !== undefined) fail('options.logs', 'is now options.logSinks');
  checkKnownKeys(options, OPTION_KEYS, 'options');
  const issuerUrl = checkHttpsUrl(options.issuer, 'options.issuer');
  const issuer = options.issuer as string;

  // Validated in full below; whether it is there decides what a client definition must hold.
  const hostAuthenticates = options.clientAuthentication !== undefined;
  const clientStore = isClientStore(options.clients)
    ? {
        store: options.clients,
        cache: parseClientCacheOptions(options.clientCache, 'options.clientCache'),
      }
    : undefined;
  if (clientStore === undefined && options.clientCache !== undefined) {
    fail('options.clientCache', 'applies to a ClientStore in options.clients, not to an array');
  }
  const clients =
    clientStore !== undefined
      ? []
      : clientDefinitions(options.clients).map((c, i) =>
          parseClient(c, `options.clients[${i}]`, { hostAuthenticates }),
        );
  unique(
    clients.map((c) => c.client_id),
    'options.clients',
    'client_id',
  );

  const resourceServers = checkArray(options.resourceServers, 'options.resourceServers').map(
    (r, i) => parseResourceServer(r, `options.resourceServers[${i}]`),
  );
  unique(
    resourceServers.map((r) => r.identifier),
    'options.resourceServers',
    'identifier',
  );

  const clientGrants =
    options.clientGrants === undefined
      ? undefined
      : checkArray(options.clientGrants, 'options.clientGrants').map((g, i) =>
          parseClientGrant(g, `options.clientGrants[${i}]`),
        );

  clientGrants?.forEach((grant, i) => {
    // A store's clients are not known in advance: a grant may name any of them.
    if (clientStore === undefined && !clients.some((c) => c.client_id === grant.client_id)) {
      fail(
        `options.clientGrants[${i}].client_id`,
        'must be the client_id of one of options.clients',
      );
    }
    if (!resourceServers.some((r) => r.identifier === grant.audience)) {
      fail(
        `options.clientGrants[${i}].audience`,
        'must be the identifier of one of options.resourceServers',
      );
    }
  });

  let defaultAudience: string | undefined;
  if (options.defaultAudience !== undefined) {
    defaultAudience = checkString(options.defaultAudience, 'options.defaultAudience');
    if (!resourceServers.some((r) => r.identifier === defaultAudience)) {
      fail('options.defaultAudience', 'must be the identifier of one of options.resourceServers');
    }
  }

  const users = options.users as UserStore | undefined;
  if (users !== undefined) {
    if (typeof users !== 'object' || users === null) fail('options.users', 'must be a UserStore');
    const store = users as unknown as Record<string, unknown>;
    for (const method of ['getById', 'getByIdentity', 'create', 'update']) {
      if (typeof store[method] !== 'function') {
        fail(`options.users.${method}`, 'must be a function (see the UserStore interface)');
      }
    }
  }

  const keys = options.keys === undefined ? undefined : parseSigningKeys(options.keys);

  const tokenEndpoint =
    options.tokenEndpoint === undefined
      ? `${issuer.replace(/\/+$/, '')}${TOKEN_PATH}`
      : checkHttpsUrl(options.tokenEndpoint, 'options.tokenEndpoint').href;

  let clientAuthentication: Config['clientAuthentication'];
  if (options.clientAuthentication !== undefined) {
    const auth = checkObject(options.clientAuthentication, 'options.clientAuthentication');
    checkKnownKeys(auth, ['passport', 'strategies'], 'options.clientAuthentication');
    const passport = auth.passport as { authenticate?: unknown } | undefined;
    if (typeof passport?.authenticate !== 'function') {
      fail('options.clientAuthentication.passport', 'must be a passport Authenticator');
    }
    const strategies = checkArray(auth.strategies, 'options.clientAuthentication.strategies').map(
      (s, i) => checkString(s, `options.clientAuthentication.strategies[${i}]`),
    );
    if (strategies.length === 0) {
      fail('options.clientAuthentication.strategies', 'must name at least one strategy');
    }
    clientAuthentication = { passport: passport as unknown as HostAuthenticator, strategies };
  }

  const logSinks = (
    options.logSinks === undefined ? [] : checkArray(options.logSinks, 'options.logSinks')
  ).map((sink, i) => {
    if (typeof (sink as { write?: unknown } | null)?.write !== 'function') {
      fail(`options.logSinks[${i}]`, 'must be a LogSink (an object with write(entry))');
    }
    return sink as LogSink;
  });

  if (options.onLogSinkError !== undefined && typeof options.onLogSinkError !== 'function') {
    fail('options.onLogSinkError', 'must be a function (error, sink, entry) => void');
  }

  const stores = options.stores === undefined ? {} : checkObject(options.stores, 'options.stores');
  checkKnownKeys(
    stores,
    ['replay', 'actionCache', 'refreshTokens', 'revokedTokens', 'keys', 'config'],
    'options.stores',
  );
  if (stores.config !== undefined && !isConfigStore(stores.config)) {
    fail(
      'options.stores.config',
      'must be a ConfigStore (load, changes, read, children, commit, subscribe, close)',
    );
  }
  const configStore = (stores.config as ConfigStore | undefined) ?? new MemoryConfigStore();
  if (options.configSecretKeys !== undefined && !Array.isArray(options.configSecretKeys)) {
    fail('options.configSecretKeys', 'must be an array of { kid, key }');
  }
  const configSecretKeys = options.configSecretKeys as ConfigSecretKey[] | undefined;
  if (configSecretKeys === undefined && !(configStore instanceof MemoryConfigStore)) {
    fail(
      'options.configSecretKeys',
      'is required with options.stores.config: action secrets are encrypted at rest with it',
    );
  }
  if (stores.replay !== undefined && typeof (stores.replay as ReplayStore).consume !== 'function') {
    fail('options.stores.replay', 'must be a ReplayStore (an object with consume(key, exp))');
  }
  const actionCache = stores.actionCache as ActionCacheStore | undefined;
  if (
    actionCache !== undefined &&
    (typeof actionCache.load !== 'function' || typeof actionCache.apply !== 'function')
  ) {
    fail('options.stores.actionCache', 'must be an ActionCacheStore (load and apply)');
  }
  const refreshTokens = stores.refreshTokens as RefreshTokenStore | undefined;
  if (refreshTokens !== undefined) {
    if (typeof refreshTokens !== 'object' || refreshTokens === null) {
      fail('options.stores.refreshTokens', 'must be a RefreshTokenStore');
    }
    for (const method of ['find', 'create', 'compareAndSet', 'revokeFamily', 'listFamilies']) {
      if (typeof (refreshTokens as unknown as Record<string, unknown>)[method] !== 'function') {
        fail(
          `options.stores.refreshTokens.${method}`,
          'must be a function (see the RefreshTokenStore interface)',
        );
      }
    }
  }
  const revokedTokens = stores.revokedTokens as RevokedTokenStore | undefined;
  if (
    revokedTokens !== undefined &&
    (typeof revokedTokens?.revoke !== 'function' || typeof revokedTokens.isRevoked !== 'function')
  ) {
    fail('options.stores.revokedTokens', 'must be a RevokedTokenStore (revoke and isRevoked)');
  }

  const keyStore = stores.keys as KeyStore | undefined;
  if (
    keyStore !== undefined &&
    (typeof keyStore?.load !== 'function' || typeof keyStore.save !== 'function')
  ) {
    fail('options.stores.keys', 'must be a KeyStore (load and save)');
  }
  const attackProtection = parseAttackProtection(
    options.attackProtection,
    'options.attackProtection',
  );
  if (keys === undefined && keyStore === undefined) {
    const shared = sharedStore(stores, attackProtection);
    if (shared !== undefined) {
      fail(
        'options.keys',
        `(or options.stores.keys) is required with a shared store (${shared}): development keys ` +
          'generated at start differ on every instance and at every restart',
      );
    }
  }

  const mfa = parseMfaOptions(options.mfa, 'options.mfa', issuer);
  if (mfa !== undefined && !mfa.sharedSecret) {
    const shared = sharedStore(stores, attackProtection);
    if (shared !== undefined) {
      fail(
        'options.mfa.secret',
        `is required with a shared store (${shared}): an mfa_token sealed with a secret ` +
          'generated at start cannot be redeemed on another instance',
      );
    }
  }

  return {
    issuer,
    tokenEndpoint,
    routerUrl: tokenEndpoint.endsWith(TOKEN_PATH)
      ? tokenEndpoint.slice(0, -TOKEN_PATH.length)
      : issuer.replace(/\/+$/, ''),
    tenant:
      options.tenant === undefined
        ? issuerUrl.hostname
        : checkString(options.tenant, 'options.tenant', { max: 128 }),
    clients,
    clientStore,
    resourceServers,
    clientGrants,
    defaultAudience,
    users,
    organizations: parseOrganizationsOptions(options.organizations),
    permissions: parsePermissionsOptions(options.permissions),
    mfa,
    keys,
    keyRotationGracePeriod: checkOptionalInteger(
      options.keyRotationGracePeriod,
      'options.keyRotationGracePeriod',
      86400,
      { min: 0, max: 31_536_000 },
    ),
    jwksMaxAge: checkOptionalInteger(options.jwksMaxAge, 'options.jwksMaxAge', 600, {
      min: 0,
      max: 86400,
    }),
    unknownSubjectTokenType: checkOneOf(
      options.unknownSubjectTokenType,
      'options.unknownSubjectTokenType',
      ['reject', 'next'],
      'reject',
    ),
    maxTokenLength: checkOptionalInteger(
      options.maxTokenLength,
      'options.maxTokenLength',
      DEFAULT_MAX_TOKEN_LENGTH,
      { min: 1, max: MAX_TOKEN_LENGTH_CEILING },
    ),
    maxExchangesInFlight: checkOptionalInteger(
      options.maxExchangesInFlight,
      'options.maxExchangesInFlight',
      1000,
      { min: 1, max: 1_000_000 },
    ),
    urlencodedExtended: parseUrlencoded(options.urlencoded, 'options.urlencoded'),
    clientAuthentication,
    logSinks,
    logger: parseLogger(options.logger, 'options.logger'),
    closeTimeoutMs: checkOptionalInteger(
      options.closeTimeoutMs,
      'options.closeTimeoutMs',
      DEFAULT_CLOSE_TIMEOUT_MS,
      { min: 0, max: 600_000 },
    ),
    logCapacity: checkOptionalInteger(options.logCapacity, 'options.logCapacity', 1000, {
      min: 1,
      max: 1_000_000,
    }),
    logCapacityBytes: checkOptionalInteger(
      options.logCapacityBytes,
      'options.logCapacityBytes',
      DEFAULT_MEMORY_LOG_MAX_BYTES,
      { min: MAX_LOG_ENTRY_BYTES, max: 2 ** 30 },
    ),
    maxRefreshTokensPerUserAndClient: checkOptionalInteger(
      options.maxRefreshTokensPerUserAndClient,
      'options.maxRefreshTokensPerUserAndClient',
      DEFAULT_MAX_REFRESH_TOKENS_PER_USER_AND_CLIENT,
      { min: 1, max: 100_000 },
    ),
    onLogSinkError: options.onLogSinkError as Config['onLogSinkError'],
    stores: {
      ...(stores.replay === undefined ? {} : { replay: stores.replay as ReplayStore }),
      ...(actionCache === undefined ? {} : { actionCache }),
      ...(refreshTokens === undefined ? {} : { refreshTokens }),
      ...(keyStore === undefined ? {} : { keys: keyStore }),
      ...(revokedTokens === undefined ? {} : { revokedTokens }),
    },
    configStore,
    configSealer:
      configSecretKeys === undefined
        ? undefined
        : new SecretSealer(configSecretKeys, 'customTokenExchange: options.configSecretKeys'),
    actionDefaults: parseActionDefaults(options.actionDefaults, 'options.actionDefaults'),
    sandbox: checkOptionalBoolean(options.sandbox, 'options.sandbox', true),
    attackProtection,
    observability: parseObservabilityOptions(options.observability, 'options.observability'),
    ...parseStandardsOptions(options),
  };
}

/** The option path of a store shared between instances, if one is configured. */
function sharedStore(
  stores: Record<string, unknown>,
  attackProtection: AttackProtectionConfig,
): string | undefined {
  const memory: Record<string, new (...args: never[]) => unknown> = {
    replay: MemoryReplayStore,
    actionCache: MemoryActionCacheStore,
    refreshTokens: MemoryRefreshTokenStore,
    revokedTokens: MemoryRevokedTokenStore,
  };
  for (const [name, Memory] of Object.entries(memory)) {
    if (stores[name] !== undefined && !(stores[name] instanceof Memory)) {
      return `options.stores.${name}`;
    }
  }
  const attempts = attackProtection.suspiciousIpThrottling.store;
  if (attempts !== undefined && !(attempts instanceof MemoryAttemptStore)) {
    return 'options.attackProtection.suspiciousIpThrottling.store';
  }
  return undefined;
}

function clientDefinitions(value: unknown): unknown[] {
  if (!Array.isArray(value)) {
    fail(
      'options.clients',
      'must be an array of client definitions or a ClientStore (an object with get(client_id))',
    );
  }
  return value;
}

/** `urlencoded.extended`; `undefined` when not given (the body reader knows the default). */
function parseUrlencoded(input: unknown, path: string): boolean | undefined {
  const urlencoded = input === undefined ? {} : checkObject(input, path);
  checkKnownKeys(urlencoded, ['extended'], path);
  if (urlencoded.extended === undefined) return undefined;
  return checkOptionalBoolean(urlencoded.extended, `${path}.extended`, false);
}

/** A pino-compatible logger: `info`, `warn` and `error` functions; the console when absent. */
function parseLogger(input: unknown, path: string): Logger {
  if (input === undefined) return consoleLogger;
  if (typeof input !== 'object' || input === null) {
    fail(path, 'must be a logger with info, warn and error functions (pino, for one)');
  }
  const logger = input as Record<string, unknown>;
  for (const level of LOG_LEVELS) {
    if (typeof logger[level] !== 'function') {
      fail(`${path}.${level}`, 'must be a function (fields, message) => void, as pino has');
    }
  }
  return input as Logger;
}

/** `actionDefaults` over {@link DEFAULT_ACTION_LIMITS}, in the ranges actions accept. */
function parseActionDefaults(input: unknown, path: string): ActionLimits {
  const limits = input === undefined ? {} : checkObject(input, path);
  const keys = Object.keys(ACTION_LIMIT_RANGES) as Array<keyof ActionLimits>;
  checkKnownKeys(limits, keys, path);
  const parsed = { ...DEFAULT_ACTION_LIMITS };
  for (const key of keys) {
    const [min, max] = ACTION_LIMIT_RANGES[key];
    parsed[key] = checkOptionalInteger(limits[key], `${path}.${key}`, parsed[key], { min, max });
  }
  return parsed;
}

function unique(values: string[], path: string, field: string): void {
  const seen = new Set<string>();
  values.forEach((value, i) => {
    if (seen.has(value)) fail(`${path}[${i}].${field}`, `duplicates ${JSON.stringify(value)}`);
    seen.add(value);
  });
}
