import {
  checkAttemptKey,
  checkBucketArguments,
  checkReleaseArguments,
  checkReserveArguments,
  checkTakeArguments,
} from '../attempt-checks.js';
import type {
  AttemptBucket,
  AttemptHold,
  AttemptPolicy,
  AttemptReservation,
  AttemptStore,
  AttemptTake,
} from '../attempt-store.js';
import {
  createRedisAdapter,
  type RedisAdapter,
  type RedisAdapterOptions,
  type RedisClientLike,
} from './redis-adapter.js';
import { checkPrefix } from './redis-keys.js';
import { RedisScript } from './redis-script.js';

/** Options of {@link RedisAttemptStore}. */
export interface RedisAttemptStoreOptions extends RedisAdapterOptions {
  /** Your connected client (node-redis or ioredis, single node or cluster), or an adapter. */
  client: RedisClientLike | RedisAdapter;
  /** Prepended to every key; default `cte:attempts:`. Routers sharing one server share buckets. */
  prefix?: string;
  /**
   * Clock in milliseconds since the epoch. Default: the Redis server's own clock (`TIME`), the
   * one clock every instance shares, so instances' clocks need not agree. Tests pass a fake one.
   */
  now?: () => number;
}

/*
 * One hash per bucket: `a` the attempts left, `r` when they were last brought up to date, and one
 * field `h:<id>` per hold with the time it lapses. A full bucket without holds is no key at all;
 * any other expires when it would be full again and its last hold has lapsed.
 */

/**
 * KEYS: the bucket. ARGV: operation (peek, take, reserve), now ('' for the server's
 * TIME), maxAttempts, rate, hold id ('' for none), hold ttlMs. Brings the bucket up to date,
 * applies the operation, writes the bucket back (peek writes nothing) and answers
 * { remaining, next attempt at (-1 when full), taken or reserved (1 or 0) }.
 */
const BUCKET = new RedisScript(`
local op = ARGV[1]
local now
if ARGV[2] == '' then
  local time = redis.call('TIME')
  now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
else
  now = tonumber(ARGV[2])
end
local max = tonumber(ARGV[3])
local rate = tonumber(ARGV[4])
local holdId = ARGV[5]
local ttl = tonumber(ARGV[6])

local attempts, refilled = max, now
local holds, count = {}, 0
local flat = redis.call('HGETALL', KEYS[1])
for i = 1, #flat, 2 do
  local field, value = flat[i], tonumber(flat[i + 1])
  if field == 'a' then attempts = value
  elseif field == 'r' then refilled = value
  elseif value > now then
    holds[string.sub(field, 3)] = value
    count = count + 1
  end
end
if attempts > max then attempts = max end
if attempts < max then
  -- A clock that stepped back regains nothing.
  local gained = math.max(0, math.floor((now - refilled) / rate))
  attempts = math.min(max, attempts + gained)
  refilled = refilled + gained * rate
end

local flag, changed = 0, false
if op == 'take' then
  if holdId ~= '' and holds[holdId] then
    holds[holdId] = nil
    count = count - 1
  end
  if attempts >= 1 then
    -- A full bucket starts refilling from its first take.
    if attempts == max then refilled = now end
    attempts = attempts - 1
    flag = 1
  end
  changed = true
elseif op == 'reserve' then
  if holds[holdId] or attempts - count >= 1 then
    if not holds[holdId] then count = count + 1 end
    holds[holdId] = now + ttl
    flag = 1
    changed = true
  end
end

if changed then
  redis.call('DEL', KEYS[1])
  if attempts < max or count > 0 then
    local last = now
    if attempts < max then last = refilled + (max - attempts) * rate end
    local fields = { 'a', string.format('%d', attempts), 'r', string.format('%d', refilled) }
    for id, lapses in pairs(holds) do
      fields[#fields + 1] = 'h:' .. id
      fields[#fields + 1] = string.format('%d', lapses)
      if lapses > last then last = lapses end
    end
    redis.call('HSET', KEYS[1], unpack(fields))
    redis.call('PEXPIRE', KEYS[1], string.format('%d', math.max(1, last - now)))
  end
end
local nextAt = -1
if attempts < max then nextAt = refilled + rate end
return { attempts, nextAt, flag }
`);

