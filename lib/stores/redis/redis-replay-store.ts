import { ReplayStoreFullError, type ReplayStore } from '../replay-store.js';
import { checkExpiringEntry } from '../expiring-key-arguments.js';
import {
  createRedisAdapter,
  type RedisAdapter,
  type RedisAdapterOptions,
  type RedisClientLike,
} from './redis-adapter.js';
import { writeExpiringKey } from './redis-expiring-key.js';
import { checkPrefix } from './redis-keys.js';

/** Options of {@link RedisReplayStore}. */
export interface RedisReplayStoreOptions extends RedisAdapterOptions {
  /** Your connected client (node-redis or ioredis, single node or cluster), or an adapter. */
  client: RedisClientLike | RedisAdapter;
  /** Prepended to every key; default `cte:replay:`. Routers sharing one server share keys. */
  prefix?: string;
}

/**
 * A {@link ReplayStore} on Redis that every router instance shares: `SET key 1 NX EXAT exp`, so
 * the check and the record are one atomic command, and the key expires on its own when the value
 * it remembers could no longer be valid (every key has a TTL). A key whose expiry is already
 * past is consumed as usual and forgotten at once, as the in-memory store does.
 *
 * A server out of memory (`OOM`: `maxmemory` reached with `noeviction`) rejects with
 * {@link ReplayStoreFullError}, so the router answers `503` with `Retry-After` instead of
 * accepting a value it cannot remember.
 */
export class RedisReplayStore implements ReplayStore {
  readonly #redis: RedisAdapter;
  readonly #prefix: string;

  constructor(options: RedisReplayStoreOptions) {
    const { client, prefix = 'cte:replay:', ...adapterOptions } = options ?? {};
    this.#redis = createRedisAdapter(client, adapterOptions);
    this.#prefix = checkPrefix(prefix, 'RedisReplayStore: options.prefix');
  }

  /** {@inheritDoc ReplayStore.ping} */
  ping(): Promise<void> {
    return this.#redis.ping();
  }

  /** {@inheritDoc ReplayStore.consume} */
  async consume(key: string, expiresAtSeconds: number): Promise<boolean> {
    checkExpiringEntry('RedisReplayStore.consume', 'key', key, expiresAtSeconds);
    const redisKey = this.#prefix + key;
    const reply = await writeExpiringKey(
      expiresAtSeconds,
      (exat) => this.#redis.command(redisKey, ['SET', redisKey, '1', 'NX', 'EXAT', String(exat)]),
      (message) => new ReplayStoreFullError(`replay store full: ${message}`, 1),
    );
    return reply !== null && reply !== undefined;
  }
}
