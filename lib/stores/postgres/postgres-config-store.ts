import type {
  ConfigChanges,
  ConfigDocument,
  ConfigKind,
  ConfigSnapshot,
  ConfigStore,
  ConfigWrite,
} from '../config-store.js';
import { connectDatabase, type DatabaseLike, type DatabaseOptions } from './connect-database.js';
import type { PgPoolLike } from './pg-pool-database.js';
import type { SqlDatabase } from './sql-database.js';

/** Options of {@link PostgresConfigStore}. */
export interface PostgresConfigStoreOptions extends DatabaseOptions {
  /**
   * A `pg.Pool` (one of its connections is held for `LISTEN` while anyone subscribes), a PGlite
   * database (its own `listen`), or a `SqlDatabase` (no notifications: instances then learn of
   * changes from their periodic resync). Run `migrate()` on it first.
   */
  database: DatabaseLike;
  /** How long to wait before listening again after the listening connection failed. Default 1000 ms. */
  reconnectDelayMs?: number;
}

/** The channel commits notify on. */
const CHANNEL = 'cte_config';

interface Row {
  kind: ConfigKind;
  id: string;
  parent: string | null;
  revision: string | number;
  data: string | null;
}

/** A pool client that can listen (node-postgres's `Client`). */
interface ListeningClient {
  query(text: string): Promise<unknown>;
  release(destroy?: boolean | Error): void;
  on(event: 'notification', listener: (message: { channel: string }) => void): unknown;
  on(event: 'error', listener: (error: Error) => void): unknown;
}

interface PGliteListener {
  listen(channel: string, callback: (payload: string) => void): Promise<() => Promise<void>>;
}

/**
 * The shared configuration in PostgreSQL (migration `config documents`): every instance given
 * the same database serves the same actions and profiles, across restarts. A commit is one
 * transaction that advances the revision only from the one it was computed at, writes its
 * documents and `NOTIFY`s the other instances, which read the changes after their revision.
 */
