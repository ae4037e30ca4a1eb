export { customTokenExchange } from './custom-token-exchange.js';
export type { CustomTokenExchangeRouter } from './custom-token-exchange.js';
export type { CustomTokenExchangeOptions } from './options.js';
export { OAuthError, ManagementError } from './errors.js';
export type { ManagementErrorCode } from './errors.js';
export type {
  Actor,
  ActionCommand,
  ActorTokenUser,
  ConsoleLine,
  CustomTokenExchangeApi,
  CustomTokenExchangeEvent,
  CustomTokenExchangeHandler,
  SetUserByConnectionOptions,
  UserAttributes,
} from './action-api/types.js';
export type {
  ClientDefinition,
  TokenEndpointAuthMethod,
  IdTokenSigningAlg,
} from './registry/clients.js';
export type {
  AccessTokenSigningAlg,
  ClientGrantDefinition,
  ResourceServerDefinition,
} from './registry/resource-servers.js';
export type {
  NewConnectionUser,
  User,
  UserIdentity,
  UserProfile,
  UserStore,
  UserUpdate,
} from './users/user-store.js';
export { MemoryUserStore } from './users/memory-user-store.js';
export type { LogEntry, LogEntryDetails, LogSink } from './logs/log-entry.js';
export { MemoryLogSink } from './logs/memory-log-sink.js';
export type { ActionLimits } from './sandbox/action-runner.js';
export type { ReplayStore } from './stores/replay-store.js';
export { MemoryReplayStore } from './stores/memory-replay-store.js';
export type { ActionCacheStore, CacheEntry } from './sandbox/capabilities/action-cache.js';
export { MemoryActionCacheStore } from './sandbox/capabilities/action-cache.js';
export { testAction } from './sandbox/test-action.js';
