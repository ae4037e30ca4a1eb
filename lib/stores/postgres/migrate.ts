import { checkTimeout } from '../store-deadline.js';
import { connectDatabase, type DatabaseLike } from './connect-database.js';
import { MIGRATIONS } from './migrations/index.js';
import type { Migration } from './migrations/migration.js';
import type { SqlDatabase } from './sql-database.js';

/** Options of {@link migrate}. */
export interface MigrateOptions {
  /**
   * Longest wait, in ms, for the whole migration on a `pg.Pool`, waiting for another instance's
   * migration included. 1–600000, default 60000.
   */
  timeoutMs?: number;
}

/** What {@link migrate} did. */
export interface MigrateResult {
  /** Versions this call applied, in order; empty when the schema was up to date. */
  applied: number[];
  /** The highest version the database has now (0 for none). */
  version: number;
}

/** Held while migrating, so instances starting together migrate one after the other. */
const MIGRATION_LOCK = 'express-custom-token-exchange:migrate';

/**
 * Brings the database's schema up to this version of the package: creates the tables of the
 * PostgreSQL stores (all prefixed `cte_`, in the connection's `search_path`) and records each
 * applied version in `cte_schema_migrations`. Call it at deployment or start-up, before the
 * stores are used; it never runs by itself.
 *
 * Safe to call from several instances at once (they take a transaction-level advisory lock, one
 * after the other; the later ones find nothing to do) and as often as you like. Every migration
 * is additive, so instances of the previous version keep running against the new schema during a
 * rolling upgrade. A database migrated by a newer version is left as it is.
 */
export function migrate(
  database: DatabaseLike,
  options: MigrateOptions = {},
): Promise<MigrateResult> {
  const timeoutMs =
    options.timeoutMs === undefined ? 60_000 : checkTimeout(options.timeoutMs, 'options.timeoutMs');
  return runMigrations(connectDatabase(database, {}, 'database'), MIGRATIONS, timeoutMs);
}

/** {@link migrate} with the migrations given: the runner behind it. */
export async function runMigrations(
  db: SqlDatabase,
  migrations: readonly Migration[],
  timeoutMs: number,
): Promise<MigrateResult> {
  migrations.forEach((migration, index) => {
    if (migration.version !== index + 1) {
      throw new Error(
        `migration ${migration.name} has version ${migration.version}, not ${index + 1}`,
      );
    }
  });
  return db.transaction(
    async (session) => {
      await session.query('SELECT pg_advisory_xact_lock(hashtext($1))', [MIGRATION_LOCK]);
      await session.exec(`
        CREATE TABLE IF NOT EXISTS cte_schema_migrations (
          version integer PRIMARY KEY,
          name text NOT NULL,
          applied_at timestamptz NOT NULL DEFAULT now()
        )
      `);
      const { rows } = await session.query<{ version: number }>(
        'SELECT version FROM cte_schema_migrations',
      );
      const done = new Set(rows.map((row) => Number(row.version)));
      const applied: number[] = [];
      for (const migration of migrations) {
        if (done.has(migration.version)) continue;
        await session.exec(migration.sql);
        await session.query('INSERT INTO cte_schema_migrations (version, name) VALUES ($1, $2)', [
          migration.version,
          migration.name,
        ]);
        applied.push(migration.version);
        done.add(migration.version);
      }
      return { applied, version: Math.max(0, ...done) };
    },
    { timeoutMs },
  );
}
