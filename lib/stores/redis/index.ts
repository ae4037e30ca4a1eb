export { createRedisAdapter } from './redis-adapter.js';
export type {
  IoRedisLike,
  NodeRedisClientLike,
  NodeRedisClusterLike,
  RedisAdapter,
  RedisAdapterOptions,
  RedisClientLike,
} from './redis-adapter.js';
export type { RedisScript } from './redis-script.js';
export { RedisReplayStore } from './redis-replay-store.js';
export type { RedisReplayStoreOptions } from './redis-replay-store.js';
export { RedisActionCacheStore } from './redis-action-cache-store.js';
export type { RedisActionCacheStoreOptions } from './redis-action-cache-store.js';
export { StoreUnavailableError } from '../store-deadline.js';
export { RedisAttemptStore } from './redis-attempt-store.js';
export type { RedisAttemptStoreOptions } from './redis-attempt-store.js';
export { RedisRefreshTokenStore } from './redis-refresh-token-store.js';
export type { RedisRefreshTokenStoreOptions } from './redis-refresh-token-store.js';
export { rateLimitRedisCommand } from './rate-limit-redis-command.js';
export type { RateLimitRedisCommand, RateLimitRedisReply } from './rate-limit-redis-command.js';
export { RedisRevokedTokenStore } from './redis-revoked-token-store.js';
export type { RedisRevokedTokenStoreOptions } from './redis-revoked-token-store.js';
