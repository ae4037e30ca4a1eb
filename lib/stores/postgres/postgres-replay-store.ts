import { ReplayStoreFullError, type ReplayStore } from '../replay-store.js';
import { checkExpiringEntry } from '../expiring-key-arguments.js';
import { connectDatabase, type DatabaseLike, type DatabaseOptions } from './connect-database.js';
import { isServerFull, type SqlDatabase } from './sql-database.js';

/** Options of {@link PostgresReplayStore}. */
export interface PostgresReplayStoreOptions extends DatabaseOptions {
  /** A `pg.Pool`, a PGlite database or a `SqlDatabase`, migrated by `migrate()`. */
  database: DatabaseLike;
  /** Clock in milliseconds since the epoch; default `Date.now`. Tests pass a fake one. */
  now?: () => number;
}

/**
 * A {@link ReplayStore} on PostgreSQL (table `cte_replay_keys`) that every router instance
 * shares. One statement records a key: it inserts the key, or takes over a row whose expiry has
 * passed; the primary key makes two concurrent first uses of one key insert one row, so exactly
 * one of them resolves `true`. Expired rows are deleted by `PostgresRetention`.
 *
 * A server that is out of disk or memory rejects with {@link ReplayStoreFullError}, so the
 * router answers `503` with `Retry-After` instead of accepting a value it cannot remember.
 */
export class PostgresReplayStore implements ReplayStore {
  readonly #db: SqlDatabase;
  readonly #now: () => number;

  constructor(options: PostgresReplayStoreOptions) {
    const { database, now = Date.now, ...databaseOptions } = options ?? {};
    if (typeof now !== 'function') {
      throw new TypeError('PostgresReplayStore: options.now must be a function');
    }
    this.#db = connectDatabase(database, databaseOptions);
    this.#now = now;
  }

  /** {@inheritDoc ReplayStore.ping} */
  async ping(): Promise<void> {
    await this.#db.query('SELECT 1');
  }

  /** {@inheritDoc ReplayStore.consume} */
  async consume(key: string, expiresAtSeconds: number): Promise<boolean> {
    checkExpiringEntry('PostgresReplayStore.consume', 'key', key, expiresAtSeconds);
    try {
      const { rowCount } = await this.#db.query(
        `INSERT INTO cte_replay_keys (key, expires_at) VALUES ($1, to_timestamp($2))
         ON CONFLICT (key) DO UPDATE SET expires_at = EXCLUDED.expires_at
         WHERE cte_replay_keys.expires_at <= to_timestamp($3)`,
        [key, expiresAtSeconds, this.#now() / 1000],
      );
      return rowCount === 1;
    } catch (error) {
      if (isServerFull(error)) {
        throw new ReplayStoreFullError(
          `replay store full: PostgreSQL ${(error as Error).message}`,
          1,
        );
      }
      throw error;
    }
  }
}
