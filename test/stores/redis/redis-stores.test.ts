import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import { RedisStore } from 'rate-limit-redis';
import { rateLimitRedisCommand } from '../../../lib/stores/redis/rate-limit-redis-command.js';
import { createRedisAdapter } from '../../../lib/stores/redis/redis-adapter.js';
import { RedisActionCacheStore } from '../../../lib/stores/redis/redis-action-cache-store.js';
import { RedisAttemptStore } from '../../../lib/stores/redis/redis-attempt-store.js';
import { RedisRefreshTokenStore } from '../../../lib/stores/redis/redis-refresh-token-store.js';
import { RedisReplayStore } from '../../../lib/stores/redis/redis-replay-store.js';
import { RedisRevokedTokenStore } from '../../../lib/stores/redis/redis-revoked-token-store.js';
import type {
  RefreshTokenFamily,
  RefreshTokenRecord,
} from '../../../lib/stores/refresh-token-store.js';
import { ReplayStoreFullError } from '../../../lib/stores/replay-store.js';
import { RevokedTokenStoreFullError } from '../../../lib/stores/revoked-token-store.js';
import {
  actionCacheStoreContract,
  attemptStoreContract,
  refreshTokenStoreContract,
  replayStoreContract,
  revokedTokenStoreContract,
  sleepingClock,
} from '../../../lib/testing/index.js';
import { REDIS_CLIENTS, type TestRedisClient } from '../../support/redis-clients.js';
import {
  startRedis,
  startRedisCluster,
  type RedisClusterServer,
  type RedisServer,
} from '../../support/redis-server.js';
import { waitUntil } from '../../support/server-process.js';
import { rotateFamily } from '../../support/refresh-families.js';

