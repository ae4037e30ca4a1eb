import type {
  NewConnectionUser,
  User,
  UserProfile,
  UserStore,
  UserUpdate,
} from '../../users/user-store.js';
import { PROFILE_FIELDS } from '../../users/user-store.js';
import { connectDatabase, type DatabaseLike, type DatabaseOptions } from './connect-database.js';
import { sqlConstraint, sqlState, type SqlDatabase } from './sql-database.js';

/** Options of {@link PostgresUserStore}. */
export interface PostgresUserStoreOptions extends DatabaseOptions {
  /** A `pg.Pool`, a PGlite database or a `SqlDatabase`, migrated by `migrate()`. */
  database: DatabaseLike;
  /** The clock for `created_at`/`updated_at`, in ms since the epoch. Default `Date.now`. */
  now?: () => number;
}

/** A user row with its identities, as {@link userColumns} selects it. */
interface UserRow extends Record<(typeof PROFILE_FIELDS)[number], string | boolean | null> {
  user_id: string;
  blocked: boolean;
  app_metadata: Record<string, unknown>;
  user_metadata: Record<string, unknown>;
  logins_count: number;
  created_at: string;
  updated_at: string;
  identities: User['identities'];
}

const ISO = `'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'`;

/** An identity as JSON, from a row `i` of `cte_user_identities`. */
const IDENTITY_JSON = `json_build_object('connection', i.connection, 'user_id', i.connection_user_id,
  'provider', i.provider, 'isSocial', i.is_social)`;

/** The identities of the user `u`, oldest link first. */
const IDENTITIES_OF_U = `COALESCE((
  SELECT json_agg(${IDENTITY_JSON} ORDER BY i.linked_at, i.connection, i.connection_user_id)
  FROM cte_user_identities i WHERE i.user_id = u.user_id
), '[]'::json)`;

/** The columns {@link toUser} reads, from `u` (a users row or CTE), with `identities`. */
function userColumns(identities = IDENTITIES_OF_U): string {
  return `u.user_id, ${PROFILE_FIELDS.map((column) => `u.${column}`).join(', ')},
    u.blocked, u.app_metadata, u.user_metadata, u.logins_count,
    to_char(u.created_at AT TIME ZONE 'UTC', ${ISO}) AS created_at,
    to_char(u.updated_at AT TIME ZONE 'UTC', ${ISO}) AS updated_at,
    ${identities} AS identities`;
}

/**
 * A {@link UserStore} on PostgreSQL (tables `cte_users` and `cte_user_identities`), shared by
 * every router instance and kept across restarts.
 *
 * `create` inserts the user and its identity in one statement; when two instances create the
 * same new identity at once, the primary keys let one insert win and the other reject, and the
 * router then reads the winner's user, so one user is created. `update` is one statement too:
 * metadata is merged on the server (`jsonb ||`, keys set to `null` removed), so two concurrent
 * exchanges of one user never undo each other's metadata, and `logins_count` counts both.
 */
export class PostgresUserStore implements UserStore {
  readonly #db: SqlDatabase;
  readonly #now: () => number;

  constructor(options: PostgresUserStoreOptions) {
    const { database, now = Date.now, ...databaseOptions } = options ?? {};
    if (typeof now !== 'function') {
      throw new TypeError('PostgresUserStore: options.now must be a function');
    }
    this.#db = connectDatabase(database, databaseOptions);
    this.#now = now;
  }

  /** {@inheritDoc UserStore.ping} */
  async ping(): Promise<void> {
    await this.#db.query('SELECT 1');
  }

