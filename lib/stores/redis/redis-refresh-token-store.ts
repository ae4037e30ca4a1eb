import { checkInteger } from '../store-deadline.js';
import type {
  RefreshTokenFamily,
  RefreshTokenFamilyUpdate,
  RefreshTokenRecord,
  RefreshTokenStore,
  StoredRefreshToken,
} from '../refresh-token-store.js';
import { familyEndsAt } from '../refresh-token-store.js';
import {
  createRedisAdapter,
  type RedisAdapter,
  type RedisAdapterOptions,
  type RedisClientLike,
} from './redis-adapter.js';
import { checkPrefix } from './redis-keys.js';
import { RedisScript } from './redis-script.js';

/** Options of {@link RedisRefreshTokenStore}. */
export interface RedisRefreshTokenStoreOptions extends RedisAdapterOptions {
  /** Your connected client (node-redis or ioredis, single node or cluster), or an adapter. */
  client: RedisClientLike | RedisAdapter;
  /** Prepended to every key; default `cte:rt:`. */
  prefix?: string;
  /**
   * Most tokens kept per family; default 100, at least 2. Rotated tokens are kept to recognise
   * their reuse; past this many the oldest are forgotten (a reuse of one of those goes to the
   * host as an unknown token). The newest token is never forgotten.
   */
  maxTokensPerFamily?: number;
  /**
   * Longest TTL of a key, in seconds; default 31 536 000 (a year), 60 or more. A family that ends
   * (its absolute or idle lifetime) expires when it ends; one without either (both lifetimes
   * infinite) is forgotten this long after its last use.
   */
  maxTtlSeconds?: number;
  /** Clock in milliseconds since the epoch, for the user index's clean-up; default `Date.now`. */
  now?: () => number;
}

/*
 * Keys of one family, all around the family's hash tag so one script reaches them on one node:
 *   {F}         hash: ':data' the family's fixed fields as JSON; ':user', ':expires', ':idle',
 *               ':index_until' for the scripts; every changing field (last_used_at, generation,
 *               rotated_at, revoked_at, revision, and whatever an update sets) as JSON.
 *   {F}:tokens  hash: token hash -> '<generation>:<created_at>'.
 *   {F}:order   list: token hashes, oldest first (to forget the oldest past the bound).
 * Every key of a family expires together, when the family ends.
 *
 * The user index `user:<user id>` is a list of '<created_at>:<family id>' in creation order, in
 * a slot of its own: it is written by a second call beside each creation, so it can hold an
 * entry whose family was never created (that creation failed, and its token was never handed
 * out) or has expired since. Listing skips such entries and removes those older than a creation
 * can take; it never removes a recent one, whose family may be on its way.
 */

/** Fields of the family hash that are not family fields. */
const DATA = ':data';
const INTERNAL = new Set([DATA, ':user', ':expires', ':idle', ':index_until']);
/** The family fields that change after creation (a compare-and-set's update, a revocation). */
const CHANGING = ['last_used_at', 'generation', 'rotated_at', 'revoked_at', 'revision'] as const;

/**
 * KEYS: family, tokens, order. ARGV: fixed fields JSON, user id, expires ('' for none), idle
 * seconds ('' for none), index until, expire at, token hash, token value, then changing field
 * and JSON value pairs. Refuses a family that exists already.
 */
const CREATE = new RedisScript(`
if redis.call('EXISTS', KEYS[1]) == 1 then
  return redis.error_reply('ERR the refresh token family exists already')
end
local fields = { ':data', ARGV[1], ':user', ARGV[2], ':expires', ARGV[3], ':idle', ARGV[4],
  ':index_until', ARGV[5] }
for i = 9, #ARGV do fields[#fields + 1] = ARGV[i] end
redis.call('HSET', KEYS[1], unpack(fields))
redis.call('HSET', KEYS[2], ARGV[7], ARGV[8])
redis.call('RPUSH', KEYS[3], ARGV[7])
for i = 1, 3 do redis.call('PEXPIREAT', KEYS[i], ARGV[6]) end
return 1
`);

/**
 * KEYS: family, tokens. ARGV: token hash. Answers { token value, family hash as a flat array },
 * or nil when either is unknown.
 */
const FIND = new RedisScript(`
local token = redis.call('HGET', KEYS[2], ARGV[1])
if not token then return nil end
local family = redis.call('HGETALL', KEYS[1])
if #family == 0 then return nil end
return { token, family }
`);