describe('Redis stores on real servers', function () {
  this.timeout(30_000);
  let single: RedisServer | undefined;
  let cluster: RedisClusterServer | undefined;

  before(async () => {
    [single, cluster] = await Promise.all([startRedis(), startRedisCluster()]);
  });

  after(async () => {
    await Promise.all([single?.stop(), cluster?.stop()]);
  });

  for (const kind of REDIS_CLIENTS) {
    describe(kind.name, () => {
      let connection: TestRedisClient | undefined;
      const client = () => connection!.client;
      const prefix = () => `test:${randomUUID()}:`;

      before(async () => {
        connection = await kind.connect(kind.cluster ? cluster! : single!);
      });

      after(async () => {
        await connection?.close();
      });

      replayStoreContract(() => new RedisReplayStore({ client: client(), prefix: prefix() }), {
        name: 'RedisReplayStore',
      });
      revokedTokenStoreContract(
        () => new RedisRevokedTokenStore({ client: client(), prefix: prefix() }),
        { name: 'RedisRevokedTokenStore' },
      );
      actionCacheStoreContract(
        () => new RedisActionCacheStore({ client: client(), prefix: prefix() }),
        { name: 'RedisActionCacheStore' },
      );
      refreshTokenStoreContract(
        () => new RedisRefreshTokenStore({ client: client(), prefix: prefix() }),
        { name: 'RedisRefreshTokenStore' },
      );
      attemptStoreContract(
        (clock) =>
          new RedisAttemptStore({ client: client(), prefix: prefix(), now: () => clock.now }),
        { name: 'RedisAttemptStore' },
      );
      // The server's clock (TIME) once per topology: real time passes, so only one client each.
      if (kind === REDIS_CLIENTS.find((k) => k.cluster === kind.cluster)) {
        attemptStoreContract(() => new RedisAttemptStore({ client: client(), prefix: prefix() }), {
          name: 'RedisAttemptStore on the server clock',
          clock: sleepingClock(),
        });
      }

      it('runs its scripts again after the server forgot them (NOSCRIPT)', async () => {
        const store = new RedisActionCacheStore({ client: client(), prefix: prefix() });
        const expiresAt = Date.now() + 60_000;
        await store.apply('a', [
          { op: 'set', key: 'k', entry: { value: '1', expires_at: expiresAt } },
        ]);
        const nodes = kind.cluster ? cluster!.nodes : [single!];
        await Promise.all(nodes.map((node) => node.cli('SCRIPT', 'FLUSH')));
        expect(await store.load('a')).to.deep.equal({ k: { value: '1', expires_at: expiresAt } });
        await store.apply('a', [{ op: 'delete', key: 'k' }]);
        expect(await store.load('a')).to.deep.equal({});
      });

      it('counts rate-limit-redis hits through rateLimitRedisCommand, shared by two stores', async () => {
        const sendCommandCluster = rateLimitRedisCommand(client(), { warn: false });
        const shared = prefix();
        const [a, b] = [0, 1].map(() => new RedisStore({ prefix: shared, sendCommandCluster }));
        for (const store of [a!, b!]) await store.init({ windowMs: 60_000 } as never);
        const hits = [];
        for (const store of [a!, b!, a!])
          hits.push((await store.increment('203.0.113.9')).totalHits);
        expect(hits).to.deep.equal([1, 2, 3]);
        const nodes = kind.cluster ? cluster!.nodes : [single!];
        await Promise.all(nodes.map((node) => node.cli('SCRIPT', 'FLUSH')));
        expect((await b!.increment('203.0.113.9')).totalHits).to.equal(4);
        expect((await a!.get('203.0.113.9'))?.totalHits).to.equal(4);
        await a!.resetKey('203.0.113.9');
        expect((await b!.increment('203.0.113.9')).totalHits).to.equal(1);
      });

      it('reads the eviction policy of every master', async () => {
        const policies = await createRedisAdapter(client(), { warn: false }).memoryPolicies();
        expect(policies).to.deep.equal(Array(kind.cluster ? 3 : 1).fill('noeviction'));
      });
    });
  }

  describe('on one node', () => {
    let connection: TestRedisClient | undefined;
    before(async () => {
      connection = await REDIS_CLIENTS[0]!.connect(single!);
    });
    after(async () => {
      await connection?.close();
    });

    it('gives every key it writes a TTL', async () => {
      const prefix = `ttl:${randomUUID()}:`;
      const replay = new RedisReplayStore({ client: connection!.client, prefix });
      const cache = new RedisActionCacheStore({ client: connection!.client, prefix });
      const nowSeconds = Math.floor(Date.now() / 1000);
      await replay.consume('jti-1', nowSeconds + 120);
      await cache.apply('act', [
        { op: 'set', key: 'a', entry: { value: 'x', expires_at: Date.now() + 30_000 } },
        { op: 'set', key: 'b', entry: { value: 'y', expires_at: Date.now() + 90_000 } },
      ]);
      const keys = (await single!.cli('--scan', '--pattern', `${prefix}*`)).trim().split('\n');
      expect(keys.sort()).to.deep.equal([`${prefix}act`, `${prefix}jti-1`]);
      const ttl = async (key: string) => Number((await single!.cli('PTTL', key)).trim());
      expect(await ttl(`${prefix}jti-1`)).to.be.within(110_000, 121_000);
      // The cache hash lives as long as its latest entry.
      expect(await ttl(`${prefix}act`)).to.be.within(80_000, 90_000);
      await cache.apply('act', [
        { op: 'delete', key: 'a' },
        { op: 'delete', key: 'b' },
      ]);
      expect(await ttl(`${prefix}act`)).to.equal(-2);
    });

    it('gives an attempt bucket a TTL that ends when it is full again and its holds lapsed', async () => {
      const prefix = `ttl:${randomUUID()}:`;
      const store = new RedisAttemptStore({ client: connection!.client, prefix });
      const policy = { maxAttempts: 5, rate: 60_000 };
      const ttl = async () => Number((await single!.cli('PTTL', `${prefix}10.0.0.1`)).trim());
      await store.reserve('10.0.0.1', policy, { id: 'h', ttlMs: 5000 });
      expect(await ttl()).to.be.within(4000, 5000);
      await store.take('10.0.0.1', policy, 'h');
      await store.take('10.0.0.1', policy);
      // Two attempts to regain: two minutes.
      expect(await ttl()).to.be.within(110_000, 120_000);
      await store.reset('10.0.0.1');
      expect(await ttl()).to.equal(-2);
      // A full bucket whose only hold is released reads as full and still expires.
      await store.reserve('10.0.0.1', policy, { id: 'h', ttlMs: 5000 });
      await store.release('10.0.0.1', 'h');
      expect(await store.peek('10.0.0.1', policy)).to.deep.equal({
        remaining: 5,
        nextAttemptAt: undefined,
      });
      expect(await ttl()).to.be.within(1, 5000);
    });

    describe('RedisRefreshTokenStore', () => {
      const DAY = 86_400_000;
      let prefix: string;
      let store: RedisRefreshTokenStore;
      const pttl = async (key: string) => Number((await single!.cli('PTTL', key)).trim());
      const family = (id: string, fields: Partial<RefreshTokenFamily> = {}): RefreshTokenFamily => {
        const now = Date.now();
        return {
          family_id: id,
          client_id: 'app',
          user_id: 'auth0|alice',
          audience: 'https://api.example.com/',
          scope: ['offline_access'],
          rotating: true,
          leeway: 0,
          created_at: now,
          expires_at: now + DAY,
          idle_lifetime: 3600,
          last_used_at: now,
          generation: 0,
          rotated_at: null,
          revoked_at: null,
          revision: 0,
          ...fields,
        };
      };
      const token = (hash: string, id: string, generation = 0): RefreshTokenRecord => ({
        token_hash: hash,
        family_id: id,
        generation,
        created_at: Date.now(),
      });

      beforeEach(() => {
        prefix = `rt:${randomUUID()}:`;
        store = new RedisRefreshTokenStore({
          client: connection!.client,
          prefix,
          maxTokensPerFamily: 3,
          maxTtlSeconds: 2 * 86_400,
        });
      });

      it('expires a family’s keys when it ends, and the user index a week after', async () => {
        await store.create(family('rtf_1'), token('h1', 'rtf_1'));
        const keys = [`${prefix}{rtf_1}`, `${prefix}{rtf_1}:tokens`, `${prefix}{rtf_1}:order`];
        // The idle lifetime (an hour) ends first.
        for (const key of keys) expect(await pttl(key)).to.be.within(3_590_000, 3_600_000);
        expect(await pttl(`${prefix}user:auth0|alice`)).to.be.within(
          7 * DAY + 3_590_000,
          7 * DAY + 3_600_000,
        );
        // Neither lifetime: maxTtlSeconds after the last use.
        await store.create(
          family('rtf_2', { expires_at: null, idle_lifetime: null }),
          token('h2', 'rtf_2'),
        );
        expect(await pttl(`${prefix}{rtf_2}`)).to.be.within(2 * DAY - 10_000, 2 * DAY);
      });

      it('moves the expiry with each use, and keeps the user index beyond it', async () => {
        const start = family('rtf_1', { expires_at: null, idle_lifetime: 3600 });
        await store.create(start, token('h1', 'rtf_1'));
        const later = start.last_used_at + 8 * DAY;
        const update = { last_used_at: later, generation: 1, rotated_at: later };
        expect(await store.compareAndSet('rtf_1', 0, update, token('h2', 'rtf_1', 1))).to.equal(
          true,
        );
        for (const key of [`${prefix}{rtf_1}`, `${prefix}{rtf_1}:tokens`]) {
          expect(await pttl(key)).to.be.within(8 * DAY + 3_590_000, 8 * DAY + 3_600_000);
        }
        // Past the index's week of slack: the index was extended a week beyond the new end.
        expect(await pttl(`${prefix}user:auth0|alice`)).to.be.within(
          15 * DAY + 3_590_000,
          15 * DAY + 3_600_000,
        );
        expect((await store.listFamilies('auth0|alice')).map((f) => f.family_id)).to.deep.equal([
          'rtf_1',
        ]);
      });

      it('keeps at most maxTokensPerFamily tokens, forgetting the oldest rotated ones', async () => {
        await store.create(family('rtf_1'), token('g0', 'rtf_1'));
        await rotateFamily(store, 'rtf_1', 4, token, Date.now);
        const known = [];
        for (const hash of ['g0', 'g1', 'g2', 'g3', 'g4']) {
          if (await store.find(hash, 'rtf_1')) known.push(hash);
        }
        expect(known).to.deep.equal(['g2', 'g3', 'g4']);
      });

      it('skips index entries without a family, removing those older than a creation takes', async () => {
        const index = `${prefix}user:auth0|alice`;
        await store.create(family('rtf_live'), token('h1', 'rtf_live'));
        const old = `${Date.now() - 3_600_000}:rtf_gone`;
        const recent = `${Date.now()}:rtf_on_its_way`;
        await single!.cli('RPUSH', index, old, recent, `${Date.now() - 3_600_000}:{odd}`);
        expect((await store.listFamilies('auth0|alice')).map((f) => f.family_id)).to.deep.equal([
          'rtf_live',
        ]);
        const left = (await single!.cli('LRANGE', index, '0', '-1')).trim().split('\n');
        expect(left).to.have.length(2);
        expect(left[1]).to.equal(recent);
      });

      it('knows no family whose id cannot be a hash tag, and refuses to create one', async () => {
        for (const id of ['', '{x}', 'a}b']) {
          expect(await store.find('h', id)).to.equal(undefined);
          expect(await store.revokeFamily(id, Date.now())).to.equal(false);
          expect(await store.compareAndSet(id, 0, { last_used_at: Date.now() })).to.equal(false);
        }
        const error = await store.create(family('rtf_{1}'), token('h', 'rtf_{1}')).then(
          () => undefined,
          (err: unknown) => err,
        );
        expect(error).to.be.instanceOf(TypeError);
        expect(
          () => new RedisRefreshTokenStore({ client: connection!.client, maxTokensPerFamily: 1 }),
        ).to.throw(
          TypeError,
          'RedisRefreshTokenStore: options.maxTokensPerFamily must be an integer from 2 to 1000000',
        );
      });
    });

    it('refuses a new key with ReplayStoreFullError when the server is out of memory', async () => {
      const replay = new RedisReplayStore({ client: connection!.client });
      await single!.cli('CONFIG', 'SET', 'maxmemory', '1');
      try {
        const error = await replay.consume(randomUUID(), Date.now() / 1000 + 60).then(
          () => undefined,
          (err: unknown) => err,
        );
        expect(error).to.be.instanceOf(ReplayStoreFullError);
        expect((error as ReplayStoreFullError).retryAfterSeconds).to.equal(1);
        expect((error as Error).message).to.match(/^replay store full: Redis OOM/);
      } finally {
        await single!.cli('CONFIG', 'SET', 'maxmemory', '0');
      }
    });

    it('refuses a revocation with RevokedTokenStoreFullError when the server is out of memory', async () => {
      const revoked = new RedisRevokedTokenStore({ client: connection!.client });
      const jti = randomUUID();
      await single!.cli('CONFIG', 'SET', 'maxmemory', '1');
      try {
        const error = await revoked.revoke(jti, Date.now() / 1000 + 60).then(
          () => undefined,
          (err: unknown) => err,
        );
        expect(error).to.be.instanceOf(RevokedTokenStoreFullError);
        expect((error as RevokedTokenStoreFullError).retryAfterSeconds).to.equal(1);
        expect((error as Error).message).to.match(/^revoked token store full: Redis OOM/);
      } finally {
        await single!.cli('CONFIG', 'SET', 'maxmemory', '0');
      }
      expect(await revoked.isRevoked(jti)).to.equal(false);
    });

    it('keeps a revoked jti until the token expires, then forgets it', async () => {
      const prefix = `test:${randomUUID()}:`;
      const revoked = new RedisRevokedTokenStore({ client: connection!.client, prefix });
      const exp = Math.floor(Date.now() / 1000) + 120;
      await revoked.revoke('a', exp);
      await revoked.revoke('a', exp - 60);
      expect(Number((await single!.cli('EXPIRETIME', `${prefix}a`)).trim())).to.equal(exp);
      await revoked.revoke('a', exp + 60);
      expect(Number((await single!.cli('EXPIRETIME', `${prefix}a`)).trim())).to.equal(exp + 60);
      await revoked.revoke('b', Date.now() / 1000 - 1);
      expect((await single!.cli('EXISTS', `${prefix}b`)).trim()).to.equal('0');
    });

    it('refuses what is not a Redis client', () => {
      for (const notAClient of [{}, null, { sendCommand: () => undefined }, 'redis://x']) {
        expect(() => new RedisReplayStore({ client: notAClient as never })).to.throw(
          TypeError,
          'expected a Redis client: node-redis createClient()/createCluster() or an ioredis Redis/Cluster',
        );
      }
      expect(() => new RedisReplayStore({ client: connection!.client, timeoutMs: 0 })).to.throw(
        TypeError,
        'options.timeoutMs must be an integer from 1 to 600000',
      );
      expect(
        () => new RedisActionCacheStore({ client: connection!.client, prefix: 'a{b}:' }),
      ).to.throw(
        TypeError,
        'RedisActionCacheStore: options.prefix must be a string without { or }',
      );
    });
  });

  describe('the eviction-policy check', () => {
    for (const kind of REDIS_CLIENTS.filter((k) => !k.cluster)) {
      it(`warns once per ${kind.name} client when the server may evict keys`, async () => {
        const evicting = await startRedis(['--maxmemory-policy', 'allkeys-lru']);
        const connection = await kind.connect(evicting);
        try {
          const warnings: string[] = [];
          const warn = (message: string) => warnings.push(message);
          const replay = new RedisReplayStore({ client: connection.client, warn });
          const cache = new RedisActionCacheStore({ client: connection.client, warn });
          await replay.consume('a', Date.now() / 1000 + 60);
          await cache.load('x');
          await waitUntil(async () => warnings.length > 0, 'the warning');
          await replay.consume('b', Date.now() / 1000 + 60);
          await new Promise((resolve) => setImmediate(resolve));
          expect(warnings).to.have.length(1);
          expect(warnings[0]).to.match(
            /^express-custom-token-exchange: Redis maxmemory-policy is allkeys-lru: .* Set maxmemory-policy noeviction/,
          );
        } finally {
          await connection.close();
          await evicting.stop();
        }
      });
    }

    it('stays silent when the server never evicts', async () => {
      const connection = await REDIS_CLIENTS[1]!.connect(single!);
      try {
        const warnings: string[] = [];
        const replay = new RedisReplayStore({
          client: connection.client,
          warn: (message) => warnings.push(message),
        });
        await replay.consume(randomUUID(), Date.now() / 1000 + 60);
        // The check's INFO went out before the SET on the same connection: its answer is in.
        await new Promise((resolve) => setImmediate(resolve));
        expect(warnings).to.deep.equal([]);
      } finally {
        await connection.close();
      }
    });
  });
});
