import {
  ACTION_CACHE_LIMITS,
  type ActionCacheStore,
  type CacheChange,
  type CacheEntry,
  isValidCacheKey,
  isValidCacheValue,
} from '../../sandbox/capabilities/action-cache.js';
import {
  createRedisAdapter,
  type RedisAdapter,
  type RedisAdapterOptions,
  type RedisClientLike,
} from './redis-adapter.js';
import { checkPrefix } from './redis-keys.js';
import { RedisScript } from './redis-script.js';

/** Options of {@link RedisActionCacheStore}. */
export interface RedisActionCacheStoreOptions extends RedisAdapterOptions {
  /** Your connected client (node-redis or ioredis, single node or cluster), or an adapter. */
  client: RedisClientLike | RedisAdapter;
  /** Prepended to every key; default `cte:cache:`. */
  prefix?: string;
  /** Clock in milliseconds since the epoch; default `Date.now`. Tests pass a fake one. */
  now?: () => number;
}

/*
 * One hash per action, one field per entry: `<expires_at>:<sequence>:<value>`. The sequence
 * numbers the writes, so the limits evict the least recently written entries first, as the
 * in-memory store does. The key's TTL is its latest entry's.
 */

/** ARGV: now. Answers the live entries as a flat [key, field, key, field, ...] array. */
const LOAD = new RedisScript(`
local now = tonumber(ARGV[1])
local flat = redis.call('HGETALL', KEYS[1])
local live = {}
for i = 1, #flat, 2 do
  local expires = tonumber(string.match(flat[i + 1], '^([^:]*):'))
  if expires and expires > now then
    live[#live + 1] = flat[i]
    live[#live + 1] = flat[i + 1]
  end
end
return live
`);

/**
 * ARGV: now, maxEntries, maxTotalBytes, then (op, key, expires_at, value) for every change.
 * Drops expired entries, applies the changes in order, evicts the least recently written entries
 * until the limits hold, and rewrites the hash with a TTL that ends with its last entry.
 */
const APPLY = new RedisScript(`
local now = tonumber(ARGV[1])
local maxEntries = tonumber(ARGV[2])
local maxBytes = tonumber(ARGV[3])
local entries = {}
local sequence = 0
local flat = redis.call('HGETALL', KEYS[1])
for i = 1, #flat, 2 do
  local expires, seq, value = string.match(flat[i + 1], '^([^:]*):(%d+):(.*)$')
  if expires and tonumber(expires) and tonumber(expires) > now then
    seq = tonumber(seq)
    entries[flat[i]] = { expires = expires, seq = seq, value = value }
    if seq > sequence then sequence = seq end
  end
end
for i = 4, #ARGV, 4 do
  if ARGV[i] == 'set' then
    sequence = sequence + 1
    entries[ARGV[i + 1]] = { expires = ARGV[i + 2], seq = sequence, value = ARGV[i + 3] }
  else
    entries[ARGV[i + 1]] = nil
  end
end
local ordered = {}
local bytes = 0
for key, entry in pairs(entries) do
  entry.key = key
  ordered[#ordered + 1] = entry
  bytes = bytes + #key + #entry.value
end
table.sort(ordered, function(a, b) return a.seq < b.seq end)
local first = 1
while #ordered - first + 1 > maxEntries or bytes > maxBytes do
  bytes = bytes - #ordered[first].key - #ordered[first].value
  first = first + 1
end
redis.call('DEL', KEYS[1])
if first > #ordered then return 0 end
local fields = {}
local last = now
for i = first, #ordered do
  local entry = ordered[i]
  fields[#fields + 1] = entry.key
  fields[#fields + 1] = entry.expires .. ':' .. entry.seq .. ':' .. entry.value
  if tonumber(entry.expires) > last then last = tonumber(entry.expires) end
end
redis.call('HSET', KEYS[1], unpack(fields))
redis.call('PEXPIRE', KEYS[1], math.ceil(last - now))
return #ordered - first + 1
`);

/** Changes sent per script call: a bound on one command's size, whatever an execution did. */
const CHANGES_PER_CALL = 500;

