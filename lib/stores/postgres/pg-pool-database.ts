import { describeError, rateLimitedWarning } from '../../rate-limited-warning.js';
import { StoreUnavailableError, withDeadline } from '../store-deadline.js';
import type { SqlDatabase, SqlResult, SqlSession, SqlTransactionOptions } from './sql-database.js';

/** A connection checked out of a `pg.Pool`. */
export interface PgPoolClientLike {
  query(text: string, params?: unknown[]): Promise<{ rows: unknown[]; rowCount: number | null }>;
  /** `true` (or an error) destroys the connection instead of returning it to the pool. */
  release(destroy?: boolean | Error): void;
  on(event: 'error', listener: (error: Error) => void): unknown;
  off(event: 'error', listener: (error: Error) => void): unknown;
}

/** A `pg.Pool` (node-postgres). */
export interface PgPoolLike {
  connect(): Promise<PgPoolClientLike>;
  on(event: 'error', listener: (error: Error) => void): unknown;
  readonly totalCount: number;
}

/** Pools whose idle-connection errors are already listened to. */
const LISTENED = new WeakSet<object>();

/**
 * {@link SqlDatabase} over a `pg.Pool`: every query and every transaction checks a connection
 * out and gives it back, so transactions of concurrent requests run on separate connections.
 *
 * Each operation has a deadline (`timeoutMs`), the checkout included, because a pool waits for a
 * free connection, and a connection for its server, as long as they are configured to (by
 * default forever). A connection whose operation missed its deadline is destroyed, not reused:
 * its statement may still be running, and closing the connection ends it (a transaction is
 * rolled back by the server). The adapter listens to the pool's `error` event (an idle
 * connection lost when the server restarts), which would otherwise end the process, and warns
 * at most once a minute; the pool replaces the connection on its own. A checked-out connection
 * has no listener of the pool's: the adapter listens while it holds one, for the same reason.
 */
export function pgPoolDatabase(
  pool: PgPoolLike,
  timeoutMs: number,
  warn: (message: string) => void = (message) => console.warn(message),
): SqlDatabase {
  if (!LISTENED.has(pool)) {
    LISTENED.add(pool);
    const rateLimited = rateLimitedWarning({ warn });
    pool.on('error', (error) =>
      rateLimited(
        pool,
        `express-custom-token-exchange: an idle PostgreSQL connection failed ` +
          `(${describeError(error)}); the pool opens a new one when needed.`,
      ),
    );
  }

  const withClient = async <T>(
    work: (client: PgPoolClientLike) => Promise<T>,
    deadlineMs: number,
  ): Promise<T> => {
    const started = Date.now();
    const client = await withDeadline(pool.connect(), deadlineMs, 'PostgreSQL', (late) =>
      late.release(),
    );
    const left = Math.max(1, deadlineMs - (Date.now() - started));
    // A connection the server drops while it is checked out (a restart, a crash) emits `error`
    // even when a query is running: unheard, that ends the process. The query fails with it too,
    // which is how the operation learns of it; the connection is destroyed, not given back.
    let lost = false;
    const onLost = () => {
      lost = true;
    };
    client.on('error', onLost);
    let destroy = false;
    try {
      return await withDeadline(work(client), left, 'PostgreSQL', undefined, deadlineMs);
    } catch (error) {
      destroy = error instanceof StoreUnavailableError;
      throw error;
    } finally {
      client.off('error', onLost);
      client.release(destroy || lost);
    }
  };

  const sessionOf = (client: PgPoolClientLike): SqlSession => ({
    query: (text, params) => run(client, text, params),
    exec: async (text) => {
      await client.query(text);
    },
  });

  return {
    query: (text, params) => withClient((client) => run(client, text, params), timeoutMs),
    exec: (text) =>
      withClient(async (client) => {
        await client.query(text);
      }, timeoutMs),
    transaction: <T>(
      work: (session: SqlSession) => Promise<T>,
      options: SqlTransactionOptions = {},
    ): Promise<T> =>
      withClient(async (client) => {
        await client.query('BEGIN');
        let result: T;
        try {
          result = await work(sessionOf(client));
        } catch (error) {
          // Only a lost connection fails to roll back (the server ends the transaction with it):
          // the work's error is the one that says what happened.
          await client.query('ROLLBACK').catch(() => undefined);
          throw error;
        }
        await client.query('COMMIT');
        return result;
      }, options.timeoutMs ?? timeoutMs),
  };
}

async function run<Row>(
  client: PgPoolClientLike,
  text: string,
  params: readonly unknown[] | undefined,
): Promise<SqlResult<Row>> {
  const result = await client.query(text, params === undefined ? undefined : [...params]);
  return { rows: result.rows as Row[], rowCount: result.rowCount ?? result.rows.length };
}
