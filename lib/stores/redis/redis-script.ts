import { createHash } from 'node:crypto';

/**
 * A Lua script a store runs by `EVALSHA` (see `RedisAdapter.script`). Its keys must share one
 * hash slot, so a cluster can run it on one node: keys of one store call are built around one
 * `{hash tag}`.
 */
export class RedisScript {
  /** The SHA-1 Redis caches the script under. */
  readonly sha1: string;

  constructor(readonly source: string) {
    this.sha1 = createHash('sha1').update(source).digest('hex');
  }
}
