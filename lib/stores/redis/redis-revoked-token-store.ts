import { RevokedTokenStoreFullError, type RevokedTokenStore } from '../revoked-token-store.js';
import { checkExpiringEntry, checkExpiringKey } from '../expiring-key-arguments.js';
import {
  createRedisAdapter,
  type RedisAdapter,
  type RedisAdapterOptions,
  type RedisClientLike,
} from './redis-adapter.js';
import { writeExpiringKey } from './redis-expiring-key.js';
import { checkPrefix } from './redis-keys.js';
import { RedisScript } from './redis-script.js';

/**
 * Records a revocation in one step: a new key expires with the token; an existing one keeps the
 * later of its expiry and this one (`EXPIREAT ... GT`). An expiry already past leaves no key.
 */
const REVOKE = new RedisScript(`
if redis.call('SET', KEYS[1], '1', 'EXAT', ARGV[1], 'NX') then return 1 end
redis.call('EXPIREAT', KEYS[1], ARGV[1], 'GT')
return 0
`);

/** Options of {@link RedisRevokedTokenStore}. */
export interface RedisRevokedTokenStoreOptions extends RedisAdapterOptions {
  /** Your connected client (node-redis or ioredis, single node or cluster), or an adapter. */
  client: RedisClientLike | RedisAdapter;
  /** Prepended to every key; default `cte:revoked:`. Routers sharing one server share keys. */
  prefix?: string;
}

/**
 * A {@link RevokedTokenStore} on Redis that every router instance shares: a revoked `jti` is a
 * key that expires with the token (the later expiry is kept when a token
 * is revoked again, in one script), and a lookup is one `EXISTS`. A revocation whose expiry has
 * already passed (on the server's clock) leaves no key: the token is refused as expired anyway.
 *
 * A server out of memory (`OOM`: `maxmemory` reached with `noeviction`) rejects with
 * {@link RevokedTokenStoreFullError}, so the router answers `503` with `Retry-After` instead of
 * telling the client a token is revoked when it is not. Run it on a server that does not evict
 * keys: an evicted key makes its token active again.
 */
export class RedisRevokedTokenStore implements RevokedTokenStore {
  readonly #redis: RedisAdapter;
  readonly #prefix: string;

  constructor(options: RedisRevokedTokenStoreOptions) {
    const { client, prefix = 'cte:revoked:', ...adapterOptions } = options ?? {};
    this.#redis = createRedisAdapter(client, adapterOptions);
    this.#prefix = checkPrefix(prefix, 'RedisRevokedTokenStore: options.prefix');
  }

  /** {@inheritDoc RevokedTokenStore.ping} */
  ping(): Promise<void> {
    return this.#redis.ping();
  }

  /** {@inheritDoc RevokedTokenStore.revoke} */
  async revoke(jti: string, expiresAtSeconds: number): Promise<void> {
    checkExpiringEntry('RedisRevokedTokenStore.revoke', 'jti', jti, expiresAtSeconds);
    await writeExpiringKey(
      expiresAtSeconds,
      (exat) => this.#redis.script(REVOKE, [this.#prefix + jti], [exat]),
      (message) => new RevokedTokenStoreFullError(`revoked token store full: ${message}`, 1),
    );
  }

  /** {@inheritDoc RevokedTokenStore.isRevoked} */
  async isRevoked(jti: string): Promise<boolean> {
    checkExpiringKey('RedisRevokedTokenStore.isRevoked', 'jti', jti);
    const key = this.#prefix + jti;
    return Number(await this.#redis.command(key, ['EXISTS', key])) === 1;
  }
}
