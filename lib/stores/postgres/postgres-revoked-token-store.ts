import { RevokedTokenStoreFullError, type RevokedTokenStore } from '../revoked-token-store.js';
import { checkExpiringEntry, checkExpiringKey } from '../expiring-key-arguments.js';
import { connectDatabase, type DatabaseLike, type DatabaseOptions } from './connect-database.js';
import { isServerFull, type SqlDatabase } from './sql-database.js';

/** Options of {@link PostgresRevokedTokenStore}. */
export interface PostgresRevokedTokenStoreOptions extends DatabaseOptions {
  /** A `pg.Pool`, a PGlite database or a `SqlDatabase`, migrated by `migrate()`. */
  database: DatabaseLike;
  /** Clock in milliseconds since the epoch; default `Date.now`. Tests pass a fake one. */
  now?: () => number;
}

/**
 * A {@link RevokedTokenStore} on PostgreSQL (table `cte_revoked_tokens`) that every router
 * instance shares. A revocation is one upsert keeping the later expiry when a `jti` is revoked
 * again; a lookup reads the row and compares its expiry, so a row past it reads as not revoked
 * before `PostgresRetention` deletes it.
 *
 * A server that is out of disk or memory rejects with {@link RevokedTokenStoreFullError}, so the
 * router answers `503` with `Retry-After` instead of telling the client a token is revoked when
 * it is not.
 */
export class PostgresRevokedTokenStore implements RevokedTokenStore {
  readonly #db: SqlDatabase;
  readonly #now: () => number;

  constructor(options: PostgresRevokedTokenStoreOptions) {
    const { database, now = Date.now, ...databaseOptions } = options ?? {};
    if (typeof now !== 'function') {
      throw new TypeError('PostgresRevokedTokenStore: options.now must be a function');
    }
    this.#db = connectDatabase(database, databaseOptions);
    this.#now = now;
  }

  /** {@inheritDoc RevokedTokenStore.ping} */
  async ping(): Promise<void> {
    await this.#db.query('SELECT 1');
  }

  /** {@inheritDoc RevokedTokenStore.revoke} */
  async revoke(jti: string, expiresAtSeconds: number): Promise<void> {
    checkExpiringEntry('PostgresRevokedTokenStore.revoke', 'jti', jti, expiresAtSeconds);
    if (expiresAtSeconds * 1000 <= this.#now()) return;
    try {
      await this.#db.query(
        `INSERT INTO cte_revoked_tokens (jti, expires_at) VALUES ($1, to_timestamp($2))
         ON CONFLICT (jti) DO UPDATE SET expires_at = EXCLUDED.expires_at
         WHERE cte_revoked_tokens.expires_at < EXCLUDED.expires_at`,
        [jti, expiresAtSeconds],
      );
    } catch (error) {
      if (isServerFull(error)) {
        throw new RevokedTokenStoreFullError(
          `revoked token store full: PostgreSQL ${(error as Error).message}`,
          1,
        );
      }
      throw error;
    }
  }

  /** {@inheritDoc RevokedTokenStore.isRevoked} */
  async isRevoked(jti: string): Promise<boolean> {
    checkExpiringKey('PostgresRevokedTokenStore.isRevoked', 'jti', jti);
    const { rows } = await this.#db.query(
      'SELECT 1 FROM cte_revoked_tokens WHERE jti = $1 AND expires_at > to_timestamp($2)',
      [jti, this.#now() / 1000],
    );
    return rows.length > 0;
  }
}
