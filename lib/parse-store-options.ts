import type { AttackProtectionConfig } from './attack-protection/attack-protection-options.js';
import { checkKnownKeys, checkObject, fail } from './definition-checks.js';
import type { Config } from './options.js';
import type { ActionCacheStore } from './sandbox/capabilities/action-cache.js';
import { MemoryActionCacheStore } from './sandbox/capabilities/action-cache.js';
import type { ConfigSecretKey } from './stores/config-secrets.js';
import { isConfigStore } from './stores/config-store.js';
import { MemoryAttemptStore } from './stores/memory-attempt-store.js';
import { MemoryConfigStore } from './stores/memory-config-store.js';
import { MemoryRefreshTokenStore } from './stores/memory-refresh-token-store.js';
import { MemoryReplayStore } from './stores/memory-replay-store.js';
import { MemoryRevokedTokenStore } from './stores/memory-revoked-token-store.js';
import type { RefreshTokenStore } from './stores/refresh-token-store.js';
import type { ReplayStore } from './stores/replay-store.js';
import type { RevokedTokenStore } from './stores/revoked-token-store.js';
import type { KeyStore } from './tokens/key-store.js';

/** `options.stores` and `options.configSecretKeys`, checked. */
export interface StoreOptions {
  /** `options.stores` as given (an empty object when absent). */
  stores: Record<string, unknown>;
  /** The stores the host configured, each checked to have its interface's methods. */
  configured: Config['stores'];
  /** `stores.config`, or a memory store of this process. */
  configStore: Config['configStore'];
  configSecretKeys: ConfigSecretKey[] | undefined;
}

/**
 * Checks `options.stores` (each store has the methods of its interface) and
 * `options.configSecretKeys` (required with a `stores.config`, which keeps secrets at rest).
 */
export function parseStoreOptions(options: Record<string, unknown>): StoreOptions {
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
  const configStore = stores.config ?? new MemoryConfigStore();
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
  const replay = stores.replay as ReplayStore | undefined;
  return {
    stores,
    configured: {
      ...(replay === undefined ? {} : { replay }),
      ...(actionCache === undefined ? {} : { actionCache }),
      ...(refreshTokens === undefined ? {} : { refreshTokens }),
      ...(keyStore === undefined ? {} : { keys: keyStore }),
      ...(revokedTokens === undefined ? {} : { revokedTokens }),
    },
    configStore,
    configSecretKeys,
  };
}

/** The option path of a store shared between instances, if one is configured. */
export function sharedStore(
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
