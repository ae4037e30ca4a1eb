import { expect } from 'chai';
import { migrate, runMigrations } from '../../lib/stores/postgres/migrate.js';
import { MIGRATIONS } from '../../lib/stores/postgres/migrations/index.js';
import { connectDatabase } from '../../lib/stores/postgres/connect-database.js';
import { PostgresReplayStore } from '../../lib/stores/postgres/postgres-replay-store.js';
import { PostgresUserStore } from '../../lib/stores/postgres/postgres-user-store.js';
import { DATABASES, openPool, type TestDatabase } from '../support/postgres-databases.js';
import { startPostgres, type PostgresServer } from '../support/postgres-server.js';

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
          expect(await migrate(db.database)).to.deep.equal({ applied: [1, 2, 3], version: 3 });
          expect(await migrate(db.database)).to.deep.equal({ applied: [], version: 3 });
          const versions = await db.query<{ version: number; name: string }>(
            'SELECT version, name FROM cte_schema_migrations ORDER BY version',
          );
          expect(versions).to.deep.equal([
            { version: 1, name: 'replay keys' },
            { version: 2, name: 'users and identities' },
            { version: 3, name: 'tenant log entries' },
          ]);
          const tables = await db.query<{ table_name: string }>(
            `SELECT table_name FROM information_schema.tables
             WHERE table_schema = current_schema() ORDER BY table_name`,
          );
          expect(tables.map((t) => t.table_name)).to.deep.equal([
            'cte_log_entries',
            'cte_replay_keys',
            'cte_schema_migrations',
            'cte_user_identities',
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
          expect(await migrate(db.database)).to.deep.equal({ applied: [3], version: 3 });
          expect(await users.getById(before.user_id)).to.deep.equal(before);
          expect(
            await new PostgresReplayStore({ database: db.database }).consume('j', 2e9),
          ).to.equal(true);
          // An older version, knowing fewer migrations, finds nothing to do on the newer schema.
          expect(await runMigrations(sql, MIGRATIONS.slice(0, 1), 10_000)).to.deep.equal({
            applied: [],
            version: 3,
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
      const applied = results.flatMap((result) => result.applied).sort();
      expect(applied).to.deep.equal([1, 2, 3]);
      expect(results.filter((result) => result.applied.length === 3)).to.have.length(1);
      for (const result of results) expect(result.version).to.equal(3);
    } finally {
      await Promise.all([db, ...others].map((instance) => instance.close()));
    }
  });
});
