import { expect } from 'chai';
import type * as PostgresStores from '../../lib/stores/postgres/index.js';
import { migrate, runMigrations } from '../../lib/stores/postgres/migrate.js';
import { MIGRATIONS } from '../../lib/stores/postgres/migrations/index.js';
import { connectDatabase } from '../../lib/stores/postgres/connect-database.js';
import { PostgresReplayStore } from '../../lib/stores/postgres/postgres-replay-store.js';
import { PostgresLogSink } from '../../lib/stores/postgres/postgres-log-sink.js';
import { PostgresRefreshTokenStore } from '../../lib/stores/postgres/postgres-refresh-token-store.js';
import { PostgresUserStore } from '../../lib/stores/postgres/postgres-user-store.js';
import { DATABASES, openPool, type TestDatabase } from '../support/postgres-databases.js';
import { startPostgres, type PostgresServer } from '../support/postgres-server.js';
import { previousVersion, type PreviousVersion } from '../support/previous-version.js';
import { testFamily, testToken } from '../support/refresh-families.js';

describe('PostgreSQL migrations', function () {
  this.timeout(30_000);
  let server: PostgresServer | undefined;
  /** One PGlite for the file: starting one takes seconds. */
  let pglite: TestDatabase | undefined;
  let schemas = 0;

  before(async () => {
    server = await startPostgres();
    pglite = await DATABASES[1]!.open(server);
  });

  after(async () => {
    await pglite?.close();
    await server?.stop();
  });

  /**
   * An empty schema of its own for one test, first on the search path: the migrations create
   * their tables there.
   */
  async function fresh(kind: (typeof DATABASES)[number]): Promise<TestDatabase> {
    const schema = `migrations_${++schemas}`;
    if (kind.name === 'PGlite') {
      await pglite!.query(`CREATE SCHEMA ${schema}`);
      await pglite!.query(`SET search_path TO ${schema}`);
      return { ...pglite!, close: async () => undefined };
    }
    const admin = openPool(server!);
    try {
      await admin.query(`CREATE SCHEMA ${schema}`);
    } finally {
      await admin.close();
    }
    return openPool(server!, 'postgres', { options: `-c search_path=${schema}` });
  }

  for (const kind of DATABASES) {
    describe(`on ${kind.name}`, () => {
      it('creates every table once, records each version, and does nothing the second time', async () => {
        const db = await fresh(kind);
        try {
          expect(await migrate(db.database)).to.deep.equal({
            applied: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10],
            version: 10,
          });
          expect(await migrate(db.database)).to.deep.equal({ applied: [], version: 10 });
          const versions = await db.query<{ version: number; name: string }>(
            'SELECT version, name FROM cte_schema_migrations ORDER BY version',
          );
          expect(versions).to.deep.equal([
            { version: 1, name: 'replay keys' },
            { version: 2, name: 'users and identities' },
            { version: 3, name: 'tenant log entries' },
            { version: 4, name: 'refresh token families' },
            { version: 5, name: 'clients' },
            { version: 6, name: 'signing keys' },
            { version: 7, name: 'organizations' },
            { version: 8, name: 'revoked tokens' },
            { version: 9, name: 'config documents' },
            { version: 10, name: 'roles and permissions' },
          ]);
          const tables = await db.query<{ table_name: string }>(
            `SELECT table_name FROM information_schema.tables
             WHERE table_schema = current_schema() ORDER BY table_name`,
          );
          expect(tables.map((t) => t.table_name)).to.deep.equal([
            'cte_clients',
            'cte_config_documents',
            'cte_config_revision',
            'cte_log_entries',
            'cte_organization_connections',
            'cte_organization_members',
            'cte_organizations',
            'cte_refresh_token_families',
            'cte_refresh_tokens',
            'cte_replay_keys',
            'cte_revoked_tokens',
            'cte_role_permissions',
            'cte_roles',
            'cte_schema_migrations',
            'cte_signing_key_schedule',
            'cte_signing_keys',
            'cte_user_identities',
            'cte_user_permissions',
            'cte_user_roles',
            'cte_users',
          ]);
        } finally {
          await db.close();
        }
      });

      it('applies only what is new, and the previous version keeps working on the new schema', async () => {
        const db = await fresh(kind);
        try {
          const sql = connectDatabase(db.database);
          // The previous version knew the first two migrations.
          expect(await runMigrations(sql, MIGRATIONS.slice(0, 2), 10_000)).to.deep.equal({
            applied: [1, 2],
            version: 2,
          });
          const users = new PostgresUserStore({ database: db.database });
          const before = await users.create({
            connection: 'c',
            connection_user_id: 'u',
            profile: { name: 'Ada' },
          });
          expect(await migrate(db.database)).to.deep.equal({
            applied: MIGRATIONS.slice(2).map((migration) => migration.version),
            version: MIGRATIONS.length,
          });
          expect(await users.getById(before.user_id)).to.deep.equal(before);
          expect(
            await new PostgresReplayStore({ database: db.database }).consume('j', 2e9),
          ).to.equal(true);
          // An older version, knowing fewer migrations, finds nothing to do on the newer schema.
          expect(await runMigrations(sql, MIGRATIONS.slice(0, 1), 10_000)).to.deep.equal({
            applied: [],
            version: MIGRATIONS.length,
          });
        } finally {
          await db.close();
        }
      });

      it('runs a migration list only when its versions count from 1 without gaps', async () => {
        const db = await fresh(kind);
        try {
          const sql = connectDatabase(db.database);
          const gap = [MIGRATIONS[0]!, MIGRATIONS[2]!];
          let error: unknown;
          try {
            await runMigrations(sql, gap, 10_000);
          } catch (err) {
            error = err;
          }
          expect((error as Error).message).to.equal(
            'migration tenant log entries has version 3, not 2',
          );
          const tables = await db.query(
            `SELECT 1 FROM information_schema.tables WHERE table_schema = current_schema()`,
          );
          expect(tables).to.deep.equal([]);
        } finally {
          await db.close();
        }
      });
    });
  }

  it('lets instances that migrate at once apply each migration exactly once', async () => {
    const db = await fresh(DATABASES[0]!);
    // Separate pools, as separate instances would have.
    const others = [1, 2, 3].map(() =>
      openPool(server!, 'postgres', { options: `-c search_path=migrations_${schemas}` }),
    );
    try {
      const results = await Promise.all(
        [db, ...others].map((instance) => migrate(instance.database)),
      );
      const applied = results.flatMap((result) => result.applied).sort((a, b) => a - b);
      expect(applied).to.deep.equal(MIGRATIONS.map((migration) => migration.version));
      expect(
        results.filter((result) => result.applied.length === MIGRATIONS.length),
      ).to.have.length(1);
      for (const result of results) expect(result.version).to.equal(MIGRATIONS.length);
    } finally {
      await Promise.all([db, ...others].map((instance) => instance.close()));
    }
  });
});

