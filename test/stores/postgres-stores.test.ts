import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import type { LogEntry } from '../../lib/logs/log-entry.js';
import { PostgresLogSink } from '../../lib/stores/postgres/postgres-log-sink.js';
import { PostgresReplayStore } from '../../lib/stores/postgres/postgres-replay-store.js';
import { PostgresRevokedTokenStore } from '../../lib/stores/postgres/postgres-revoked-token-store.js';
import { PostgresUserStore } from '../../lib/stores/postgres/postgres-user-store.js';
import { PostgresOrganizationStore } from '../../lib/stores/postgres/postgres-organization-store.js';
import { PostgresPermissionStore } from '../../lib/stores/postgres/postgres-permission-store.js';
import type { SqlDatabase } from '../../lib/stores/postgres/sql-database.js';
import { ReplayStoreFullError } from '../../lib/stores/replay-store.js';
import { RevokedTokenStoreFullError } from '../../lib/stores/revoked-token-store.js';
import {
  organizationStoreContract,
  permissionStoreContract,
  queryableLogSinkContract,
  replayStoreContract,
  revokedTokenStoreContract,
  userStoreContract,
} from '../../lib/testing/index.js';
import { eachDatabase, withPostgresServer } from '../support/postgres-databases.js';

withPostgresServer('PostgreSQL stores', (server) => {
  eachDatabase(server, (db) => {
    const sinks: PostgresLogSink[] = [];

    afterEach(async () => {
      await Promise.all(sinks.splice(0).map((sink) => sink.close()));
    });

    replayStoreContract(() => new PostgresReplayStore({ database: db().database }), {
      name: 'PostgresReplayStore',
    });
    revokedTokenStoreContract(() => new PostgresRevokedTokenStore({ database: db().database }), {
      name: 'PostgresRevokedTokenStore',
    });
    userStoreContract(() => new PostgresUserStore({ database: db().database }), {
      name: 'PostgresUserStore',
    });
    organizationStoreContract(() => new PostgresOrganizationStore({ database: db().database }), {
      name: 'PostgresOrganizationStore',
    });
    permissionStoreContract(() => new PostgresPermissionStore({ database: db().database }), {
      name: 'PostgresPermissionStore',
    });
    queryableLogSinkContract(
      async () => {
        await db().query('TRUNCATE cte_log_entries');
        const sink = new PostgresLogSink({ database: db().database });
        sinks.push(sink);
        return sink;
      },
      { name: 'PostgresLogSink' },
    );

    describe('PostgresUserStore', () => {
      it('blocks, unblocks and deletes a user with its identities', async () => {
        let now = Date.parse('2026-01-01T00:00:00.000Z');
        const store = new PostgresUserStore({ database: db().database, now: () => now });
        const conn = `conn-${randomUUID()}`;
        const created = await store.create({
          connection: conn,
          connection_user_id: 'u1',
          profile: { email: 'a@example.com' },
        });
        expect(created.created_at).to.equal('2026-01-01T00:00:00.000Z');
        now += 1500;
        const blocked = await store.setBlocked(created.user_id, true);
        expect(blocked).to.deep.equal({
          ...created,
          blocked: true,
          updated_at: '2026-01-01T00:00:01.500Z',
        });
        expect((await store.setBlocked(created.user_id, false)).blocked).to.equal(undefined);
        expect(await store.delete(created.user_id)).to.equal(true);
        expect(await store.delete(created.user_id)).to.equal(false);
        expect(await store.getByIdentity(conn, 'u1')).to.equal(undefined);
        // The identity went with the user: it can be created again.
        await store.create({ connection: conn, connection_user_id: 'u1', profile: {} });
        await store.setBlocked('nobody', true).then(
          () => expect.fail('blocked a user that does not exist'),
          (error: Error) => expect(error.message).to.equal('no user with user_id "nobody"'),
        );
      });

      it('says which key a refused create collided with', async () => {
        const store = new PostgresUserStore({ database: db().database });
        const conn = `conn-${randomUUID()}`;
        await store.create({ connection: conn, connection_user_id: 'u1', profile: {} });
        const error = await store
          .create({ connection: conn, connection_user_id: 'u1', profile: {} })
          .then(
            () => undefined,
            (err: unknown) => err as Error,
          );
        expect(error?.message).to.equal(`a user with user_id "${conn}|u1" already exists`);
      });

      it('keeps metadata of any shape, keys named like prototypes included', async () => {
        const store = new PostgresUserStore({ database: db().database });
        const metadata = JSON.parse(
          '{"__proto__": {"polluted": true}, "constructor": 1, "deep": {"a": [null, 1.5, "\u00e9"]}}',
        ) as Record<string, unknown>;
        const user = await store.create({
          connection: `conn-${randomUUID()}`,
          connection_user_id: 'u1',
          profile: {},
          app_metadata: metadata,
        });
        const read = (await store.getById(user.user_id))!;
        expect(Object.keys(read.app_metadata).sort()).to.deep.equal([
          '__proto__',
          'constructor',
          'deep',
        ]);
        expect(({} as Record<string, unknown>).polluted).to.equal(undefined);
        expect(read.app_metadata.deep).to.deep.equal({ a: [null, 1.5, '\u00e9'] });
      });
    });

    describe('PostgresLogSink', () => {
      const logEntry = (n: number, extra: Partial<LogEntry> = {}): LogEntry => ({
        log_id: `log-${n}`,
        date: new Date(Date.UTC(2026, 0, 1, 0, 0, n)).toISOString(),
        type: 'secte',
        description: 'Successful Exchange',
        client_id: 'web',
        client_name: 'Web',
        ip: '203.0.113.7',
        hostname: 'auth.example.com',
        details: {},
        ...extra,
      });

      beforeEach(async () => {
        await db().query('TRUNCATE cte_log_entries');
      });

      it('writes nothing on the request path, then whole batches', async () => {
        const sink = new PostgresLogSink({ database: db().database, batchSize: 3 });
        sinks.push(sink);
        sink.write(logEntry(1));
        sink.write(logEntry(2));
        expect(sink.buffered).to.equal(2);
        expect(await db().query('SELECT 1 FROM cte_log_entries')).to.have.length(0);
        sink.write(logEntry(3));
        sink.write(logEntry(4));
        await sink.flush();
        expect(sink.buffered).to.equal(0);
        expect((await sink.list()).map((e) => e.log_id)).to.deep.equal([
          'log-4',
          'log-3',
          'log-2',
          'log-1',
        ]);
      });

      it('keeps an entry whole, field order and odd characters included', async () => {
        const sink = new PostgresLogSink({ database: db().database });
        sinks.push(sink);
        const odd = logEntry(1, {
          user_id: 'auth0|nul\u0000byte',
          details: { console: ['line with \u0000 and \u{1F600}'], error: 'x' },
        });
        sink.write(odd);
        await sink.flush();
        const [listed] = await sink.list();
        expect(JSON.stringify(listed)).to.equal(JSON.stringify(odd));
        expect(sink.dropped).to.equal(0);
      });

      it('answers at most maxListSize entries', async () => {
        const sink = new PostgresLogSink({ database: db().database, maxListSize: 2 });
        sinks.push(sink);
        for (let n = 1; n <= 4; n++) sink.write(logEntry(n));
        await sink.flush();
        expect((await sink.list()).map((e) => e.log_id)).to.deep.equal(['log-4', 'log-3']);
        expect(await sink.list({ take: 10 })).to.have.length(2);
      });

      it('bounds its buffer, counts what it drops, and writes the rest at close', async () => {
        const errors: Array<[string, number]> = [];
        const sink = new PostgresLogSink({
          database: db().database,
          maxBufferedEntries: 2,
          onError: (error, dropped) => errors.push([error.message, dropped]),
        });
        for (let n = 1; n <= 3; n++) sink.write(logEntry(n));
        expect(sink.dropped).to.equal(1);
        await sink.close();
        sink.write(logEntry(4));
        expect(sink.dropped).to.equal(2);
        expect(errors).to.deep.equal([
          ['2 entries are waiting already', 1],
          ['the sink is closed', 1],
        ]);
        expect(await db().query('SELECT log_id FROM cte_log_entries ORDER BY seq')).to.deep.equal([
          { log_id: 'log-1' },
          { log_id: 'log-2' },
        ]);
      });

      it('refuses bad options with the option named', () => {
        expect(() => new PostgresLogSink({ database: db().database, batchSize: 0 })).to.throw(
          TypeError,
          'PostgresLogSink: options.batchSize must be an integer from 1 to 10000',
        );
        expect(() => new PostgresLogSink({ database: {} as never })).to.throw(
          TypeError,
          'options.database must be a pg.Pool, a PGlite database or a SqlDatabase',
        );
      });
    });
  });

  describe('over a SqlDatabase of your own', () => {
    /** A database whose every query fails with `code`, as a driver reports it. */
    const failing = (code: string): SqlDatabase => {
      const fail = () => Promise.reject(Object.assign(new Error(`failed with ${code}`), { code }));
      return { query: fail, exec: fail, transaction: fail };
    };

    it('turns a full disk into ReplayStoreFullError, and passes other errors on', async () => {
      const full = new PostgresReplayStore({ database: failing('53100') });
      const error = await full.consume('k', Date.now() / 1000 + 60).catch((err: unknown) => err);
      expect(error).to.be.instanceOf(ReplayStoreFullError);
      expect((error as Error).message).to.equal('replay store full: PostgreSQL failed with 53100');
      const other = new PostgresReplayStore({ database: failing('08006') });
      const passed = await other.consume('k', Date.now() / 1000 + 60).catch((err: unknown) => err);
      expect(passed).not.to.be.instanceOf(ReplayStoreFullError);
      expect((passed as Error).message).to.equal('failed with 08006');
    });

    it('turns a full disk into RevokedTokenStoreFullError, and passes other errors on', async () => {
      const full = new PostgresRevokedTokenStore({ database: failing('53200') });
      const error = await full.revoke('j', Date.now() / 1000 + 60).catch((err: unknown) => err);
      expect(error).to.be.instanceOf(RevokedTokenStoreFullError);
      expect((error as Error).message).to.equal(
        'revoked token store full: PostgreSQL failed with 53200',
      );
      const other = new PostgresRevokedTokenStore({ database: failing('08006') });
      const passed = await other.revoke('j', Date.now() / 1000 + 60).catch((err: unknown) => err);
      expect(passed).not.to.be.instanceOf(RevokedTokenStoreFullError);
      expect((passed as Error).message).to.equal('failed with 08006');
    });

    it('drops a batch the database refuses for its data instead of retrying it for ever', async () => {
      const reported: number[] = [];
      const sink = new PostgresLogSink({
        database: failing('22P02'),
        onError: (_error, dropped) => reported.push(dropped),
      });
      sink.write({ log_id: 'x' } as LogEntry);
      await sink.flush();
      expect(sink.buffered).to.equal(0);
      expect(sink.dropped).to.equal(1);
      expect(reported).to.deep.equal([1]);
    });

    it('keeps a batch the database could not take for now, and retries it', async () => {
      const reported: Array<[string, number]> = [];
      const sink = new PostgresLogSink({
        database: failing('08006'),
        onError: (error, dropped) => reported.push([error.message, dropped]),
      });
      sink.write({ log_id: 'x' } as LogEntry);
      await sink.flush().then(
        () => expect.fail('flush resolved'),
        (error: Error) => expect(error.message).to.equal('failed with 08006'),
      );
      expect(sink.buffered).to.equal(1);
      expect(sink.dropped).to.equal(0);
      await sink.close();
      expect(sink.dropped).to.equal(1);
      expect(reported).to.deep.equal([['the database did not take them', 1]]);
    });
  });
});
