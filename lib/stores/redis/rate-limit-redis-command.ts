import {
  createRedisAdapter,
  type RedisAdapter,
  type RedisAdapterOptions,
  type RedisClientLike,
} from './redis-adapter.js';
import { RedisScript } from './redis-script.js';

/** A reply rate-limit-redis understands. */
export type RateLimitRedisReply = boolean | number | string | Array<boolean | number | string>;

/** What rate-limit-redis hands its `sendCommandCluster` option. */
export interface RateLimitRedisCommand {
  key?: string;
  isReadOnly: boolean;
  command: string[];
}

/**
 * A `sendCommandCluster` for rate-limit-redis's `RedisStore` over your node-redis or ioredis
 * client (single node or cluster), so the per-profile rate limits share the Redis stores' ways:
 * every command routed by its key and bounded by the adapter's deadline (an outage then fails by
 * `onStoreError` instead of waiting on the client's reconnection), and scripts that survive an
 * outage. rate-limit-redis loads its scripts once, when the limiter is made, and keeps a failed
 * load for good (a router started while Redis was down would never count again); here
 * `SCRIPT LOAD` is answered locally with the script's SHA-1, and `EVALSHA` of such a script goes
 * through the adapter, which sends the script whole when the server does not have it.
 *
 * @example
 * const sendCommandCluster = rateLimitRedisCommand(redis);
 * profileRateLimit: {
 *   store: (name) => new RedisStore({ prefix: `cte:rl:${name}:`, sendCommandCluster }),
 * }
 */
export function rateLimitRedisCommand(
  client: RedisClientLike | RedisAdapter,
  options: RedisAdapterOptions = {},
): (details: RateLimitRedisCommand) => Promise<RateLimitRedisReply> {
  const redis = createRedisAdapter(client, options);
  const scripts = new Map<string, RedisScript>();
  return async ({ key, command }) => {
    const [name = '', ...args] = command;
    const verb = name.toUpperCase();
    if (verb === 'SCRIPT' && args[0]?.toUpperCase() === 'LOAD' && args[1] !== undefined) {
      const script = new RedisScript(args[1]);
      scripts.set(script.sha1, script);
      return script.sha1;
    }
    const script = verb === 'EVALSHA' ? scripts.get(args[0] ?? '') : undefined;
    if (script) {
      const keyCount = Number(args[1]);
      const keys = args.slice(2, 2 + keyCount);
      return (await redis.script(script, keys, args.slice(2 + keyCount))) as RateLimitRedisReply;
    }
    return (await redis.command(key, command)) as RateLimitRedisReply;
  };
}
