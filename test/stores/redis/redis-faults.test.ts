import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import type { ActionCacheStore } from '../../../lib/sandbox/capabilities/action-cache.js';
import { RedisActionCacheStore } from '../../../lib/stores/redis/redis-action-cache-store.js';
import type { RedisClientLike } from '../../../lib/stores/redis/redis-adapter.js';
import { RedisAttemptStore } from '../../../lib/stores/redis/redis-attempt-store.js';
import { RedisRefreshTokenStore } from '../../../lib/stores/redis/redis-refresh-token-store.js';
import { RedisReplayStore } from '../../../lib/stores/redis/redis-replay-store.js';
import { StoreUnavailableError } from '../../../lib/stores/store-deadline.js';
import { REDIS_CLIENTS, type TestRedisClient } from '../../support/redis-clients.js';
import {
  startRedis,
  startRedisCluster,
  type RedisClusterServer,
  type RedisServer,
} from '../../support/redis-server.js';
import { waitUntil } from '../../support/server-process.js';
import { itRecoversFromServerFaults } from '../../support/store-fault-cases.js';
import { timedRejection } from '../../support/store-faults.js';

const TIMEOUT_MS = 300;
/** What a rejection may take beyond the deadline on a busy machine. */
const SLACK_MS = 700;

/** One store call of each store, as a request would make it. */
const STORES: ReadonlyArray<{
  name: string;
  call(client: RedisClientLike): () => Promise<unknown>;
}> = [
  {
    name: 'RedisReplayStore',
    call(client) {
      const store = new RedisReplayStore({ client, timeoutMs: TIMEOUT_MS, warn: false });
      return () => store.consume(randomUUID(), Date.now() / 1000 + 60);
    },
  },
  {
    name: 'RedisAttemptStore',
    call(client) {
      const store = new RedisAttemptStore({ client, timeoutMs: TIMEOUT_MS, warn: false });
      return () => store.take(randomUUID(), { maxAttempts: 3, rate: 60_000 });
    },
  },
  {
    name: 'RedisRefreshTokenStore',
    call(client) {
      const store = new RedisRefreshTokenStore({ client, timeoutMs: TIMEOUT_MS, warn: false });
      return () => store.find('hash', `rtf_${randomUUID()}`);
    },
  },
  {
    name: 'RedisActionCacheStore',
    call(client) {
      const store: ActionCacheStore = new RedisActionCacheStore({
        client,
        timeoutMs: TIMEOUT_MS,
        warn: false,
      });
      return async () => {
        await store.apply('act', [
          { op: 'set', key: 'k', entry: { value: 'v', expires_at: Date.now() + 60_000 } },
        ]);
        return store.load('act');
      };
    },
  },
];

describe('Redis stores when the server fails', function () {
  this.timeout(60_000);

  for (const kind of REDIS_CLIENTS.filter((k) => !k.cluster)) {
    for (const store of STORES) {
      describe(`${store.name} over ${kind.name}`, () => {
        let server: RedisServer | undefined;
        let connection: TestRedisClient | undefined;

        before(async () => {
          server = await startRedis();
          connection = await kind.connect(server);
        });

        after(async () => {
          server?.thaw();
          await connection?.close();
          await server?.stop();
        });

        itRecoversFromServerFaults({
          server: () => server!,
          call: () => store.call(connection!.client),
          serverName: 'Redis',
          timeoutMs: TIMEOUT_MS,
          slackMs: SLACK_MS,
        });
      });
    }
  }

  for (const kind of REDIS_CLIENTS.filter((k) => k.cluster)) {
    describe(`every store over ${kind.name}`, () => {
      let cluster: RedisClusterServer | undefined;
      let connection: TestRedisClient | undefined;

      before(async () => {
        cluster = await startRedisCluster();
        connection = await kind.connect(cluster);
      });

      after(async () => {
        for (const node of cluster?.nodes ?? []) node.thaw();
        await connection?.close();
        await cluster?.stop();
      });

      it('rejects within the deadline while every node hangs, and answers once they are back', async () => {
        const calls = STORES.map((store) => store.call(connection!.client));
        for (const call of calls) await call();
        for (const node of cluster!.nodes) node.freeze();
        try {
          for (const call of calls) {
            const [error, elapsed] = await timedRejection(call);
            expect(error).to.be.instanceOf(StoreUnavailableError);
            expect(elapsed).to.be.within(TIMEOUT_MS - 5, TIMEOUT_MS + SLACK_MS);
          }
        } finally {
          for (const node of cluster!.nodes) node.thaw();
        }
        for (const call of calls) {
          await waitUntil(async () => (await call(), true), 'the store answering again');
        }
      });
    });
  }
});
