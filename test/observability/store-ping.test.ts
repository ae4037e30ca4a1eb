import { expect } from 'chai';
import { PostgresClientStore } from '../../lib/stores/postgres/postgres-client-store.js';
import { PostgresKeyStore } from '../../lib/stores/postgres/postgres-key-store.js';
import { PostgresRefreshTokenStore } from '../../lib/stores/postgres/postgres-refresh-token-store.js';
import { PostgresReplayStore } from '../../lib/stores/postgres/postgres-replay-store.js';
import { PostgresRevokedTokenStore } from '../../lib/stores/postgres/postgres-revoked-token-store.js';
import { PostgresUserStore } from '../../lib/stores/postgres/postgres-user-store.js';
import { RedisActionCacheStore } from '../../lib/stores/redis/redis-action-cache-store.js';
import { RedisAttemptStore } from '../../lib/stores/redis/redis-attempt-store.js';
import { RedisRefreshTokenStore } from '../../lib/stores/redis/redis-refresh-token-store.js';
import { RedisReplayStore } from '../../lib/stores/redis/redis-replay-store.js';
import { RedisRevokedTokenStore } from '../../lib/stores/redis/redis-revoked-token-store.js';
import type { RedisClientLike } from '../../lib/stores/redis/redis-adapter.js';
import { StoreUnavailableError } from '../../lib/stores/store-deadline.js';
import { testServer } from '../support/fixtures.js';
import { openPGlite, openPool } from '../support/postgres-databases.js';
import type { TestDatabase } from '../support/postgres-databases.js';
import { startPostgres } from '../support/postgres-server.js';
import type { PostgresServer } from '../support/postgres-server.js';
import { REDIS_CLIENTS } from '../support/redis-clients.js';
import type { TestRedisClient } from '../support/redis-clients.js';
import { startRedis, startRedisCluster } from '../support/redis-server.js';
import type { RedisClusterServer, RedisNode, RedisServer } from '../support/redis-server.js';
import { waitUntil } from '../support/server-process.js';

const TIMEOUT_MS = 300;

/** What a ping answers: `up`, or the error's class name. */
async function pingResult(store: { ping(): Promise<void> }): Promise<string> {
  try {
    await store.ping();
    return 'up';
  } catch (err) {
    expect(err).to.be.instanceOf(StoreUnavailableError);
    return (err as Error).name;
  }
}

describe('observability: store pings on real servers', function () {
  this.timeout(60_000);

  describe('Redis', () => {
    let single: RedisServer | undefined;
    let cluster: RedisClusterServer | undefined;

    before(async () => {
      [single, cluster] = await Promise.all([startRedis(), startRedisCluster()]);
    });
    after(async () => {
      for (const node of [single, ...(cluster?.nodes ?? [])]) node?.thaw();
      await Promise.all([single?.stop(), cluster?.stop()]);
    });

    for (const kind of REDIS_CLIENTS) {
      describe(kind.name, () => {
        let connection: TestRedisClient | undefined;
        before(async () => {
          connection = await kind.connect(kind.cluster ? cluster! : single!);
        });
        after(() => connection?.close());

        const stores = (client: RedisClientLike) =>
          [
            new RedisReplayStore({ client, timeoutMs: TIMEOUT_MS, warn: false }),
            new RedisActionCacheStore({ client, timeoutMs: TIMEOUT_MS, warn: false }),
          ] as const;
        // A cluster's ping asks every master: one hung node is enough to be down.
        const hung = (): RedisNode => (kind.cluster ? cluster!.nodes[1]! : single!);

        it('pings every master: up, down while a node hangs, up again once it answers', async () => {
          const { client } = connection!;
          const options = { client, timeoutMs: TIMEOUT_MS, warn: false as const };
          const all = [
            ...stores(client),
            new RedisAttemptStore(options),
            new RedisRefreshTokenStore(options),
            new RedisRevokedTokenStore(options),
          ];
          expect(await Promise.all(all.map(pingResult))).to.deep.equal(all.map(() => 'up'));
          hung().freeze();
          try {
            expect(await Promise.all(all.map(pingResult))).to.deep.equal(
              all.map(() => 'StoreUnavailableError'),
            );
          } finally {
            hung().thaw();
          }
          await waitUntil(
            async () => (await Promise.all(all.map(pingResult))).every((result) => result === 'up'),
            'Redis answering',
          );
        });

        it('makes cte.health() fail while the server hangs', async () => {
          const [replay, actionCache] = stores(connection!.client);
          const { cte } = await testServer({
            stores: { replay: replay, actionCache: actionCache },
          });
          const ready = await cte.health();
          expect([ready.stores.replay.status, ready.stores.actionCache.status]).to.deep.equal([
            'up',
            'up',
          ]);
          hung().freeze();
          try {
            const report = await cte.health();
            expect(report.status).to.equal('fail');
            expect(report.stores.replay).to.deep.include({
              status: 'down',
              error: 'StoreUnavailableError',
            });
          } finally {
            hung().thaw();
          }
          await waitUntil(async () => (await cte.health()).status === 'pass', 'a ready router');
        });
      });
    }
  });

  describe('PostgreSQL', () => {
    let server: PostgresServer | undefined;
    let pool: TestDatabase | undefined;
    let pglite: TestDatabase | undefined;

    before(async () => {
      server = await startPostgres();
      pool = openPool(server);
      pglite = await openPGlite();
    });
    after(async () => {
      await server?.thaw();
      await Promise.all([pool?.close(), pglite?.close()]);
      await server?.stop();
    });

    /** Every PostgreSQL store, on `database`. */
    const postgresStores = (database: TestDatabase['database'], timeoutMs?: number) => {
      const options = { database, ...(timeoutMs === undefined ? {} : { timeoutMs }) };
      return {
        replay: new PostgresReplayStore(options),
        users: new PostgresUserStore(options),
        refreshTokens: new PostgresRefreshTokenStore(options),
        clients: new PostgresClientStore(options),
        keys: new PostgresKeyStore(options),
        revokedTokens: new PostgresRevokedTokenStore(options),
      };
    };

    it('pings PGlite: every store is up', async () => {
      const stores = Object.values(postgresStores(pglite!.database));
      expect(await Promise.all(stores.map(pingResult))).to.deep.equal(stores.map(() => 'up'));
    });

    it('pings a pg.Pool: up, down while the server hangs, up again after', async () => {
      const stores = postgresStores(pool!.database, TIMEOUT_MS);
      const { replay, users, refreshTokens } = stores;
      const all = Object.values(stores);
      expect(await Promise.all(all.map(pingResult))).to.deep.equal(all.map(() => 'up'));
      const { cte } = await testServer({ users, stores: { replay, refreshTokens } });
      await server!.freeze();
      try {
        expect(await Promise.all(all.map(pingResult))).to.deep.equal(
          all.map(() => 'StoreUnavailableError'),
        );
        const report = await cte.health();
        expect(report.status).to.equal('fail');
        for (const name of ['replay', 'users', 'refreshTokens'] as const) {
          expect(report.stores[name], name).to.deep.include({
            status: 'down',
            error: 'StoreUnavailableError',
          });
        }
      } finally {
        await server!.thaw();
      }
      await waitUntil(async () => (await cte.health()).status === 'pass', 'a ready router');
    });
  });
});
