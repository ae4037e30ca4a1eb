import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import { createRedisAdapter } from '../../lib/stores/redis/redis-adapter.js';
import { RedisActionCacheStore } from '../../lib/stores/redis/redis-action-cache-store.js';
import { RedisAttemptStore } from '../../lib/stores/redis/redis-attempt-store.js';
import { RedisReplayStore } from '../../lib/stores/redis/redis-replay-store.js';
import { ReplayStoreFullError } from '../../lib/stores/replay-store.js';
import {
  actionCacheStoreContract,
  attemptStoreContract,
  replayStoreContract,
  sleepingClock,
} from '../../lib/testing/index.js';
import { REDIS_CLIENTS, type TestRedisClient } from '../support/redis-clients.js';
import {
  startRedis,
  startRedisCluster,
  type RedisClusterServer,
  type RedisServer,
} from '../support/redis-server.js';
import { waitUntil } from '../support/server-process.js';

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
      actionCacheStoreContract(
        () => new RedisActionCacheStore({ client: client(), prefix: prefix() }),
        { name: 'RedisActionCacheStore' },
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
