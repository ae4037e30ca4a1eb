import { ManagementError } from '../../errors.js';
import type { ClientDefinition } from '../../registry/clients.js';
import {
  checkClientDefinition,
  patchClientDefinition,
  type ManagedClientStore,
} from '../../registry/managed-client-store.js';
import { connectDatabase, type DatabaseLike, type DatabaseOptions } from './connect-database.js';
import { sqlState, type SqlDatabase } from './sql-database.js';

/** Options of {@link PostgresClientStore}. */
export interface PostgresClientStoreOptions extends DatabaseOptions {
  /** A `pg.Pool`, a PGlite database or a `SqlDatabase`, migrated by `migrate()`. */
  database: DatabaseLike;
}

/**
 * Client definitions on PostgreSQL (table `cte_clients`, one JSON definition per `client_id`):
 * give it to `options.clients` as a `ClientStore`, and create, change and delete clients through
 * it (or with your own SQL) while the routers run. Every instance reads the same table; each
 * caches what it read for `clientCache.ttlMs`, or until `cte.clients.invalidate(client_id)`.
 * Keep secrets as `client_secret_hash` (see `hashClientSecret`) rather than in clear.
 */
export class PostgresClientStore implements ManagedClientStore {
  readonly #db: SqlDatabase;

  constructor(options: PostgresClientStoreOptions) {
    const { database, ...databaseOptions } = options ?? {};
    this.#db = connectDatabase(database, databaseOptions);
  }

  /** {@inheritDoc ClientStore.ping} */
  async ping(): Promise<void> {
    await this.#db.query('SELECT 1');
  }

  /** {@inheritDoc ClientStore.get} */
  async get(clientId: string): Promise<ClientDefinition | undefined> {
    const { rows } = await this.#db.query<{ definition: ClientDefinition }>(
      'SELECT definition FROM cte_clients WHERE client_id = $1',
      [clientId],
    );
    return rows[0]?.definition;
  }

  /** {@inheritDoc ManagedClientStore.create} */
  async create(definition: ClientDefinition): Promise<ClientDefinition> {
    const checked = checkClientDefinition(definition);
    try {
      await this.#db.query(
        'INSERT INTO cte_clients (client_id, definition) VALUES ($1, $2::jsonb)',
        [checked.client_id, JSON.stringify(checked)],
      );
    } catch (error) {
      if (sqlState(error) !== '23505') throw error;
      throw new ManagementError('conflict', `client ${checked.client_id} already exists`);
    }
    return checked;
  }

  /** {@inheritDoc ManagedClientStore.update} */
  update(
    clientId: string,
    patch: Parameters<ManagedClientStore['update']>[1],
  ): Promise<ClientDefinition> {
    return this.#db.transaction(async (session) => {
      const { rows } = await session.query<{ definition: ClientDefinition }>(
        'SELECT definition FROM cte_clients WHERE client_id = $1 FOR UPDATE',
        [clientId],
      );
      if (rows[0] === undefined) {
        throw new ManagementError('not_found', `client ${clientId} does not exist`);
      }
      const updated = patchClientDefinition(rows[0].definition, patch);
      await session.query(
        'UPDATE cte_clients SET definition = $2::jsonb, updated_at = now() WHERE client_id = $1',
        [clientId, JSON.stringify(updated)],
      );
      return updated;
    });
  }

  /** {@inheritDoc ManagedClientStore.delete} */
  async delete(clientId: string): Promise<boolean> {
    const { rowCount } = await this.#db.query('DELETE FROM cte_clients WHERE client_id = $1', [
      clientId,
    ]);
    return rowCount === 1;
  }
}