export class PostgresConfigStore implements ConfigStore {
  readonly #db: SqlDatabase;
  readonly #raw: DatabaseLike;
  readonly #reconnectDelayMs: number;
  readonly #listeners = new Set<() => void>();
  #stopListening: (() => Promise<void>) | undefined;
  #listening: Promise<void> | undefined;
  #retry: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(options: PostgresConfigStoreOptions) {
    const { database, reconnectDelayMs = 1000, ...databaseOptions } = options ?? {};
    if (!Number.isInteger(reconnectDelayMs) || reconnectDelayMs < 10) {
      throw new TypeError('PostgresConfigStore: options.reconnectDelayMs must be an integer >= 10');
    }
    this.#db = connectDatabase(database, databaseOptions);
    this.#raw = database;
    this.#reconnectDelayMs = reconnectDelayMs;
  }

  async load(kinds: readonly ConfigKind[]): Promise<ConfigSnapshot> {
    // The revision first: documents read after it are at least as new, and reading one again
    // at a later pull is harmless, while a revision read after the documents could skip some.
    const revision = await this.#revision();
    const { rows } = await this.#db.query<Row>(
      `SELECT kind, id, parent, revision, data FROM cte_config_documents
       WHERE data IS NOT NULL AND kind = ANY($1::text[]) ORDER BY created_order`,
      [[...kinds]],
    );
    return { revision, documents: rows.map(documentOf) };
  }

  async changes(since: number, kinds: readonly ConfigKind[]): Promise<ConfigChanges> {
    const revision = await this.#revision();
    const { rows } = await this.#db.query<Row>(
      `SELECT kind, id, parent, revision, data FROM cte_config_documents
       WHERE revision > $1 AND kind = ANY($2::text[]) ORDER BY revision, created_order`,
      [since, [...kinds]],
    );
    return { revision, changes: rows.map(documentOf) };
  }

  async read(kind: ConfigKind, id: string): Promise<ConfigDocument | undefined> {
    const { rows } = await this.#db.query<Row>(
      `SELECT kind, id, parent, revision, data FROM cte_config_documents
       WHERE kind = $1 AND id = $2 AND data IS NOT NULL`,
      [kind, id],
    );
    return rows[0] === undefined ? undefined : documentOf(rows[0]);
  }

  async children(kind: ConfigKind, parent: string): Promise<ConfigDocument[]> {
    const { rows } = await this.#db.query<Row>(
      `SELECT kind, id, parent, revision, data FROM cte_config_documents
       WHERE kind = $1 AND parent = $2 AND data IS NOT NULL ORDER BY created_order`,
      [kind, parent],
    );
    return rows.map(documentOf);
  }

  async commit(writes: readonly ConfigWrite[], basedOn: number): Promise<number | undefined> {
    // Serialized before anything is sent, so a write that is not JSON changes nothing.
    const texts = writes.map((write) => (write.data === null ? null : JSON.stringify(write.data)));
    return this.#db.transaction(async (session) => {
      // The row lock makes concurrent commits wait for one another; the one that finds the
      // revision moved on writes nothing.
      const { rows } = await session.query<{ revision: string }>(
        `UPDATE cte_config_revision SET revision = revision + 1
         WHERE singleton AND revision = $1 RETURNING revision`,
        [basedOn],
      );
      if (rows[0] === undefined) return undefined;
      const revision = Number(rows[0].revision);
      for (const [i, write] of writes.entries()) {
        await session.query(
          `INSERT INTO cte_config_documents (kind, id, parent, revision, data)
           VALUES ($1, $2, $3, $4, $5)
           ON CONFLICT (kind, id) DO UPDATE SET
             parent = EXCLUDED.parent,
             revision = EXCLUDED.revision,
             data = EXCLUDED.data,
             created_order = CASE WHEN cte_config_documents.data IS NULL
               THEN EXCLUDED.created_order ELSE cte_config_documents.created_order END`,
          [write.kind, write.id, write.parent ?? null, revision, texts[i]],
        );
      }
      // Delivered to every listening session when the transaction commits.
      await session.query(`SELECT pg_notify('${CHANNEL}', $1)`, [String(revision)]);
      return revision;
    });
  }

  subscribe(listener: () => void): () => void {
    this.#listeners.add(listener);
    this.#listening ??= this.#listen();
    return () => {
      this.#listeners.delete(listener);
    };
  }

  /** Stops listening (the database itself belongs to the caller). */
  async close(): Promise<void> {
    this.#closed = true;
    this.#listeners.clear();
    if (this.#retry) clearTimeout(this.#retry);
    await this.#listening;
    await this.#stopListening?.();
  }

  async #revision(): Promise<number> {
    const { rows } = await this.#db.query<{ revision: string }>(
      'SELECT revision FROM cte_config_revision WHERE singleton',
    );
    return Number(rows[0]?.revision ?? 0);
  }

  #notify(): void {
    for (const listener of this.#listeners) listener();
  }

  /** Listens on the channel; after a failure, again a moment later (telling listeners then). */
  async #listen(): Promise<void> {
    const raw = this.#raw as Partial<PgPoolLike & PGliteListener> & object;
    try {
      if (typeof raw.connect === 'function' && typeof raw.totalCount === 'number') {
        await this.#listenOnPool(raw as PgPoolLike);
      } else if (typeof raw.listen === 'function') {
        const unlisten = await raw.listen(CHANNEL, () => this.#notify());
        this.#stopListening = unlisten;
      }
    } catch {
      this.#listenLater();
    }
  }

  async #listenOnPool(pool: PgPoolLike): Promise<void> {
    const client = (await pool.connect()) as unknown as ListeningClient;
    if (this.#closed) {
      client.release();
      return;
    }
    let released = false;
    const release = (error?: Error) => {
      if (released) return;
      released = true;
      client.release(error ?? false);
    };
    client.on('notification', (message) => {
      if (message.channel === CHANNEL) this.#notify();
    });
    client.on('error', (error) => {
      release(error);
      this.#stopListening = undefined;
      this.#listenLater();
    });
    this.#stopListening = async () => {
      try {
        await client.query(`UNLISTEN ${CHANNEL}`);
      } finally {
        release();
      }
    };
    try {
      await client.query(`LISTEN ${CHANNEL}`);
    } catch (error) {
      release(error as Error);
      this.#stopListening = undefined;
      throw error;
    }
  }

  #listenLater(): void {
    if (this.#closed) return;
    this.#retry = setTimeout(() => {
      this.#retry = undefined;
      // Changes may have been missed meanwhile: the listeners read them once listening again.
      this.#listening = this.#listen().then(() => this.#notify());
    }, this.#reconnectDelayMs);
    this.#retry.unref();
  }
}

function documentOf(row: Row): ConfigDocument {
  return {
    kind: row.kind,
    id: row.id,
    parent: row.parent,
    revision: Number(row.revision),
    data: row.data === null ? null : (JSON.parse(row.data) as unknown),
  };
}
