import { expect } from 'chai';
import type { LogEntry } from '../../lib/logs/log-entry.js';
import { migrate } from '../../lib/stores/postgres/migrate.js';
import { PostgresLogSink } from '../../lib/stores/postgres/postgres-log-sink.js';
import { PostgresRefreshTokenStore } from '../../lib/stores/postgres/postgres-refresh-token-store.js';
import { PostgresReplayStore } from '../../lib/stores/postgres/postgres-replay-store.js';
import { PostgresRevokedTokenStore } from '../../lib/stores/postgres/postgres-revoked-token-store.js';
import type { RefreshTokenFamily } from '../../lib/stores/refresh-token-store.js';
import { PostgresRetention } from '../../lib/stores/postgres/postgres-retention.js';
import { eachDatabase, openPool, withPostgresServer } from '../support/postgres-databases.js';
import { testFamily, testToken } from '../support/refresh-families.js';
import { waitUntil } from '../support/server-process.js';

const NOW = Date.parse('2026-06-01T12:00:00.000Z');
const DAY = 86_400_000;

withPostgresServer('PostgresRetention', (server) => {
  eachDatabase(server, (db) => {
    /**
     * 5 expired replay keys and 2 live ones; 3 revoked access tokens that expired and 1 that has
     * not; 7 log entries older than a day and 3 newer;
     * refresh token families: 2 ended (absolute, idle), 1 revoked 31 days ago, and 3 to keep
     * (revoked a day ago, live, endless), one token each.
     */
    async function seed(): Promise<void> {
      await db().query(
        'TRUNCATE cte_replay_keys, cte_revoked_tokens, cte_log_entries, cte_refresh_tokens, cte_refresh_token_families',
      );
      const families = new PostgresRefreshTokenStore({ database: db().database });
      const family = (id: string, fields: Partial<RefreshTokenFamily>) =>
        families.create(
          testFamily(id, NOW - 40 * DAY, { expires_at: NOW + DAY, idle_lifetime: null, ...fields }),
          testToken(`h-${id}`, id, NOW - 40 * DAY),
        );
      await family('ended-absolute', { expires_at: NOW - 1 });
      await family('ended-idle', {
        expires_at: null,
        idle_lifetime: 60,
        last_used_at: NOW - 61_000,
      });
      await family('revoked-long-ago', {});
      await families.revokeFamily('revoked-long-ago', NOW - 31 * DAY);
      await family('revoked-lately', {});
      await families.revokeFamily('revoked-lately', NOW - DAY);
      await family('live', { idle_lifetime: 60, last_used_at: NOW - 59_000 });
      await family('endless', { expires_at: null });
      const replay = new PostgresReplayStore({ database: db().database, now: () => NOW });
      for (let i = 0; i < 5; i++) await replay.consume(`old-${i}`, NOW / 1000 - 60 * (i + 1));
      for (let i = 0; i < 2; i++) await replay.consume(`live-${i}`, NOW / 1000 + 60);
      const revoked = new PostgresRevokedTokenStore({
        database: db().database,
        now: () => NOW - DAY,
      });
      for (let i = 0; i < 3; i++) await revoked.revoke(`at-old-${i}`, NOW / 1000 - 60 * (i + 1));
      await revoked.revoke('at-live', NOW / 1000 + 60);
      const sink = new PostgresLogSink({ database: db().database });
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
        await db().query<{ key: string }>('SELECT key FROM cte_replay_keys ORDER BY key')
      ).map((row) => row.key),
      revoked: (
        await db().query<{ jti: string }>('SELECT jti FROM cte_revoked_tokens ORDER BY jti')
      ).map((row) => row.jti),
      logs: (
        await db().query<{ log_id: string }>('SELECT log_id FROM cte_log_entries ORDER BY seq')
      ).map((row) => row.log_id),
      families: (
        await db().query<{ family_id: string }>(
          'SELECT family_id FROM cte_refresh_token_families ORDER BY seq',
        )
      ).map((row) => row.family_id),
      tokens: (
        await db().query<{ token_hash: string }>(
          'SELECT token_hash FROM cte_refresh_tokens ORDER BY token_hash',
        )
      ).map((row) => row.token_hash),
    });

    it('deletes expired replay keys, old entries and ended or long-revoked families, in batches', async () => {
      await seed();
      const retention = new PostgresRetention({
        database: db().database,
        logRetentionMs: DAY,
        revokedFamilyRetentionMs: 30 * DAY,
        batchSize: 2,
        now: () => NOW,
      });
      expect(await retention.runOnce()).to.deep.equal({
        replayKeys: 5,
        revokedTokens: 3,
        logEntries: 7,
        refreshTokenFamilies: 3,
        skipped: false,
      });
      expect(await remaining()).to.deep.equal({
        replay: ['live-0', 'live-1'],
        revoked: ['at-live'],
        logs: ['log-7', 'log-8', 'log-9'],
        families: ['revoked-lately', 'live', 'endless'],
        tokens: ['h-endless', 'h-live', 'h-revoked-lately'],
      });
      expect(await retention.runOnce()).to.deep.equal({
        replayKeys: 0,
        revokedTokens: 0,
        logEntries: 0,
        refreshTokenFamilies: 0,
        skipped: false,
      });
    });

    it('works a backlog off over several runs, at most maxBatchesPerRun batches each', async () => {
      await seed();
      const retention = new PostgresRetention({
        database: db().database,
        logRetentionMs: DAY,
        batchSize: 2,
        maxBatchesPerRun: 1,
        now: () => NOW,
      });
      const runs = [];
      for (let i = 0; i < 4; i++) runs.push(await retention.runOnce());
      expect(
        runs.map((run) => [run.replayKeys, run.logEntries, run.refreshTokenFamilies]),
      ).to.deep.equal([
        [2, 2, 3],
        [2, 2, 0],
        [1, 2, 0],
        [0, 1, 0],
      ]);
    });

    it('keeps every log entry and revoked family that has not ended when their retention is null', async () => {
      await seed();
      const retention = new PostgresRetention({
        database: db().database,
        logRetentionMs: null,
        revokedFamilyRetentionMs: null,
        now: () => NOW,
      });
      expect(await retention.runOnce()).to.deep.equal({
        replayKeys: 5,
        revokedTokens: 3,
        logEntries: 0,
        refreshTokenFamilies: 2,
        skipped: false,
      });
      expect((await remaining()).logs).to.have.length(10);
      expect((await remaining()).families).to.deep.equal([
        'revoked-long-ago',
        'revoked-lately',
        'live',
        'endless',
      ]);
    });

    it('runs on its own timer until stopped', async () => {
      await seed();
      const retention = new PostgresRetention({
        database: db().database,
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

  describe('with several instances on one server', () => {
    let instances: Array<ReturnType<typeof openPool>> = [];

    before(async () => {
      instances = [openPool(server()), openPool(server()), openPool(server())];
      await migrate(instances[0]!.database);
    });

    after(async () => {
      await Promise.all(instances.map((instance) => instance.close()));
    });

    it('leaves the run to the instance holding the lock', async () => {
      const [first, second] = instances;
      const replay = new PostgresReplayStore({ database: first!.database, now: () => NOW });
      await first!.query('TRUNCATE cte_replay_keys, cte_revoked_tokens');
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
          revokedTokens: 0,
          logEntries: 0,
          refreshTokenFamilies: 0,
          skipped: true,
        });
        await holder.query('COMMIT');
        expect(await retention.runOnce()).to.deep.equal({
          replayKeys: 1,
          revokedTokens: 0,
          logEntries: 0,
          refreshTokenFamilies: 0,
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
    expect(
      () => new PostgresRetention({ database: database as never, revokedFamilyRetentionMs: 1.5 }),
    ).to.throw(TypeError, 'PostgresRetention: options.revokedFamilyRetentionMs must be an integer');
  });
});