/**
 * KEYS: family, tokens, order. ARGV: expected revision, max tokens, max TTL ms, successor hash
 * ('' for none), successor value, then changing field and JSON value pairs. Answers {0} when
 * the revision moved on or the family is revoked or unknown; {1} when written; {1, ends, user}
 * when written and the user index must be kept until \`ends\`.
 */
const COMPARE_AND_SET = new RedisScript(`
local revision = redis.call('HGET', KEYS[1], 'revision')
if not revision or tonumber(revision) ~= tonumber(ARGV[1]) then return { 0 } end
if redis.call('HGET', KEYS[1], 'revoked_at') ~= 'null' then return { 0 } end
local fields = { 'revision', string.format('%d', tonumber(revision) + 1) }
for i = 6, #ARGV do fields[#fields + 1] = ARGV[i] end
redis.call('HSET', KEYS[1], unpack(fields))
if ARGV[4] ~= '' then
  redis.call('HSET', KEYS[2], ARGV[4], ARGV[5])
  redis.call('RPUSH', KEYS[3], ARGV[4])
  local max = tonumber(ARGV[2])
  while redis.call('LLEN', KEYS[3]) > max do
    redis.call('HDEL', KEYS[2], redis.call('LPOP', KEYS[3]))
  end
end
local used = tonumber(redis.call('HGET', KEYS[1], 'last_used_at'))
local ends = used + tonumber(ARGV[3])
local absolute = redis.call('HGET', KEYS[1], ':expires')
if absolute ~= '' then ends = math.min(ends, tonumber(absolute)) end
local idle = redis.call('HGET', KEYS[1], ':idle')
if idle ~= '' then ends = math.min(ends, used + tonumber(idle) * 1000) end
for i = 1, 3 do redis.call('PEXPIREAT', KEYS[i], string.format('%d', ends)) end
if ends > tonumber(redis.call('HGET', KEYS[1], ':index_until')) then
  return { 1, ends, redis.call('HGET', KEYS[1], ':user') }
end
return { 1 }
`);

/** KEYS: family. ARGV: revoked at (JSON). Answers 1 when it revoked the family. */
const REVOKE = new RedisScript(`
local revision = redis.call('HGET', KEYS[1], 'revision')
if not revision or redis.call('HGET', KEYS[1], 'revoked_at') ~= 'null' then return 0 end
redis.call('HSET', KEYS[1], 'revoked_at', ARGV[1],
  'revision', string.format('%d', tonumber(revision) + 1))
return 1
`);

/**
 * KEYS: user index. ARGV: entry to append ('' for none), keep until (ms). Appends the entry and
 * makes the index last at least until then, on the server's clock.
 */
const INDEX = new RedisScript(`
if ARGV[1] ~= '' then redis.call('RPUSH', KEYS[1], ARGV[1]) end
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local ttl = redis.call('PTTL', KEYS[1])
local wanted = tonumber(ARGV[2])
if ttl >= 0 and now + ttl >= wanted then return 0 end
redis.call('PEXPIREAT', KEYS[1], ARGV[2])
return 1
`);

/** How long past the family's end the user index is kept: extended at most this often. */
const INDEX_SLACK_MS = 7 * 24 * 3_600_000;
/**
 * An index entry without its family is removed once it is this old: by then its creation either
 * happened or failed (each of its calls has a deadline far below this).
 */
const STALE_ENTRY_MS = 15 * 60_000;

const NAME = 'RedisRefreshTokenStore';

/**
 * A {@link RefreshTokenStore} on Redis that every router instance shares: a refresh token issued
 * by one instance is redeemed, rotated and revoked on any.
 *
 * A family and its tokens live in keys around one hash tag, the family id (a token carries its
 * family's id, so `find` knows where to look): every call on a family is one script on one node,
 * also in Redis Cluster. {@link compareAndSet} checks the revision, writes the update, adds the
 * successor token and moves the expiry in one atomic step, so of two concurrent redemptions on any
 * instances exactly one wins. Every key expires when its family ends (`familyEndsAt`), or
 * `maxTtlSeconds` after the last use for a family without an end; a revoked family is kept until
 * then, so its tokens are still refused rather than handed to the host.
 *
 * Each user's families are listed from a per-user index in a slot of its own, written beside
 * each creation: it may briefly name a family whose creation failed (its token was never handed
 * out), or name one that has expired; listing skips those and removes the old ones.
 */
