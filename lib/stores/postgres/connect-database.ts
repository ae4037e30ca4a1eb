import { checkTimeout } from '../store-deadline.js';
import { pgPoolDatabase, type PgPoolLike } from './pg-pool-database.js';
import { pgliteDatabase, type PGliteLike } from './pglite-database.js';
import type { SqlDatabase } from './sql-database.js';

/** What the PostgreSQL stores accept: a `pg.Pool`, a PGlite database, or your own adapter. */
export type DatabaseLike = PgPoolLike | PGliteLike | SqlDatabase;

/** Options every PostgreSQL store takes beside its database. */
export interface DatabaseOptions {
  /**
   * Longest wait for one store call on a `pg.Pool`, checkout included, in ms: a call the server
   * has not answered by then rejects with `StoreUnavailableError`, and its connection is closed.
   * 1–600000, default 2000. (PGlite runs in this process and has no deadline.)
   */
  timeoutMs?: number;
}

/** Default {@link DatabaseOptions.timeoutMs}. */
export const DEFAULT_DATABASE_TIMEOUT_MS = 2000;

/**
 * The {@link SqlDatabase} for `database`: a `pg.Pool` or a PGlite database gets its adapter, a
 * `SqlDatabase` is used as it is.
 *
 * @throws TypeError for anything else
 */
export function connectDatabase(
  database: DatabaseLike,
  options: DatabaseOptions = {},
  path = 'options.database',
): SqlDatabase {
  const timeoutMs =
    options.timeoutMs === undefined
      ? DEFAULT_DATABASE_TIMEOUT_MS
      : checkTimeout(options.timeoutMs, path.replace(/[^.]+$/, 'timeoutMs'));
  const candidate = database as Partial<PgPoolLike & PGliteLike & SqlDatabase> | null;
  if (typeof candidate !== 'object' || candidate === null) throw notADatabase(path);
  if (typeof candidate.connect === 'function' && typeof candidate.totalCount === 'number') {
    return pgPoolDatabase(database as PgPoolLike, timeoutMs);
  }
  if (typeof candidate.transaction === 'function' && 'waitReady' in candidate) {
    return pgliteDatabase(database as PGliteLike);
  }
  if (
    typeof candidate.query === 'function' &&
    typeof candidate.exec === 'function' &&
    typeof candidate.transaction === 'function'
  ) {
    return database as SqlDatabase;
  }
  throw notADatabase(path);
}

function notADatabase(path: string): TypeError {
  return new TypeError(`${path} must be a pg.Pool, a PGlite database or a SqlDatabase`);
}
