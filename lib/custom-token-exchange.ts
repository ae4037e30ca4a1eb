import type { Router } from 'express';
import { AttackProtection } from './attack-protection/attack-protection.js';
import { ClientGrantIndex } from './exchange/client-grants.js';
import { fail } from './definition-checks.js';
import { actionsHandle } from './handles/actions-handle.js';
import { clientsHandle } from './handles/clients-handle.js';
import { postExchangeHandle } from './handles/post-exchange-handle.js';
import { organizationsHandle } from './handles/organizations-handle.js';
import { permissionsHandle } from './handles/permissions-handle.js';
import { needsPermissions } from './permissions/authorize-scopes.js';
import { profilesHandle } from './handles/profiles-handle.js';
import { resourceServersHandle } from './handles/resource-servers-handle.js';
import type { GrantServices } from './grants/grant.js';
import { mfaOobGrant, mfaOtpGrant } from './grants/mfa.js';
import { refreshTokenGrant } from './grants/refresh-token.js';
import { tokenExchangeGrant } from './grants/token-exchange.js';
import { insertedMetadataPath } from './http/metadata.js';
import { createRouter } from './http/router.js';
import { ShutdownGate } from './http/shutdown-gate.js';
import { abortOnCatastrophicError, guardedLogger } from './logger.js';
import type { LogEntryType } from './logs/log-entry.js';
import type { LogListener } from './logs/log-events.js';
import { createTenantLogs } from './logs/tenant-logs.js';
import { checkHealth } from './observability/health.js';
import type { HealthCheckOptions } from './observability/health.js';
import { observeSandbox } from './observability/sandbox-gauges.js';
import { observeStore, observeStores } from './observability/store-observation.js';
import { Telemetry } from './observability/telemetry.js';
import type { CustomTokenExchangeOptions } from './options.js';
import { parseOptions } from './parse-options.js';
import { createManagementApi } from './management/management-api.js';
import type { ManagementApiOptions } from './management/management-options.js';
import { ActionRegistry } from './profiles/action-registry.js';
import { ConfigSync } from './profiles/config-sync.js';
import { PostExchangeHook } from './profiles/post-exchange-hook.js';
import { ProfileRegistry } from './profiles/profile-registry.js';
import type { StoredProfile } from './profiles/profile.js';
import { ClientRegistry } from './registry/clients.js';
import type { Client } from './registry/clients.js';
import {
  checkClientIdIsFree,
  checkMfaPolicyHasVerifier,
  checkIntrospectionClientIdIsFree,
  warnIfAuth0SdkCannotRefresh,
} from './registry/registration-checks.js';
import type { RegistrationContext } from './registry/registration-checks.js';
import { ResourceServerRegistry } from './registry/resource-servers.js';
import type { ResourceServer } from './registry/resource-servers.js';
import { MemoryActionCacheStore } from './sandbox/capabilities/action-cache.js';
import { ExecutionGate } from './sandbox/execution-gate.js';
import { RefreshTokenService } from './refresh-tokens/refresh-token-service.js';
import { refreshTokensHandle } from './refresh-tokens/refresh-tokens-handle.js';
import { MemoryAttemptStore } from './stores/memory-attempt-store.js';
import { MemoryRefreshTokenStore } from './stores/memory-refresh-token-store.js';
import { MemoryReplayStore } from './stores/memory-replay-store.js';
import { MemoryRevokedTokenStore } from './stores/memory-revoked-token-store.js';
import { KeySet } from './tokens/key-set.js';
import type { SigningAlg } from './tokens/key-set.js';
import { keysHandle } from './tokens/keys-handle.js';
import { MemoryUserStore } from './users/memory-user-store.js';
import type { CustomTokenExchangeRouter } from './custom-token-exchange-router.js';

/** How often each instance reads the shared configuration's changes without a notification. */
const CONFIG_RESYNC_INTERVAL_MS = 1000;