export class RedisRefreshTokenStore implements RefreshTokenStore {
  readonly #redis: RedisAdapter;
  readonly #prefix: string;
  readonly #maxTokens: number;
  readonly #maxTtlMs: number;
  readonly #now: () => number;

  constructor(options: RedisRefreshTokenStoreOptions) {
    const {
      client,
      prefix = 'cte:rt:',
      maxTokensPerFamily = 100,
      maxTtlSeconds = 31_536_000,
      now = Date.now,
      ...adapterOptions
    } = options ?? {};
    if (typeof now !== 'function') throw new TypeError(`${NAME}: options.now must be a function`);
    this.#redis = createRedisAdapter(client, adapterOptions);
    this.#prefix = checkPrefix(prefix, `${NAME}: options.prefix`);
    this.#maxTokens = checkInteger(
      maxTokensPerFamily,
      `${NAME}: options.maxTokensPerFamily`,
      2,
      1_000_000,
    );
    this.#maxTtlMs =
      checkInteger(maxTtlSeconds, `${NAME}: options.maxTtlSeconds`, 60, 3_153_600_000) * 1000;
    this.#now = now;
  }

  /** {@inheritDoc RefreshTokenStore.ping} */
  ping(): Promise<void> {
    return this.#redis.ping();
  }

  /** {@inheritDoc RefreshTokenStore.find} */
  async find(tokenHash: string, familyId: string): Promise<StoredRefreshToken | undefined> {
    if (typeof tokenHash !== 'string' || !isFamilyId(familyId)) return undefined;
    const [family, tokens] = this.#keys(familyId);
    const reply = await this.#redis.script(FIND, [family, tokens], [tokenHash]);
    if (!Array.isArray(reply)) return undefined;
    const [value, flat] = reply as [unknown, unknown];
    const [generation, createdAt] = String(value).split(':').map(Number);
    return {
      token: {
        token_hash: tokenHash,
        family_id: familyId,
        generation: generation!,
        created_at: createdAt!,
      },
      family: familyOf(flat),
    };
  }

  /** {@inheritDoc RefreshTokenStore.create} */
  async create(family: RefreshTokenFamily, token: RefreshTokenRecord): Promise<void> {
    if (!isFamilyId(family?.family_id)) {
      throw new TypeError(`${NAME}.create: family_id must be a non-empty string without { or }`);
    }
    if (token?.family_id !== family.family_id) {
      throw new TypeError(`${NAME}.create: the token belongs to another family`);
    }
    const fixed: Record<string, unknown> = { ...family };
    for (const field of CHANGING) delete fixed[field];
    const ends = Math.min(familyEndsAt(family), family.last_used_at + this.#maxTtlMs);
    const indexUntil = ends + INDEX_SLACK_MS;
    const changing = CHANGING.flatMap((field) => [field, JSON.stringify(family[field])]);
    // Both at once: when either fails, create rejects and the token is never handed out, so a
    // family without its index entry is never used, and an entry without its family is skipped.
    await Promise.all([
      this.#redis.script(CREATE, this.#keys(family.family_id), [
        JSON.stringify(fixed),
        family.user_id,
        family.expires_at === null ? '' : String(family.expires_at),
        family.idle_lifetime === null ? '' : String(family.idle_lifetime),
        String(indexUntil),
        String(Math.ceil(ends)),
        token.token_hash,
        `${token.generation}:${token.created_at}`,
        ...changing,
      ]),
      this.#index(family.user_id, `${family.created_at}:${family.family_id}`, indexUntil),
    ]);
  }

  /** {@inheritDoc RefreshTokenStore.compareAndSet} */
  async compareAndSet(
    familyId: string,
    expectedRevision: number,
    update: RefreshTokenFamilyUpdate,
    successor?: RefreshTokenRecord,
  ): Promise<boolean> {
    if (!isFamilyId(familyId)) return false;
    const changes = Object.entries(update).flatMap(([field, value]) =>
      value === undefined ? [] : [field, JSON.stringify(value)],
    );
    const reply = await this.#redis.script(COMPARE_AND_SET, this.#keys(familyId), [
      expectedRevision,
      this.#maxTokens,
      this.#maxTtlMs,
      successor?.token_hash ?? '',
      successor ? `${successor.generation}:${successor.created_at}` : '',
      ...changes,
    ]);
    const [written, ends, userId] = Array.isArray(reply) ? (reply as unknown[]) : [];
    if (Number(written) !== 1) return false;
    if (userId !== undefined) await this.#extendIndex(familyId, String(userId), Number(ends));
    return true;
  }

  /** {@inheritDoc RefreshTokenStore.revokeFamily} */
  async revokeFamily(familyId: string, revokedAt: number): Promise<boolean> {
    if (!isFamilyId(familyId)) return false;
    const [family] = this.#keys(familyId);
    const reply = await this.#redis.script(REVOKE, [family], [JSON.stringify(revokedAt)]);
    return Number(reply) === 1;
  }

  /** {@inheritDoc RefreshTokenStore.listFamilies} */
  async listFamilies(userId: string): Promise<RefreshTokenFamily[]> {
    const index = this.#userKey(userId);
    const entries = ((await this.#redis.command(index, ['LRANGE', index, '0', '-1'])) ??
      []) as unknown[];
    const now = this.#now();
    const listed = await Promise.all(
      entries.map(async (entry) => {
        const text = String(entry);
        const colon = text.indexOf(':');
        const familyId = text.slice(colon + 1);
        const [family] = this.#keys(familyId);
        const reply = isFamilyId(familyId)
          ? await this.#redis.command(family, ['HGETALL', family])
          : [];
        const flat = flatPairs(reply);
        const found = flat.length > 0 ? familyOf(flat) : undefined;
        return { text, createdAt: Number(text.slice(0, colon)), found };
      }),
    );
    const stale = listed.filter(
      ({ found, createdAt }) => !found && !(now - createdAt < STALE_ENTRY_MS),
    );
    await Promise.all(
      stale.map(({ text }) => this.#redis.command(index, ['LREM', index, '1', text])),
    );
    const seen = new Set<string>();
    const families: RefreshTokenFamily[] = [];
    for (const { found } of listed) {
      if (found && !seen.has(found.family_id)) {
        seen.add(found.family_id);
        families.push(found);
      }
    }
    return families;
  }

  /**
   * Keeps the user index at least until `ends` plus a slack, then records it in the family so the
   * next redemptions need not. Best effort: the redemption is written already, and a failure
   * here is retried by the next one (the index lasts a week beyond the family's previous end).
   */
  async #extendIndex(familyId: string, userId: string, ends: number): Promise<void> {
    const until = ends + INDEX_SLACK_MS;
    try {
      await this.#index(userId, '', until);
      const [family] = this.#keys(familyId);
      await this.#redis.command(family, ['HSET', family, ':index_until', String(until)]);
    } catch {
      // See above: the next redemption tries again.
    }
  }

  #index(userId: string, entry: string, until: number): Promise<unknown> {
    const key = this.#userKey(userId);
    return this.#redis.script(INDEX, [key], [entry, String(Math.ceil(until))]);
  }

  /** The family's hash, tokens and order keys: one hash tag, one slot. */
  #keys(familyId: string): [string, string, string] {
    const family = `${this.#prefix}{${familyId}}`;
    return [family, `${family}:tokens`, `${family}:order`];
  }

  #userKey(userId: string): string {
    if (typeof userId !== 'string' || userId === '') {
      throw new TypeError(`${NAME}: the user id must be a non-empty string`);
    }
    return `${this.#prefix}user:${userId}`;
  }
}

/** Family ids the store can hold: any other id names no family. */
function isFamilyId(value: unknown): value is string {
  return typeof value === 'string' && value !== '' && !/[{}]/.test(value);
}

/**
 * HGETALL's answer as a flat field, value list: ioredis answers one, node-redis an object (or a
 * Map, by its type mapping).
 */
function flatPairs(reply: unknown): unknown[] {
  if (Array.isArray(reply)) return reply;
  if (reply instanceof Map) return [...reply].flat();
  if (typeof reply === 'object' && reply !== null) return Object.entries(reply).flat();
  return [];
}

/** The family of a family hash (HGETALL's flat field, value list). */
function familyOf(flat: unknown): RefreshTokenFamily {
  const fields = (flat as unknown[]).map(String);
  const family: Record<string, unknown> = {};
  let fixed: Record<string, unknown> = {};
  for (let i = 0; i + 1 < fields.length; i += 2) {
    const [field, value] = [fields[i]!, fields[i + 1]!];
    if (field === DATA) fixed = JSON.parse(value) as Record<string, unknown>;
    else if (!INTERNAL.has(field)) family[field] = JSON.parse(value);
  }
  return { ...fixed, ...family } as unknown as RefreshTokenFamily;
}
