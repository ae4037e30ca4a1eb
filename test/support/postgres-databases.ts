/**
 * The databases the PostgreSQL stores are tested on: a `pg.Pool` on a real server, and PGlite
 * in this process.
 */
import { PGlite } from '@electric-sql/pglite';
import pg from 'pg';
import type { DatabaseLike } from '../../lib/stores/postgres/connect-database.js';
import { migrate } from '../../lib/stores/postgres/migrate.js';
import { startPostgres, type PostgresServer } from './postgres-server.js';

export interface TestDatabase {
  readonly database: DatabaseLike;
  /** One statement, outside the stores (set-up and checks). */
  query<Row = Record<string, unknown>>(text: string, params?: unknown[]): Promise<Row[]>;
  close(): Promise<void>;
}

export interface DatabaseKind {
  readonly name: string;
  open(server: PostgresServer, databaseName?: string): Promise<TestDatabase>;
}

/** A pool on `server` (its `postgres` database unless named). */
export function openPool(
  server: PostgresServer,
  databaseName = 'postgres',
  config: pg.PoolConfig = {},
): TestDatabase & { pool: pg.Pool } {
  const pool = new pg.Pool({
    connectionString: `postgres://postgres@127.0.0.1:${server.port}/${databaseName}`,
    max: 10,
    ...config,
  });
  return {
    pool,
    database: pool,
    query: async <Row>(text: string, params?: unknown[]) =>
      (await pool.query(text, params)).rows as Row[],
    close: () => pool.end(),
  };
}

/** A new in-memory PGlite database (starting one takes seconds on a busy machine). */
export async function openPGlite(): Promise<TestDatabase> {
  const db = new PGlite();
  await db.waitReady;
  return {
    database: db,
    query: async <Row>(text: string, params?: unknown[]) =>
      (await db.query<Row>(text, params)).rows,
    close: () => db.close(),
  };
}

export const DATABASES: readonly DatabaseKind[] = [
  { name: 'pg.Pool', open: async (server, name) => openPool(server, name) },
  { name: 'PGlite', open: () => openPGlite() },
];

/**
 * A `describe` with a PostgreSQL server for its tests, started before them and stopped after.
 * `body` reads the server through `server()`.
 */
export function withPostgresServer(
  title: string,
  body: (server: () => PostgresServer) => void,
): void {
  describe(title, function () {
    this.timeout(30_000);
    let started: PostgresServer | undefined;

    before(async () => {
      started = await startPostgres();
    });

    after(async () => {
      await started?.stop();
    });

    body(() => started!);
  });
}

/**
 * Registers `body` once per database kind, each in a `describe` that opens and migrates its
 * database (on `server`, for a pool) before its tests and closes it after. `body` reads the
 * database through `db()`.
 */
export function eachDatabase(
  server: () => PostgresServer,
  body: (db: () => TestDatabase, kind: DatabaseKind) => void,
): void {
  for (const kind of DATABASES) {
    describe(`on ${kind.name}`, () => {
      let opened: TestDatabase | undefined;

      before(async () => {
        opened = await kind.open(server());
        await migrate(opened.database);
      });

      after(async () => {
        await opened?.close();
      });

      body(() => opened!, kind);
    });
  }
}

/** {@link eachDatabase} inside {@link withPostgresServer}: a file's tests on both databases. */
export function onEachDatabase(title: string, body: (db: () => TestDatabase) => void): void {
  withPostgresServer(title, (server) => eachDatabase(server, body));
}