const NAME = 'RedisAttemptStore';

/**
 * An {@link AttemptStore} on Redis that every router instance shares: suspicious IP throttling
 * then counts one IP's attempts across all of them, and an IP blocked on one is blocked on all.
 *
 * Every call is one `EVALSHA` of one script on one key (the bucket: a hash holding the attempts
 * left and the holds), so the refill, the dropping of lapsed holds, the check and the change are
 * one atomic step on the server, on the server's clock. Every bucket key has a TTL: it expires
 * once the bucket would be full again and its holds have lapsed, so a bucket nobody touches
 * costs nothing. A bucket evicted by a server short of memory would give an IP its attempts back
 * early: run the server with `maxmemory-policy noeviction` (the adapter warns otherwise).
 */
export class RedisAttemptStore implements AttemptStore {
  readonly #redis: RedisAdapter;
  readonly #prefix: string;
  readonly #now: (() => number) | undefined;

  constructor(options: RedisAttemptStoreOptions) {
    const { client, prefix = 'cte:attempts:', now, ...adapterOptions } = options ?? {};
    if (now !== undefined && typeof now !== 'function') {
      throw new TypeError(`${NAME}: options.now must be a function`);
    }
    this.#redis = createRedisAdapter(client, adapterOptions);
    this.#prefix = checkPrefix(prefix, `${NAME}: options.prefix`);
    this.#now = now;
  }

  /** {@inheritDoc AttemptStore.ping} */
  ping(): Promise<void> {
    return this.#redis.ping();
  }

  /** {@inheritDoc AttemptStore.peek} */
  async peek(key: string, policy: AttemptPolicy): Promise<AttemptBucket> {
    checkBucketArguments(NAME, key, policy);
    return (await this.#run('peek', key, policy, '', 0)).bucket;
  }

  /** {@inheritDoc AttemptStore.take} */
  async take(key: string, policy: AttemptPolicy, holdId?: string): Promise<AttemptTake> {
    checkTakeArguments(NAME, key, policy, holdId);
    const { bucket, flag } = await this.#run('take', key, policy, holdId ?? '', 0);
    return { ...bucket, taken: flag };
  }

  /** {@inheritDoc AttemptStore.reserve} */
  async reserve(
    key: string,
    policy: AttemptPolicy,
    hold: AttemptHold,
  ): Promise<AttemptReservation> {
    checkReserveArguments(NAME, key, policy, hold);
    const { bucket, flag } = await this.#run('reserve', key, policy, hold.id, hold.ttlMs);
    return { ...bucket, reserved: flag };
  }

  /** {@inheritDoc AttemptStore.release} */
  async release(key: string, holdId: string): Promise<void> {
    checkReleaseArguments(NAME, key, holdId);
    // One field of one hash: atomic as it is. A bucket left full and without holds is a key
    // the next call reads as a full bucket, until its TTL ends it.
    const redisKey = this.#prefix + key;
    await this.#redis.command(redisKey, ['HDEL', redisKey, `h:${holdId}`]);
  }

  /** {@inheritDoc AttemptStore.reset} */
  async reset(key: string): Promise<void> {
    checkAttemptKey(NAME, key);
    const redisKey = this.#prefix + key;
    await this.#redis.command(redisKey, ['DEL', redisKey]);
  }

  async #run(
    op: 'peek' | 'take' | 'reserve',
    key: string,
    policy: AttemptPolicy,
    holdId: string,
    ttlMs: number,
  ): Promise<{ bucket: AttemptBucket; flag: boolean }> {
    const now = this.#now === undefined ? '' : String(Math.floor(this.#now()));
    const reply = await this.#redis.script(
      BUCKET,
      [this.#prefix + key],
      [op, now, policy.maxAttempts, policy.rate, holdId, ttlMs],
    );
    const [remaining, nextAt, flag] = (Array.isArray(reply) ? reply : []).map(Number);
    if (remaining === undefined || nextAt === undefined || flag === undefined) {
      throw new Error(`${NAME}: unexpected reply from Redis`);
    }
    return {
      bucket: { remaining, nextAttemptAt: nextAt < 0 ? undefined : new Date(nextAt) },
      flag: flag === 1,
    };
  }
}
