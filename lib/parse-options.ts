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
import type { LogSink } from './logs/log-entry.js';
import { DEFAULT_MEMORY_LOG_MAX_BYTES } from './logs/memory-log-sink.js';
import { DEFAULT_MAX_REFRESH_TOKENS_PER_USER_AND_CLIENT } from './refresh-tokens/refresh-token-service.js';
import { DEFAULT_MAX_EXECUTIONS } from './sandbox/execution-gate.js';
import { parseClient } from './registry/clients.js';
import { isClientStore, parseClientCacheOptions } from './registry/client-store.js';
import { parseClientGrant, parseResourceServer } from './registry/resource-servers.js';
import { ACTION_LIMIT_RANGES } from './profiles/action-definition.js';
import { MAX_TOKEN_LENGTH_CEILING } from './profiles/profile-registry.js';
import { DEFAULT_ACTION_LIMITS, type ActionLimits } from './sandbox/action-runner.js';
import { parseSigningKeys } from './tokens/key-set.js';
import type { UserStore } from './users/user-store.js';

import { parseObservabilityOptions } from './observability/observability-options.js';
import { parseOrganizationsOptions } from './organizations/organization-options.js';
import { parsePermissionsOptions } from './permissions/permission-options.js';
import { parseMfaOptions } from './mfa/mfa-options.js';
import { SecretSealer } from './stores/config-secrets.js';
import { STANDARDS_OPTION_KEYS, parseStandardsOptions } from './standards-options.js';
import { parseStoreOptions, sharedStore } from './parse-store-options.js';
import type { Config } from './options.js';
import { DEFAULT_CLOSE_TIMEOUT_MS, DEFAULT_MAX_TOKEN_LENGTH } from './options.js';
/** Where the router answers token requests, under its mount. */
const TOKEN_PATH = '/oauth/token';

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
  'maxExecutions',
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

  const { stores, configured, configStore, configSecretKeys } = parseStoreOptions(options);
  const attackProtection = parseAttackProtection(
    options.attackProtection,
    'options.attackProtection',
  );
  if (keys === undefined && configured.keys === undefined) {
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
    maxExecutions: checkOptionalInteger(
      options.maxExecutions,
      'options.maxExecutions',
      DEFAULT_MAX_EXECUTIONS,
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
    stores: configured,
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