  /** {@inheritDoc UserStore.getById} */
  async getById(userId: string): Promise<User | undefined> {
    const { rows } = await this.#db.query<UserRow>(
      `SELECT ${userColumns()} FROM cte_users u WHERE u.user_id = $1`,
      [userId],
    );
    return rows[0] && toUser(rows[0]);
  }

  /** {@inheritDoc UserStore.getByIdentity} */
  async getByIdentity(connection: string, connectionUserId: string): Promise<User | undefined> {
    const { rows } = await this.#db.query<UserRow>(
      `SELECT ${userColumns()} FROM cte_users u
       WHERE u.user_id = (SELECT user_id FROM cte_user_identities
                          WHERE connection = $1 AND connection_user_id = $2)`,
      [connection, connectionUserId],
    );
    return rows[0] && toUser(rows[0]);
  }

  /**
   * Creates `{connection}|{connection_user_id}` with one identity at `connection`, no logins yet.
   * Metadata `null` values are dropped.
   * @throws Error when the identity or the user id is taken
   */
  async create(user: NewConnectionUser): Promise<User> {
    const connection = requireText(user?.connection, 'user.connection');
    const connectionUserId = requireText(user.connection_user_id, 'user.connection_user_id');
    const userId = `${connection}|${connectionUserId}`;
    const profile = profileValues(user.profile ?? {});
    const now = new Date(this.#now()).toISOString();
    try {
      const { rows } = await this.#db.query<UserRow>(
        `WITH u AS (
           INSERT INTO cte_users (user_id, ${PROFILE_FIELDS.join(', ')},
                                  app_metadata, user_metadata, created_at, updated_at)
           VALUES ($1, ${PROFILE_FIELDS.map((_, i) => `$${i + 2}`).join(', ')},
                   $12::jsonb, $13::jsonb, $14::timestamptz, $14::timestamptz)
           RETURNING *
         ), linked AS (
           INSERT INTO cte_user_identities (connection, connection_user_id, user_id, provider)
           SELECT $15, $16, user_id, $15 FROM u
           RETURNING *
         )
         SELECT ${userColumns(`(SELECT json_agg(${IDENTITY_JSON}) FROM linked i)`)}
         FROM u`,
        [
          userId,
          ...profile,
          metadataJson(user.app_metadata),
          metadataJson(user.user_metadata),
          now,
          connection,
          connectionUserId,
        ],
      );
      return toUser(rows[0]!);
    } catch (error) {
      if (sqlState(error) !== '23505') throw error;
      const problem =
        sqlConstraint(error) === 'cte_users_pkey'
          ? `a user with user_id ${JSON.stringify(userId)} already exists`
          : `identity ${JSON.stringify(connectionUserId)} at connection ${JSON.stringify(connection)} already belongs to a user`;
      throw new Error(problem, { cause: error });
    }
  }

  /**
   * Applies `update` in one statement: `profile` replaces every profile field, metadata is
   * merged with `null` removing a key, `recordLogin` adds one login; `updated_at` becomes now.
   * @throws Error when there is no such user
   */
  async update(userId: string, update: UserUpdate): Promise<User> {
    const appMetadata = metadataChange(update.app_metadata);
    const userMetadata = metadataChange(update.user_metadata);
    const replace = update.profile !== undefined;
    const profile = replace ? profileValues(update.profile!) : PROFILE_FIELDS.map(() => null);
    const { rows } = await this.#db.query<UserRow>(
      `WITH u AS (
         UPDATE cte_users SET
           ${PROFILE_FIELDS.map((column, i) => `${column} = CASE WHEN $2 THEN $${i + 3} ELSE ${column} END`).join(',\n')},
           app_metadata = (app_metadata || $13::jsonb) - $14::text[],
           user_metadata = (user_metadata || $15::jsonb) - $16::text[],
           logins_count = logins_count + $17,
           updated_at = $18::timestamptz
         WHERE user_id = $1
         RETURNING *
       )
       SELECT ${userColumns()} FROM u`,
      [
        userId,
        replace,
        ...profile,
        appMetadata.merge,
        appMetadata.remove,
        userMetadata.merge,
        userMetadata.remove,
        update.recordLogin === true ? 1 : 0,
        new Date(this.#now()).toISOString(),
      ],
    );
    if (rows[0] === undefined) throw new Error(`no user with user_id ${JSON.stringify(userId)}`);
    return toUser(rows[0]);
  }

  /**
   * Blocks or unblocks a user; a blocked user cannot be selected by an action.
   * @throws Error when there is no such user
   */
  async setBlocked(userId: string, blocked: boolean): Promise<User> {
    if (typeof blocked !== 'boolean') throw new TypeError('blocked must be a boolean');
    const { rows } = await this.#db.query<UserRow>(
      `WITH u AS (
         UPDATE cte_users SET blocked = $2, updated_at = $3::timestamptz
         WHERE user_id = $1 RETURNING *
       )
       SELECT ${userColumns()} FROM u`,
      [userId, blocked, new Date(this.#now()).toISOString()],
    );
    if (rows[0] === undefined) throw new Error(`no user with user_id ${JSON.stringify(userId)}`);
    return toUser(rows[0]);
  }

  /** Removes a user and its identities; `false` when there was none. */
  async delete(userId: string): Promise<boolean> {
    const { rowCount } = await this.#db.query('DELETE FROM cte_users WHERE user_id = $1', [userId]);
    return rowCount === 1;
  }
}

function toUser(row: UserRow): User {
  const profile: Record<string, string | boolean> = {};
  for (const column of PROFILE_FIELDS) {
    const value = row[column];
    if (value !== null && value !== undefined) profile[column] = value;
  }
  return {
    user_id: row.user_id,
    ...profile,
    ...(row.blocked ? { blocked: true } : {}),
    identities: row.identities,
    app_metadata: row.app_metadata,
    user_metadata: row.user_metadata,
    created_at: row.created_at,
    updated_at: row.updated_at,
    logins_count: Number(row.logins_count),
  };
}

/** The profile as column values, in {@link PROFILE_FIELDS} order; `null` for absent fields. */
function profileValues(profile: UserProfile): Array<string | boolean | null> {
  return PROFILE_FIELDS.map((column) => {
    const value = profile[column];
    return value === undefined ? null : value;
  });
}

/** Metadata as stored on creation: `null` and `undefined` values dropped. */
function metadataJson(metadata: Record<string, unknown> | undefined): string {
  return metadataChange(metadata).merge;
}

/** A metadata change as the keys to set (a JSON object) and the keys to remove (`null`). */
function metadataChange(changes: Record<string, unknown> | undefined): {
  merge: string;
  remove: string[];
} {
  const merge: Record<string, unknown> = {};
  const remove: string[] = [];
  for (const [key, value] of Object.entries(changes ?? {})) {
    if (value === null) remove.push(key);
    else if (value !== undefined) {
      Object.defineProperty(merge, key, {
        value,
        enumerable: true,
        writable: true,
        configurable: true,
      });
    }
  }
  return { merge: JSON.stringify(merge), remove };
}

function requireText(value: unknown, path: string): string {
  if (typeof value !== 'string' || value === '') {
    throw new TypeError(`${path} must be a non-empty string`);
  }
  return value;
}
