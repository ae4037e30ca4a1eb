import { expect } from 'chai';
import { MemoryConfigStore } from '../../lib/stores/memory-config-store.js';
import { migrate } from '../../lib/stores/postgres/migrate.js';
import { PostgresConfigStore } from '../../lib/stores/postgres/postgres-config-store.js';
import { configStoreContract } from '../../lib/testing/index.js';
import { DATABASES, openPool, type TestDatabase } from '../support/postgres-databases.js';
import { startPostgres, type PostgresServer } from '../support/postgres-server.js';

configStoreContract(() => new MemoryConfigStore(), { name: 'MemoryConfigStore' });

describe('PostgresConfigStore', function () {
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

      configStoreContract(
        async () => {
          await db!.query('TRUNCATE cte_config_documents');
          await db!.query('UPDATE cte_config_revision SET revision = 0');
          return new PostgresConfigStore({ database: db!.database });
        },
        { name: 'contract' },
      );
    });
  }

  it('tells the stores of other pools (other instances) of a commit, through NOTIFY', async () => {
    const first = openPool(server!);
    const second = openPool(server!);
    await migrate(first.database);
    const writer = new PostgresConfigStore({ database: first.database });
    const reader = new PostgresConfigStore({ database: second.database });
    try {
      let told = 0;
      reader.subscribe(() => {
        told += 1;
      });
      const deadline = Date.now() + 2000;
      // LISTEN starts asynchronously: commit until the reader hears one.
      let revision = (await writer.load([])).revision;
      while (told === 0 && Date.now() < deadline) {
        revision = (await writer.commit(
          [{ kind: 'settings', id: 'x', data: { revision } }],
          revision,
        ))!;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      expect(told).to.be.greaterThan(0);
      expect((await reader.read('settings', 'x'))?.data).to.eql({ revision: revision - 1 });
    } finally {
      await reader.close();
      await writer.close();
      await first.close();
      await second.close();
    }
  });

  it('listens again after its listening connection was killed, telling subscribers', async () => {
    const pool = openPool(server!);
    const admin = openPool(server!);
    await migrate(pool.database);
    const store = new PostgresConfigStore({ database: pool.database, reconnectDelayMs: 50 });
    try {
      let told = 0;
      store.subscribe(() => {
        told += 1;
      });
      const until = async (what: () => Promise<boolean>) => {
        const deadline = Date.now() + 3000;
        while (!(await what()) && Date.now() < deadline) {
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
      };
      const listening = () =>
        admin.query<{ pid: number }>(
          "SELECT pid FROM pg_stat_activity WHERE query LIKE 'LISTEN cte_config%'",
        );
      await until(async () => (await listening()).length > 0);
      const [{ pid } = { pid: 0 }] = await listening();
      expect(pid).to.be.greaterThan(0);
      await admin.query('SELECT pg_terminate_backend($1)', [pid]);
      await until(async () => told > 0);
      expect(told, 'subscribers told after listening again').to.be.greaterThan(0);
      const before = told;
      const revision = (await store.load([])).revision;
      await store.commit([{ kind: 'settings', id: 'y', data: {} }], revision);
      await until(async () => told > before);
      expect(told).to.be.greaterThan(before);
    } finally {
      await store.close();
      await pool.close();
      await admin.close();
    }
  });
});