/**
 * An {@link ActionCacheStore} on Redis that every router instance shares, so `api.cache` written
 * by an action on one instance is read on the others. Each action's entries are one hash,
 * changed by one atomic script per execution; the limits of `api.cache` (20 entries, 8 kB of
 * keys and values, 24 hours) hold on the server even when executions on several instances write
 * at once: the least recently written entries are evicted, as in memory. The hash expires with
 * its last entry.
 *
 * Entry expiry is compared with this instance's clock, as `api.cache` computes it; instances
 * should keep their clocks in sync (NTP).
 */
export class RedisActionCacheStore implements ActionCacheStore {
  readonly #redis: RedisAdapter;
  readonly #prefix: string;
  readonly #now: () => number;

  constructor(options: RedisActionCacheStoreOptions) {
    const { client, prefix = 'cte:cache:', now = Date.now, ...adapterOptions } = options ?? {};
    if (typeof now !== 'function') {
      throw new TypeError('RedisActionCacheStore: options.now must be a function');
    }
    this.#redis = createRedisAdapter(client, adapterOptions);
    this.#prefix = checkPrefix(prefix, 'RedisActionCacheStore: options.prefix');
    this.#now = now;
  }

  /** {@inheritDoc ActionCacheStore.ping} */
  ping(): Promise<void> {
    return this.#redis.ping();
  }

  /** {@inheritDoc ActionCacheStore.load} */
  async load(actionId: string): Promise<Record<string, CacheEntry>> {
    const reply = await this.#redis.script(LOAD, [this.#key(actionId)], [this.#now()]);
    const entries: Record<string, CacheEntry> = {};
    const flat = Array.isArray(reply) ? (reply as unknown[]).map(String) : [];
    for (let i = 0; i + 1 < flat.length; i += 2) {
      const entry = parseField(flat[i + 1]!);
      if (entry !== undefined) {
        Object.defineProperty(entries, flat[i]!, {
          value: entry,
          enumerable: true,
          writable: true,
          configurable: true,
        });
      }
    }
    return entries;
  }

  /** {@inheritDoc ActionCacheStore.apply} */
  async apply(actionId: string, changes: ReadonlyArray<CacheChange>): Promise<void> {
    const now = this.#now();
    const args: string[] = [];
    for (const change of changes) {
      if (!isValidCacheKey(change.key)) continue;
      if (change.op === 'set') {
        const { value, expires_at: expiresAt } = change.entry ?? {};
        if (!isValidCacheValue(value) || typeof expiresAt !== 'number' || !(expiresAt > now)) {
          // An invalid write still replaces what was there, as in memory.
          args.push('delete', change.key, '', '');
          continue;
        }
        const expiry = Math.min(expiresAt, now + ACTION_CACHE_LIMITS.maxTtlMs);
        args.push('set', change.key, String(expiry), value);
      } else {
        args.push('delete', change.key, '', '');
      }
    }
    const key = this.#key(actionId);
    // Nothing to write: expired entries leave with the hash's TTL or the next write.
    if (args.length === 0) return;
    const limits = [now, ACTION_CACHE_LIMITS.maxEntries, ACTION_CACHE_LIMITS.maxTotalBytes];
    for (let offset = 0; offset < args.length; offset += CHANGES_PER_CALL * 4) {
      const batch = args.slice(offset, offset + CHANGES_PER_CALL * 4);
      await this.#redis.script(APPLY, [key], [...limits, ...batch]);
    }
  }

  #key(actionId: string): string {
    if (typeof actionId !== 'string' || actionId === '') {
      throw new TypeError('RedisActionCacheStore: actionId must be a non-empty string');
    }
    return this.#prefix + actionId;
  }
}

/** `<expires_at>:<sequence>:<value>` → the entry; `undefined` for anything else. */
function parseField(field: string): CacheEntry | undefined {
  const match = /^([^:]*):(\d+):/.exec(field);
  const expiresAt = match ? Number(match[1]) : NaN;
  if (!match || !Number.isFinite(expiresAt)) return undefined;
  return { value: field.slice(match[0].length), expires_at: expiresAt };
}