/**
 * The commit whose schema is the one before this version's: its code is what still runs on the
 * other instances during a rolling upgrade. Move it on when a release adds a migration.
 */
const PREVIOUS_SCHEMA_COMMIT = '4211ea7e0746203190be8f5e63a10631ad262fb9';

type PostgresModule = typeof PostgresStores;

describe('the previous version’s code on the current schema', function () {
  this.timeout(60_000);
  let previous: PreviousVersion | undefined;
  let old: PostgresModule;
  let server: PostgresServer | undefined;

  before(async () => {
    [previous, server] = await Promise.all([
      previousVersion(PREVIOUS_SCHEMA_COMMIT),
      startPostgres(),
    ]);
    old = await previous.load<PostgresModule>('lib/stores/postgres/index.ts');
  });

  after(async () => {
    previous?.remove();
    await server?.stop();
  });

  for (const kind of DATABASES) {
    it(`runs its stores and migrations beside the current ones on ${kind.name}`, async () => {
      const db = await kind.open(server!);
      try {
        // The rolling upgrade: the new version migrated first (expand), old instances still run.
        expect((await migrate(db.database)).version).to.equal(MIGRATIONS.length);
        expect(await old.migrate(db.database)).to.deep.equal({
          applied: [],
          version: MIGRATIONS.length,
        });

        const oldUsers = new old.PostgresUserStore({ database: db.database });
        const users = new PostgresUserStore({ database: db.database });
        const byOld = await oldUsers.create({
          connection: 'partner',
          connection_user_id: 'old-1',
          profile: { email: 'old@example.com' },
        });
        expect(await users.getById(byOld.user_id)).to.deep.equal(byOld);
        const byNew = await users.create({
          connection: 'partner',
          connection_user_id: 'new-1',
          profile: {},
        });
        const updated = await oldUsers.update(byNew.user_id, {
          recordLogin: true,
          app_metadata: { plan: 'gold' },
        });
        expect(await users.getById(byNew.user_id)).to.deep.equal(updated);

        const oldReplay = new old.PostgresReplayStore({ database: db.database });
        const replay = new PostgresReplayStore({ database: db.database });
        expect(await oldReplay.consume('jti-1', 2e9)).to.equal(true);
        expect(await replay.consume('jti-1', 2e9)).to.equal(false);

        const oldSink = new old.PostgresLogSink({ database: db.database });
        oldSink.write({
          log_id: 'old-entry',
          date: new Date().toISOString(),
          ip: '',
          details: {},
        } as never);
        await oldSink.close();
        const sink = new PostgresLogSink({ database: db.database });
        expect((await sink.list()).map((entry) => entry.log_id)).to.include('old-entry');
        await sink.close();

        // Its retention job works on its own tables and leaves the new ones alone.
        const families = new PostgresRefreshTokenStore({ database: db.database });
        await families.create(
          testFamily('rtf_kept', Date.now(), { expires_at: Date.now() - 1 }),
          testToken('h-kept', 'rtf_kept', Date.now()),
        );
        const run = await new old.PostgresRetention({ database: db.database }).runOnce();
        expect(run).to.deep.equal({ replayKeys: 0, logEntries: 0, skipped: false });
        expect((await families.find('h-kept'))?.family.family_id).to.equal('rtf_kept');
      } finally {
        await db.close();
      }
    });
  }
});
