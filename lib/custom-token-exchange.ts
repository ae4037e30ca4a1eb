import express from 'express';
import type { Router } from 'express';
import { createClientAuthenticator } from './client-auth/client-authenticator.js';
import { ClientGrantIndex } from './exchange/client-grants.js';
import type { ExchangeServices } from './exchange/exchange-services.js';
import { fail } from './definition-checks.js';
import { tokenErrorHandler } from './http/error-handler.js';
import { jwksRoute } from './http/jwks-route.js';
import { tokenEndpoint } from './http/token-endpoint.js';
import type { LogEntry } from './logs/log-entry.js';
import { MemoryLogSink } from './logs/memory-log-sink.js';
import { TenantLog } from './logs/tenant-log.js';
import type { CustomTokenExchangeOptions } from './options.js';
import { parseOptions } from './options.js';
import { ActionRegistry } from './profiles/action-registry.js';
import { ProfileRegistry } from './profiles/profile-registry.js';
import { ClientRegistry } from './registry/clients.js';
import { ResourceServerRegistry } from './registry/resource-servers.js';
import { MemoryActionCacheStore } from './sandbox/capabilities/action-cache.js';
import { HostCapabilities } from './sandbox/capabilities/host-capabilities.js';
import { InProcessRunner } from './sandbox/in-process-runner.js';
import { IsolatedVmRunner } from './sandbox/isolated-vm-runner.js';
import { RunnerSelector } from './sandbox/runner-selector.js';
import { MemoryReplayStore } from './stores/memory-replay-store.js';
import { KeySet } from './tokens/key-set.js';
import type { SigningAlg } from './tokens/key-set.js';
import { MemoryUserStore } from './users/memory-user-store.js';
import type { UserStore } from './users/user-store.js';

/** The router `customTokenExchange()` returns: mount it with `app.use()`; it carries the handles. */
export interface CustomTokenExchangeRouter extends Router {
  /** Actions: `create`, `get`, `list`, `update` (a draft), `deploy`, `delete`. */
  readonly actions: ActionRegistry;
  /** Token exchange profiles: `create`, `get`, `list`, `update`, `delete`. */
  readonly profiles: ProfileRegistry;
  /** Applications: `add`, `get`, `list`, `update`, `remove`. */
  readonly clients: ClientRegistry;
  /** APIs: `add`, `get`, `list`, `update`, `remove`. */
  readonly resourceServers: ResourceServerRegistry;
  /** The user store in use (the in-memory one when `options.users` was absent). */
  readonly users: UserStore;
  /** Signing keys: `jwks()` to publish elsewhere, `rotate()`, `add()`, `list()`. */
  readonly keys: KeySet;
  /** Tenant logs kept in memory, newest first. */
  readonly logs: { list(query?: Parameters<MemoryLogSink['list']>[0]): LogEntry[] };
  /** Stops sandboxes and flushes log sinks. */
  close(): Promise<void>;
}

/**
 * Creates the Custom Token Exchange router. Options are validated here, once: a mistake throws a
 * `TypeError` naming the option path.
 */
export function customTokenExchange(
  options: CustomTokenExchangeOptions,
): CustomTokenExchangeRouter {
  const config = parseOptions(options);

  const keys = new KeySet({
    ...(config.keys === undefined ? {} : { keys: config.keys }),
    gracePeriodSeconds: config.keyRotationGracePeriod,
  });
  if (config.keys === undefined) {
    console.warn(
      'customTokenExchange: options.keys is absent; signing with generated development keys. ' +
        'Tokens will not verify after a restart or on another instance: configure options.keys.',
    );
  }
  // Every algorithm a client or API may sign with must have a key before the first request.
  const ensureKey = (alg: SigningAlg, path: string): void => {
    try {
      keys.ensure(alg);
    } catch (err) {
      if (err instanceof TypeError) fail(path, `is ${alg}, but options.keys has no ${alg} key`);
      throw err;
    }
  };
  const clients = new ClientRegistry(config.clients, (client, path) => {
    if (client.id_token_alg !== 'HS256') {
      ensureKey(client.id_token_alg, `${path}.jwt_configuration.alg`);
    }
  });
  const resourceServers = new ResourceServerRegistry(
    config.resourceServers,
    (server, path) => ensureKey(server.signing_alg, `${path}.signing_alg`),
    (identifier) => identifier === config.defaultAudience,
  );

  const capabilities = config.sandbox ? new HostCapabilities() : undefined;
  const sandbox = capabilities
    ? new IsolatedVmRunner({
        capabilities,
        cacheStore: config.stores.actionCache ?? new MemoryActionCacheStore(),
      })
    : undefined;
  const runner = new RunnerSelector(new InProcessRunner(), sandbox);
  const actions = new ActionRegistry({ runner, defaultLimits: config.actionDefaults });
  const profiles = new ProfileRegistry({ actions });

  const memoryLog = new MemoryLogSink({ capacity: config.logCapacity });
  const log = new TenantLog({ sinks: [memoryLog, ...config.logSinks] });
  const users = config.users ?? new MemoryUserStore();

  const services: ExchangeServices = {
    config,
    clients,
    resourceServers,
    clientGrants: new ClientGrantIndex(config.clientGrants),
    profiles,
    actions,
    runner,
    users,
    keys,
    log,
    authenticateClient: createClientAuthenticator({
      getClient: (clientId) => clients.get(clientId),
      audiences: [...new Set([config.issuer, config.tokenEndpoint])],
      replayStore: config.stores.replay ?? new MemoryReplayStore(),
      ...(config.clientAuthentication
        ? {
            passport: {
              authenticator: config.clientAuthentication.passport,
              strategies: config.clientAuthentication.strategies,
            },
          }
        : {}),
    }),
  };

  const router = express.Router();
  router.post('/oauth/token', ...tokenEndpoint(services));
  router.get('/.well-known/jwks.json', jwksRoute(keys, config.jwksMaxAge));
  router.use(tokenErrorHandler(log));

  return Object.assign(router, {
    actions,
    profiles,
    clients,
    resourceServers,
    users,
    keys,
    logs: { list: (query?: Parameters<MemoryLogSink['list']>[0]) => memoryLog.list(query) },
    async close(): Promise<void> {
      await runner.close();
      capabilities?.close();
      await log.close();
    },
  });
}
