import { expect } from 'chai';
import type { LogEntry } from '../../lib/logs/log-entry.js';
import { migrate } from '../../lib/stores/postgres/migrate.js';
import { PostgresLogSink } from '../../lib/stores/postgres/postgres-log-sink.js';
import { PostgresReplayStore } from '../../lib/stores/postgres/postgres-replay-store.js';
import { PostgresRetention } from '../../lib/stores/postgres/postgres-retention.js';
import { DATABASES, openPool, type TestDatabase } from '../support/postgres-databases.js';
import { startPostgres, type PostgresServer } from '../support/postgres-server.js';
import { waitUntil } from '../support/server-process.js';

const NOW = Date.parse('2026-06-01T12:00:00.000Z');
const DAY = 86_400_000;

describe('PostgresRetention', function () {
  this.timeout(30_000);
  let server: PostgresServer | undefined;

  before(async () => {
    server = await startPostgres();
  });

  after(async () => {
    await server?.stop();
  });

  for (const kind of DATABASES) {
    describe(`on ${kind.name}`, () => {
      let db: TestDatabase | undefined;

      before(async () => {
        db = await kind.open(server!);
        await migrate(db.database);
      });

      after(async () => {
        await db?.close();
      });

      /** 5 expired replay keys and 2 live ones; 7 log entries older than a day and 3 newer. */
      async function seed(): Promise<void> {
        await db!.query('TRUNCATE cte_replay_keys, cte_log_entries');
        const replay = new PostgresReplayStore({ database: db!.database, now: () => NOW });
        for (let i = 0; i < 5; i++) await replay.consume(`old-${i}`, NOW / 1000 - 60 * (i + 1));
        for (let i = 0; i < 2; i++) await replay.consume(`live-${i}`, NOW / 1000 + 60);
        const sink = new PostgresLogSink({ database: db!.database });
        const at = (ms: number, n: number) =>
          ({
            log_id: `log-${n}`,
            date: new Date(ms).toISOString(),
            ip: '',
            details: {},
          }) as unknown as LogEntry;
        for (let n = 0; n < 7; n++) sink.write(at(NOW - DAY - (n + 1) * 1000, n));
        for (let n = 7; n < 10; n++) sink.write(at(NOW - DAY + 1000, n));
        await sink.close();
      }

      const remaining = async () => ({
        replay: (
          await db!.query<{ key: string }>('SELECT key FROM cte_replay_keys ORDER BY key')
        ).map((row) => row.key),
        logs: (
          await db!.query<{ log_id: string }>('SELECT log_id FROM cte_log_entries ORDER BY seq')
        ).map((row) => row.log_id),
      });

      it('deletes expired replay keys and entries older than the retention, in batches', async () => {
        await seed();
        const retention = new PostgresRetention({
          database: db!.database,
          logRetentionMs: DAY,
          batchSize: 2,
          now: () => NOW,
        });
        expect(await retention.runOnce()).to.deep.equal({
          replayKeys: 5,
          logEntries: 7,
          skipped: false,
        });
        expect(await remaining()).to.deep.equal({
          replay: ['live-0', 'live-1'],
          logs: ['log-7', 'log-8', 'log-9'],
        });
        expect(await retention.runOnce()).to.deep.equal({
          replayKeys: 0,
          logEntries: 0,
          skipped: false,
        });
      });

      it('works a backlog off over several runs, at most maxBatchesPerRun batches each', async () => {
        await seed();
        const retention = new PostgresRetention({
          database: db!.database,
          logRetentionMs: DAY,
          batchSize: 2,
          maxBatchesPerRun: 1,
          now: () => NOW,
        });
        const runs = [];
        for (let i = 0; i < 4; i++) runs.push(await retention.runOnce());
        expect(runs.map((run) => [run.replayKeys, run.logEntries])).to.deep.equal([
          [2, 2],
          [2, 2],
          [1, 2],
          [0, 1],
        ]);
      });

      it('keeps every log entry when logRetentionMs is null', async () => {
        await seed();
        const retention = new PostgresRetention({
          database: db!.database,
          logRetentionMs: null,
          now: () => NOW,
        });
        expect(await retention.runOnce()).to.deep.equal({
          replayKeys: 5,
          logEntries: 0,
          skipped: false,
        });
        expect((await remaining()).logs).to.have.length(10);
      });

      it('runs on its own timer until stopped', async () => {
        await seed();
        const retention = new PostgresRetention({
          database: db!.database,
          intervalMs: 1000,
          logRetentionMs: DAY,
          now: () => NOW,
        });
        retention.start();
        try {
          await waitUntil(async () => (await remaining()).replay.length === 2, 'a timed run');
        } finally {
          await retention.stop();
        }
        expect((await remaining()).logs).to.deep.equal(['log-7', 'log-8', 'log-9']);
      });
    });
  }

  describe('with several instances on one server', () => {
    let instances: Array<ReturnType<typeof openPool>> = [];

    before(async () => {
      instances = [openPool(server!), openPool(server!), openPool(server!)];
      await migrate(instances[0]!.database);
    });

    after(async () => {
      await Promise.all(instances.map((instance) => instance.close()));
    });

    it('leaves the run to the instance holding the lock', async () => {
      const [first, second] = instances;
      const replay = new PostgresReplayStore({ database: first!.database, now: () => NOW });
      await first!.query('TRUNCATE cte_replay_keys');
      await replay.consume('old', NOW / 1000 - 60);
      const holder = await first!.pool.connect();
      try {
        await holder.query('BEGIN');
        await holder.query('SELECT pg_advisory_xact_lock(hashtext($1))', [
          'express-custom-token-exchange:retention',
        ]);
        const retention = new PostgresRetention({ database: second!.database, now: () => NOW });
        expect(await retention.runOnce()).to.deep.equal({
          replayKeys: 0,
          logEntries: 0,
          skipped: true,
        });
        await holder.query('COMMIT');
        expect(await retention.runOnce()).to.deep.equal({
          replayKeys: 1,
          logEntries: 0,
          skipped: false,
        });
      } finally {
        holder.release();
      }
    });

    it('deletes each row once when every instance runs the job at once', async () => {
      await instances[0]!.query('TRUNCATE cte_replay_keys');
      await instances[0]!.query(
        `INSERT INTO cte_replay_keys (key, expires_at)
         SELECT 'k' || n, to_timestamp($1) FROM generate_series(1, 500) AS n`,
        [NOW / 1000 - 60],
      );
      const runs = await Promise.all(
        instances.map((instance) =>
          new PostgresRetention({
            database: instance.database,
            batchSize: 20,
            now: () => NOW,
          }).runOnce(),
        ),
      );
      const completed = runs.filter((run) => !run.skipped);
      expect(completed.length).to.be.at.least(1);
      const deleted = runs.reduce((total, run) => total + run.replayKeys, 0);
      const left = await instances[0]!.query('SELECT 1 FROM cte_replay_keys');
      expect(deleted + left.length).to.equal(500);
      // A run that found the lock taken leaves the rest to a later run: one finishes the job.
      await new PostgresRetention({ database: instances[1]!.database, now: () => NOW }).runOnce();
      expect(await instances[0]!.query('SELECT 1 FROM cte_replay_keys')).to.deep.equal([]);
    });
  });

  it('refuses bad options with the option named', () => {
    const database = {
      query: () => undefined,
      exec: () => undefined,
      transaction: () => undefined,
    };
    expect(() => new PostgresRetention({ database: database as never, batchSize: 0 })).to.throw(
      TypeError,
      'PostgresRetention: options.batchSize must be an integer from 1 to 100000',
    );
    expect(
      () => new PostgresRetention({ database: database as never, logRetentionMs: -1 }),
    ).to.throw(TypeError, 'PostgresRetention: options.logRetentionMs must be an integer');
  });
});
