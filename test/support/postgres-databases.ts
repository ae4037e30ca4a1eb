/**
 * The databases the PostgreSQL stores are tested on: a `pg.Pool` on a real server, and PGlite
 * in this process.
 */
import { PGlite } from '@electric-sql/pglite';
import pg from 'pg';
import type { DatabaseLike } from '../../lib/stores/postgres/connect-database.js';
import type { PostgresServer } from './postgres-server.js';

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
