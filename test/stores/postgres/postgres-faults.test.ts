import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import type { LogEntry } from '../../../lib/logs/log-entry.js';
import { connectDatabase } from '../../../lib/stores/postgres/connect-database.js';
import { migrate } from '../../../lib/stores/postgres/migrate.js';
import { PostgresClientStore } from '../../../lib/stores/postgres/postgres-client-store.js';
import { PostgresKeyStore } from '../../../lib/stores/postgres/postgres-key-store.js';
import { PostgresLogSink } from '../../../lib/stores/postgres/postgres-log-sink.js';
import { PostgresRefreshTokenStore } from '../../../lib/stores/postgres/postgres-refresh-token-store.js';
import { PostgresReplayStore } from '../../../lib/stores/postgres/postgres-replay-store.js';
import { PostgresRetention } from '../../../lib/stores/postgres/postgres-retention.js';
import { PostgresUserStore } from '../../../lib/stores/postgres/postgres-user-store.js';
import { openPool } from '../../support/postgres-databases.js';
import { startPostgres, type PostgresServer } from '../../support/postgres-server.js';
import { waitUntil } from '../../support/server-process.js';
import { testFamily, testToken } from '../../support/refresh-families.js';
import { itRecoversFromServerFaults } from '../../support/store-fault-cases.js';

const TIMEOUT_MS = 400;
/** What a rejection may take beyond the deadline on a busy machine. */
const SLACK_MS = 800;

type Database = ReturnType<typeof openPool>['database'];

/** One call of each store, as a request (or the store's own job) would make it. */
const STORES: ReadonlyArray<{ name: string; call(database: Database): () => Promise<unknown> }> = [
  {
    name: 'PostgresReplayStore',
    call(database) {
      const store = new PostgresReplayStore({ database, timeoutMs: TIMEOUT_MS });
      return () => store.consume(randomUUID(), Date.now() / 1000 + 60);
    },
  },
  {
    name: 'PostgresUserStore',
    call(database) {
      const store = new PostgresUserStore({ database, timeoutMs: TIMEOUT_MS });
      return async () => {
        const user = await store.create({
          connection: 'c',
          connection_user_id: randomUUID(),
          profile: {},
        });
        return store.update(user.user_id, { recordLogin: true });
      };
    },
  },
  {
    name: 'PostgresRefreshTokenStore',
    call(database) {
      const store = new PostgresRefreshTokenStore({ database, timeoutMs: TIMEOUT_MS });
      return async () => {
        const id = `rtf_${randomUUID()}`;
        const now = Date.now();
        await store.create(testFamily(id, now), testToken(id, id, now));
        const next = testToken(`${id}-1`, id, now, 1);
        await store.compareAndSet(
          id,
          0,
          { last_used_at: now, generation: 1, rotated_at: now },
          next,
        );
        return store.find(next.token_hash);
      };
    },
  },
  {
    name: 'PostgresClientStore',
    call(database) {
      const store = new PostgresClientStore({ database, timeoutMs: TIMEOUT_MS });
      return async () => {
        const clientId = `app-${randomUUID()}`;
        await store.create({
          client_id: clientId,
          name: 'App',
          token_endpoint_auth_method: 'none',
        });
        await store.update(clientId, { name: 'Renamed' });
        return store.get(clientId);
      };
    },
  },
  {
    name: 'PostgresKeyStore',
    call(database) {
      const store = new PostgresKeyStore({ database, timeoutMs: TIMEOUT_MS });
      return async () => {
        const { revision, keys } = await store.load();
        return store.save(revision, keys);
      };
    },
  },
  {
    name: 'PostgresLogSink',
    call(database) {
      const sink = new PostgresLogSink({
        database,
        timeoutMs: TIMEOUT_MS,
        onError: () => undefined,
      });
      return async () => {
        sink.write({
          log_id: randomUUID(),
          type: 'secte',
          date: new Date().toISOString(),
        } as LogEntry);
        await sink.flush();
        return sink.list({ take: 1 });
      };
    },
  },
  {
    name: 'PostgresRetention',
    call(database) {
      const retention = new PostgresRetention({ database, timeoutMs: TIMEOUT_MS });
      return () => retention.runOnce();
    },
  },
];

describe('PostgreSQL stores when the server fails', function () {
  this.timeout(60_000);
  let server: PostgresServer | undefined;
  let db: ReturnType<typeof openPool> | undefined;
  const warnings: string[] = [];
  const originalWarn = console.warn;

  before(async () => {
    server = await startPostgres();
    db = openPool(server);
    await migrate(db.database);
    // The pool adapter warns (at most once a minute) when idle connections die with the server.
    console.warn = (message: string) => warnings.push(message);
  });

  after(async () => {
    console.warn = originalWarn;
    await server?.thaw();
    await db?.close();
    await server?.stop();
  });

  for (const store of STORES) {
    describe(store.name, () => {
      itRecoversFromServerFaults({
        server: () => server!,
        call: () => store.call(db!.database),
        serverName: 'PostgreSQL',
        timeoutMs: TIMEOUT_MS,
        slackMs: SLACK_MS,
      });
    });
  }

  describe('a query in flight when the server stops', () => {
    it('fails its call without ending the process, and the next call after the restart answers', async () => {
      const sql = connectDatabase(db!.database, { timeoutMs: 20_000 });
      const started = Date.now();
      const inFlight = sql
        .transaction(async (session) => {
          await session.query('SELECT 1');
          return session.query('SELECT pg_sleep(30)');
        })
        .then(
          () => expect.fail('the transaction resolved although its server stopped'),
          (err: unknown) => err,
        );
      await waitUntil(
        async () =>
          (await db!.query("SELECT 1 FROM pg_stat_activity WHERE query = 'SELECT pg_sleep(30)'"))
            .length === 1,
        'the sleep running on the server',
      );
      // The connection checked out for the transaction ends under it: unheard, its `error` event
      // would be an uncaught exception, which fails this test.
      await server!.kill();
      const error = await inFlight;
      // The query's own error (the server's, or the connection's end), not the failed rollback's.
      expect(error).to.be.instanceOf(Error);
      expect((error as Error).message).to.match(
        /^(Connection terminated unexpectedly|terminating connection due to immediate shutdown command)$/,
      );
      expect(Date.now() - started).to.be.below(20_000);
      await server!.restart();
      await waitUntil(async () => (await sql.query('SELECT 1'), true), 'the store answering again');
      expect(await sql.query('SELECT 1 AS one')).to.deep.equal({ rows: [{ one: 1 }], rowCount: 1 });
    });
  });

  // A describe of its own: mocha runs a block's own tests before its nested blocks.
  describe('after the restarts', () => {
    it('warned that idle connections were lost, without ending the process', () => {
      expect(warnings.some((w) => /an idle PostgreSQL connection failed/.test(w))).to.equal(true);
    });
  });
});
