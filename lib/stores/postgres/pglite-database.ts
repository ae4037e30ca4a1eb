import type { SqlDatabase, SqlResult, SqlSession } from './sql-database.js';

/** What PGlite answers to a query. */
interface PGliteResults {
  rows: unknown[];
  affectedRows?: number;
  rowCount?: number;
}

/** A PGlite transaction. */
export interface PGliteTransactionLike {
  query(text: string, params?: unknown[]): Promise<PGliteResults>;
  exec(text: string): Promise<unknown>;
}

/** A PGlite database (`@electric-sql/pglite`). */
export interface PGliteLike extends PGliteTransactionLike {
  transaction<T>(work: (tx: PGliteTransactionLike) => Promise<T>): Promise<T>;
  readonly waitReady: Promise<void>;
}

/**
 * {@link SqlDatabase} over PGlite: PostgreSQL in this process, one session. A transaction goes
 * through PGlite's own `transaction()`, which holds the session until it ends, so queries of
 * other requests wait for it instead of running inside it (interleaved `BEGIN`s on one session
 * would join one another's transactions). Nothing here crosses a network, so there is no
 * deadline.
 */
export function pgliteDatabase(db: PGliteLike): SqlDatabase {
  return {
    ...sessionOf(db),
    transaction: (work) => db.transaction((tx: PGliteTransactionLike) => work(sessionOf(tx))),
  };
}

function sessionOf(db: PGliteTransactionLike): SqlSession {
  return {
    async query<Row>(text: string, params?: readonly unknown[]): Promise<SqlResult<Row>> {
      const result = await db.query(text, params === undefined ? undefined : [...params]);
      return {
        rows: result.rows as Row[],
        rowCount: result.rowCount ?? result.affectedRows ?? result.rows.length,
      };
    },
    async exec(text: string): Promise<void> {
      await db.exec(text);
    },
  };
}
