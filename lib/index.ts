export { customTokenExchange } from './custom-token-exchange.js';
export type { CustomTokenExchangeRouter } from './custom-token-exchange-router.js';
export type { CustomTokenExchangeOptions } from './options.js';
export type { StandardsOptions } from './standards-options.js';
export type { AuthorizationServerMetadata } from './http/metadata.js';
export type { Logger } from './logger.js';
export type { ManagementHandle } from './handles/management-handle.js';
export type { ActionsHandle } from './handles/actions-handle.js';
export type { ClientsHandle } from './handles/clients-handle.js';
export type { ProfilesHandle } from './handles/profiles-handle.js';
export type { ResourceServersHandle } from './handles/resource-servers-handle.js';
export type {
  Action,
  ActionDefinition,
  ActionPatch,
  ActionRuntime,
  ActionSecretInfo,
  PostExchangeActionDefinition,
  PostExchangeActionPatch,
  PostExchangeTrigger,
  SupportedTrigger,
} from './profiles/action-definition.js';
export type { Profile, ProfileDefinition, ProfilePatch, ProfileType } from './profiles/profile.js';
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
  EventClient,
  EventRequest,
  SetUserByConnectionOptions,
  UserAttributes,
} from './sandbox/action-types.js';
export type {
  PostExchangeApi,
  PostExchangeEvent,
  PostExchangeExports,
  PostExchangeHandler,
  PostExchangeUser,
  MultifactorOptions,
  MultifactorProvider,
} from './sandbox/post-exchange-types.js';
export { MULTIFACTOR_PROVIDERS } from './sandbox/post-exchange-types.js';
export type { MfaOptions, MfaVerification, MfaVerificationResult } from './mfa/mfa-options.js';
export { MFA_OOB_GRANT, MFA_OTP_GRANT } from './grants/mfa.js';
export type {
  PostExchangeHookHandle,
  PostExchangeHookState,
} from './profiles/post-exchange-hook.js';
export type {
  ClientDefinition,
  MfaPolicy,
  ClientView,
  TokenEndpointAuthMethod,
  IdTokenSigningAlg,
} from './registry/clients.js';
export type { ClientCacheOptions, ClientStore } from './registry/client-store.js';
export type { ManagedClientStore } from './registry/managed-client-store.js';
export { MemoryClientStore } from './registry/memory-client-store.js';
export { hashClientSecret, verifyClientSecret } from './registry/client-secret-hash.js';
export type { ClientSecretHashOptions } from './registry/client-secret-hash.js';
export type {
  AccessTokenSigningAlg,
  ClientGrantDefinition,
  IntrospectionCredentials,
  ResourceServerDefinition,
  TokenDialect,
  ResourceServerView,
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
export { MemoryOrganizationStore } from './organizations/memory-organization-store.js';
export { OrganizationConflictError } from './organizations/organization-store.js';
export type {
  Organization,
  OrganizationChanges,
  OrganizationConnection,
  OrganizationStore,
} from './organizations/organization-store.js';
export type { OrganizationsOptions } from './organizations/organization-options.js';
export type {
  OrganizationConnectionDefinition,
  OrganizationDefinition,
  OrganizationPatch,
  OrganizationsHandle,
} from './handles/organizations-handle.js';
export { MemoryPermissionStore } from './permissions/memory-permission-store.js';
export { RoleNameConflictError } from './permissions/permission-store.js';
export type {
  Permission,
  PermissionStore,
  Role,
  RoleChanges,
} from './permissions/permission-store.js';
export type { PermissionResolver, PermissionsOptions } from './permissions/permission-options.js';
export type { PermissionsHandle, RoleDefinition } from './handles/permissions-handle.js';
export type {
  LogEntry,
  LogEntryDetails,
  LogEntryType,
  LogSink,
  ManagementRequestDetails,
} from './logs/log-entry.js';
export { MemoryLogSink } from './logs/memory-log-sink.js';
export type { LogQuery } from './logs/log-query.js';
export type { MemoryLogSinkOptions } from './logs/memory-log-sink.js';
export type { QueryableLogSink } from './logs/log-query.js';
export { JsonLinesLogSink } from './logs/json-lines-log-sink.js';
export type {
  JsonLinesCommonOptions,
  JsonLinesFileOptions,
  JsonLinesLogSinkOptions,
  JsonLinesStreamOptions,
} from './logs/json-lines-log-sink.js';
export { FunctionLogSink } from './logs/function-log-sink.js';
export type { FunctionLogSinkOptions, LogFunction } from './logs/function-log-sink.js';
export type { LogListener } from './logs/log-events.js';
export type { LogSinkDropCount, TenantLogsHandle } from './logs/tenant-logs.js';
export type { ActionLimits } from './sandbox/action-runner.js';
export type {
  KeyInfo,
  KeyRotation,
  KeyStatus,
  PublicJwk,
  SigningAlg,
  SigningKeyInput,
} from './tokens/key-set.js';
export type { KeysHandle } from './tokens/keys-handle.js';
export type { KeySchedule, KeyStore, StoredSigningKey } from './tokens/key-store.js';
export { MemoryKeyStore } from './tokens/key-store.js';
export type { Signer } from './tokens/signer.js';
export type { ReplayStore } from './stores/replay-store.js';
export { ReplayStoreFullError } from './stores/replay-store.js';
export { StoreUnavailableError } from './stores/store-deadline.js';
export type { RevokedTokenStore } from './stores/revoked-token-store.js';
export { RevokedTokenStoreFullError } from './stores/revoked-token-store.js';
export { MemoryRevokedTokenStore } from './stores/memory-revoked-token-store.js';
export type { MemoryRevokedTokenStoreOptions } from './stores/memory-revoked-token-store.js';
export { MemoryReplayStore } from './stores/memory-replay-store.js';
export type {
  RefreshTokenFamily,
  RefreshTokenFamilyUpdate,
  RefreshTokenRecord,
  RefreshTokenStore,
  StoredRefreshToken,
} from './stores/refresh-token-store.js';
export { familyEndsAt } from './stores/refresh-token-store.js';
export { MemoryRefreshTokenStore } from './stores/memory-refresh-token-store.js';
export type { MemoryRefreshTokenStoreOptions } from './stores/memory-refresh-token-store.js';
export type {
  RefreshTokenFamilySummary,
  RefreshTokensHandle,
} from './refresh-tokens/refresh-tokens-handle.js';
export type {
  RefreshTokenRotationType,
  RefreshTokenSettingsDefinition,
} from './registry/refresh-token-settings.js';
export type {
  AttemptBucket,
  AttemptHold,
  AttemptPolicy,
  AttemptReservation,
  AttemptStore,
  AttemptTake,
} from './stores/attempt-store.js';
export { MemoryAttemptStore } from './stores/memory-attempt-store.js';
export type { MemoryAttemptStoreOptions } from './stores/memory-attempt-store.js';
export type {
  AttackProtectionOptions,
  ProfileRateLimit,
  ProfileRateLimitOptions,
  SuspiciousIpThrottlingOptions,
} from './attack-protection/attack-protection-options.js';
export type { AttackProtectionHandle } from './attack-protection/attack-protection.js';
export type {
  SuspiciousIpThrottlingPatch,
  SuspiciousIpThrottlingSettings,
} from './attack-protection/throttling-settings.js';
export type { ManagementApiOptions } from './management/management-options.js';
export { MemoryConfigStore } from './stores/memory-config-store.js';
export type {
  ConfigChanges,
  ConfigDocument,
  ConfigKind,
  ConfigSnapshot,
  ConfigStore,
  ConfigWrite,
} from './stores/config-store.js';
export type { ConfigSecretKey } from './stores/config-secrets.js';
export type { SuspiciousIpStatus } from './attack-protection/suspicious-ip-throttle.js';
export type { StoreErrorMode } from './attack-protection/store-failure-policy.js';
export type { ActionCacheStore, CacheEntry } from './sandbox/capabilities/action-cache.js';
export { MemoryActionCacheStore } from './sandbox/capabilities/action-cache.js';
export type { ObservabilityOptions } from './observability/observability-options.js';
export type {
  HealthCheckOptions,
  HealthReport,
  HealthStatus,
  KeyHealth,
  KeysHealth,
  SandboxHealth,
  StoreHealth,
  StoresHealth,
} from './observability/health.js';
export type { StoreName } from './observability/store-observation.js';