/**
 * Creates the Custom Token Exchange router. Options are validated here, once: a mistake throws a
 * `TypeError` naming the option path.
 */
export function customTokenExchange(
  options: CustomTokenExchangeOptions,
): CustomTokenExchangeRouter {
  const config = parseOptions(options);
  const logger = guardedLogger(config.logger);
  const telemetry: Telemetry = new Telemetry(config.observability, {
    profileOf: (subjectTokenType): Readonly<StoredProfile> | undefined =>
      profiles.bySubjectTokenType(subjectTokenType),
  });

  // A store the host configured is called behind its observed wrapper (spans, error counts).
  const keys = new KeySet({
    ...(config.keys === undefined ? {} : { keys: config.keys }),
    ...(config.stores.keys === undefined
      ? {}
      : { store: observeStore(telemetry, 'keys', config.stores.keys) }),
    gracePeriodSeconds: config.keyRotationGracePeriod,
    publishAheadSeconds: config.jwksMaxAge,
    // Read again well within the JWKS max-age: a rotation publishes the next key that long
    // before it signs, so every instance knows it in time.
    refreshIntervalMs: Math.min(60_000, Math.max(1000, config.jwksMaxAge * 500)),
    warn: (message) => logger.warn({ component: 'keys' }, message),
  });
  if (keys.development) {
    logger.warn(
      { component: 'keys' },
      'customTokenExchange: options.keys is absent; signing with generated development keys. ' +
        'Tokens will not verify after a restart or on another instance: configure options.keys.',
    );
  }
  // Every algorithm a client or API may sign with must have a key before the first request, and
  // a retired key must stay published as long as the tokens it signed live.
  const ensureKey = (alg: SigningAlg, lifetimeSeconds: number, path: string): void => {
    try {
      keys.ensure(alg);
    } catch (err) {
      if (err instanceof TypeError) fail(path, `is ${alg}, but options.keys has no ${alg} key`);
      throw err;
    }
    keys.coverLifetime(lifetimeSeconds);
  };
  const clientGrants = new ClientGrantIndex(config.clientGrants);
  // The registries check each definition against the others: the options' lists until the
  // registries exist, the registries' own after.
  let listClients = (): readonly Client[] => config.clients;
  let listResourceServers = (): readonly ResourceServer[] => config.resourceServers;
  const registration: RegistrationContext = {
    clients: () => listClients(),
    resourceServers: () => listResourceServers(),
    mayRequest: (clientId, audience) => clientGrants.scopesFor(clientId, audience) !== null,
  };
  const clients = new ClientRegistry(
    config.clients,
    (client, path) => {
      if (client.id_token_alg !== 'HS256') {
        ensureKey(client.id_token_alg, client.id_token_lifetime, `${path}.jwt_configuration.alg`);
      }
      checkClientIdIsFree(client, path, registration);
      checkMfaPolicyHasVerifier(client, path, config.mfa !== undefined);
      warnIfAuth0SdkCannotRefresh(client, path, registration, (message) =>
        logger.warn({ component: 'registration' }, message),
      );
    },
    {
      hostAuthenticates: config.clientAuthentication !== undefined,
      ...(config.clientStore === undefined
        ? {}
        : {
            source: {
              ...config.clientStore,
              store: observeStore(telemetry, 'clients', config.clientStore.store),
            },
          }),
    },
  );
  const resourceServers = new ResourceServerRegistry(
    config.resourceServers,
    (server, path) => {
      ensureKey(server.signing_alg, server.token_lifetime, `${path}.signing_alg`);
      checkIntrospectionClientIdIsFree(server, path, registration);
      // Never let a host believe policies are enforced when nothing can resolve permissions.
      if (needsPermissions(server) && config.permissions === undefined) {
        throw new TypeError(
          `customTokenExchange: ${path} asks for role-based access control (enforce_policies ` +
            'or an _authz token_dialect) but options.permissions is absent: give it a resolve ' +
            'function or a store',
        );
      }
    },
    (identifier) => identifier === config.defaultAudience,
  );
  listClients = () => clients.defined();
  listResourceServers = () => resourceServers.list();

  // Every store the router calls, each behind its observed wrapper (spans, error counts).
  const stores = {
    replay: config.stores.replay ?? new MemoryReplayStore(),
    revokedTokens: config.stores.revokedTokens ?? new MemoryRevokedTokenStore(),
    refreshTokens: config.stores.refreshTokens ?? new MemoryRefreshTokenStore(),
    actionCache: config.stores.actionCache ?? new MemoryActionCacheStore(),
    attempts: config.attackProtection.suspiciousIpThrottling.store ?? new MemoryAttemptStore(),
    users: config.users ?? new MemoryUserStore(),
  };
  const observed = observeStores(telemetry, stores);

  const runner = new ExecutionGate({
    sandbox: config.sandbox,
    cacheStore: observed.actionCache,
    maxExecutions: config.maxExecutions,
    replayStore: observed.replay,
    onCatastrophicError: abortOnCatastrophicError(logger),
    telemetry,
  });
  // What the Management API creates lives in the shared configuration store; each instance
  // keeps a synchronous copy for the token endpoint, followed from the store's changes.
  const configSync = new ConfigSync({
    store: config.configStore,
    sealer: config.configSealer,
    resyncIntervalMs: CONFIG_RESYNC_INTERVAL_MS,
    onError: (error) =>
      logger.error(
        { component: 'config-store', err: error },
        'customTokenExchange: the shared configuration could not be read; retrying',
      ),
  });
  const actions = new ActionRegistry({
    runner,
    defaultLimits: config.actionDefaults,
    shared: configSync,
  });
  const profiles = new ProfileRegistry({ actions, shared: configSync });
  const postExchange = new PostExchangeHook(actions);
  // Every rate limiter of the default limit is created here, never while a request is handled.
  const attackProtection = new AttackProtection(
    {
      ...config.attackProtection,
      suspiciousIpThrottling: {
        ...config.attackProtection.suspiciousIpThrottling,
        store: observed.attempts,
      },
    },
    {
      profiles,
      warn: (message) => logger.warn({ component: 'attack-protection' }, message),
      shared: configSync,
    },
  );
  const configLoaded = configSync.start({ actions, profiles, settings: attackProtection });
  // Reported through ready(); never an unhandled rejection when nobody asks.
  configLoaded.catch(() => undefined);
  /** The sandbox's state and counts, for its gauges and the health check. */
  const sandboxState = () => {
    const stats = runner.stats();
    return {
      state: stats.sandboxState,
      isolates: stats.sandbox?.isolates ?? 0,
      executions: stats.executions,
      suspensions: stats.suspensions,
    };
  };
  const stopSandboxGauges = observeSandbox(telemetry, config.tenant, sandboxState);

  const tenantLogs = createTenantLogs({
    capacity: config.logCapacity,
    maxBytes: config.logCapacityBytes,
    sinks: config.logSinks,
    onSinkError: config.onLogSinkError,
    warn: (message) => logger.warn({ component: 'tenant-log' }, message),
    closeTimeoutMs: config.closeTimeoutMs,
  });
  const { log } = tenantLogs;

  const refreshTokens = new RefreshTokenService({
    store: observed.refreshTokens,
    maxFamiliesPerUserAndClient: config.maxRefreshTokensPerUserAndClient,
  });
  const grantServices: GrantServices = {
    config,
    resourceServers,
    clientGrants,
    profiles,
    actions,
    postExchange,
    runner,
    users: observed.users,
    keys,
    log,
    refreshTokens,
    replay: observed.replay,
    protection: attackProtection,
    telemetry,
  };
  const shutdown = new ShutdownGate();
  const { router, metadata, metadataHandler } = createRouter({
    config,
    keys,
    clients,
    resourceServers,
    grants: [
      tokenExchangeGrant(grantServices),
      refreshTokenGrant(grantServices),
      // Without a verifier the MFA grants are not the router's: they reach the host.
      ...(config.mfa === undefined
        ? []
        : [mfaOtpGrant(grantServices, config.mfa), mfaOobGrant(grantServices, config.mfa)]),
    ],
    refreshTokens,
    revokedTokens: observed.revokedTokens,
    replayStore: observed.replay,
    protection: attackProtection,
    log,
    telemetry,
    shutdown,
    configuration: { loaded: () => configSync.loaded, firstLoad: configLoaded },
  });
  const healthSources = {
    stores: {
      ...stores,
      keys: config.stores.keys ?? keys.store,
      ...(config.clientStore === undefined ? {} : { clients: config.clientStore.store }),
    },
    sandbox: sandboxState,
    keys,
    now: Date.now,
  };

  let closing: Promise<void> | undefined;
  async function close(): Promise<void> {
    const waiting = shutdown.inFlight;
    if (waiting > 0) {
      logger.info(
        { component: 'shutdown', inFlight: waiting, closeTimeoutMs: config.closeTimeoutMs },
        `customTokenExchange: closing; waiting for ${waiting} token requests in flight ` +
          `(${config.closeTimeoutMs} ms at most).`,
      );
    }
    const left = await shutdown.close(config.closeTimeoutMs);
    if (left > 0) {
      logger.warn(
        { component: 'shutdown', inFlight: left, closeTimeoutMs: config.closeTimeoutMs },
        `customTokenExchange: close() stopped waiting after ${config.closeTimeoutMs} ms with ` +
          `${left} token requests still in flight; the sandboxes stop under them.`,
      );
    }
    await configSync.close();
    stopSandboxGauges();
    keys.close();
    await runner.close();
    await attackProtection.close();
    await log.close();
  }

  const organizations = organizationsHandle(config.organizations.store);
  const permissions = permissionsHandle(config.permissions?.store);
  const cte: CustomTokenExchangeRouter = Object.assign(router, {
    actions: actionsHandle(actions),
    profiles: profilesHandle(profiles),
    postExchange: postExchangeHandle(postExchange),
    clients: clientsHandle(clients),
    resourceServers: resourceServersHandle(resourceServers),
    users: stores.users,
    organizations,
    permissions,
    keys: keysHandle(keys),
    attackProtection: attackProtection.handle,
    logs: tenantLogs.handle,
    refreshTokens: refreshTokensHandle(refreshTokens),
    metadata,
    authorizationServerMetadata: Object.freeze({
      path: insertedMetadataPath(config.issuer),
      handler: metadataHandler,
    }),
    ready: () => configLoaded,
    managementApi(managementOptions?: ManagementApiOptions): Router {
      return createManagementApi(
        {
          actions,
          profiles,
          attackProtection: attackProtection.handle,
          logs: tenantLogs.handle,
          organizations,
          permissions,
          permissionStore: config.permissions?.store !== undefined,
          users: stores.users,
          log,
          reportError: (error) =>
            logger.error(
              { component: 'management-api', err: error },
              'customTokenExchange: the Management API failed unexpectedly',
            ),
        },
        keys,
        config.issuer,
        managementOptions,
      );
    },
    on(type: LogEntryType, listener: LogListener) {
      tenantLogs.on(type, listener);
      return cte;
    },
    once(type: LogEntryType, listener: LogListener) {
      tenantLogs.once(type, listener);
      return cte;
    },
    off(type: LogEntryType, listener: LogListener) {
      tenantLogs.off(type, listener);
      return cte;
    },
    health: (healthOptions?: HealthCheckOptions) => checkHealth(healthSources, healthOptions),
    close(): Promise<void> {
      closing ??= close();
      return closing;
    },
  });
  return cte;
}
