import type {
  RefreshTokenFamily,
  RefreshTokenFamilyUpdate,
  RefreshTokenRecord,
  RefreshTokenStore,
  StoredRefreshToken,
} from '../refresh-token-store.js';
import { checkInteger } from '../store-deadline.js';
import { connectDatabase, type DatabaseLike, type DatabaseOptions } from './connect-database.js';
import { sqlState, type SqlDatabase } from './sql-database.js';

/** Options of {@link PostgresRefreshTokenStore}. */
export interface PostgresRefreshTokenStoreOptions extends DatabaseOptions {
  /** A `pg.Pool`, a PGlite database or a `SqlDatabase`, migrated by `migrate()`. */
  database: DatabaseLike;
  /**
   * Generations of a family whose tokens are kept, the current one included: rotated tokens are
   * kept to recognise their reuse, and a redemption forgets those older than this many
   * generations (a reuse of one of them then goes to the host as an unknown token). 2–100,000,
   * default 100.
   */
  maxGenerationsPerFamily?: number;
}

/** The columns of a family; every other field of a family is kept in `attributes`. */
const FAMILY_COLUMNS = [
  'family_id',
  'client_id',
  'user_id',
  'audience',
  'scope',
  'rotating',
  'leeway',
  'created_at',
  'expires_at',
  'idle_lifetime',
  'last_used_at',
  'generation',
  'rotated_at',
  'revoked_at',
  'revision',
] as const satisfies ReadonlyArray<keyof RefreshTokenFamily>;

const COLUMN_NAMES: ReadonlySet<string> = new Set(FAMILY_COLUMNS);

/** A family row as {@link FAMILY_SELECT} reads it; numbers may come back as strings (`pg`). */
type FamilyRow = Record<(typeof FAMILY_COLUMNS)[number], unknown> & {
  attributes: Record<string, unknown>;
};

const FAMILY_SELECT = `${FAMILY_COLUMNS.map((column) => `f.${column}`).join(', ')}, f.attributes`;

/**
 * A {@link RefreshTokenStore} on PostgreSQL (tables `cte_refresh_token_families` and
 * `cte_refresh_tokens`), shared by every router instance and kept across restarts.
 *
 * The compare-and-set of a rotation is one statement: the family's row is updated only while its
 * revision is the expected one and it is not revoked, and the successor token is inserted by the
 * same statement (so both happen, or neither). Two instances redeeming one token at once update
 * the same row: the second waits for the first's row lock, then finds the revision changed and
 * writes nothing, so exactly one wins. A user's families are listed in the order they were
 * created (a sequence the insert draws).
 *
 * Fields of a family beyond the ones this version has columns for (fields a later version adds)
 * are kept as JSON and handed back as they were given. Ended families (past their absolute or
 * idle end) and, after a while, revoked ones are deleted by `PostgresRetention`.
 */
export class PostgresRefreshTokenStore implements RefreshTokenStore {
  readonly #db: SqlDatabase;
  readonly #maxGenerations: number;

  constructor(options: PostgresRefreshTokenStoreOptions) {
    const { database, maxGenerationsPerFamily = 100, ...databaseOptions } = options ?? {};
    this.#db = connectDatabase(database, databaseOptions);
    this.#maxGenerations = checkInteger(
      maxGenerationsPerFamily,
      'PostgresRefreshTokenStore: options.maxGenerationsPerFamily',
      2,
      100_000,
    );
  }

  /** {@inheritDoc RefreshTokenStore.ping} */
  async ping(): Promise<void> {
    await this.#db.query('SELECT 1');
  }

  /**
   * {@inheritDoc RefreshTokenStore.find}
   *
   * The token's hash finds it; a `familyId` the token carries is not needed to find it here.
   */
  async find(tokenHash: string, _familyId?: string): Promise<StoredRefreshToken | undefined> {
    if (typeof tokenHash !== 'string') return undefined;
    const { rows } = await this.#db.query<
      FamilyRow & { token_hash: string; token_generation: unknown; token_created_at: unknown }
    >(
      `SELECT t.token_hash, t.generation AS token_generation, t.created_at AS token_created_at,
              ${FAMILY_SELECT}
       FROM cte_refresh_tokens t JOIN cte_refresh_token_families f ON f.family_id = t.family_id
       WHERE t.token_hash = $1`,
      [tokenHash],
    );
    const row = rows[0];
    if (row === undefined) return undefined;
    return {
      token: {
        token_hash: row.token_hash,
        family_id: String(row.family_id),
        generation: Number(row.token_generation),
        created_at: Number(row.token_created_at),
      },
      family: toFamily(row),
    };
  }

  /** {@inheritDoc RefreshTokenStore.create} */
  async create(family: RefreshTokenFamily, token: RefreshTokenRecord): Promise<void> {
    if (token?.family_id !== family?.family_id) {
      throw new TypeError('PostgresRefreshTokenStore.create: the token belongs to another family');
    }
    const attributes: Record<string, unknown> = {};
    for (const [name, value] of Object.entries(family)) {
      if (!COLUMN_NAMES.has(name) && value !== undefined) {
        Object.defineProperty(attributes, name, { value, enumerable: true, writable: true });
      }
    }
    try {
      await this.#db.query(
        `WITH f AS (
           INSERT INTO cte_refresh_token_families (${FAMILY_COLUMNS.join(', ')}, attributes)
           VALUES (${FAMILY_COLUMNS.map((_, i) => `$${i + 1}`).join(', ')}, $16::jsonb)
           RETURNING family_id
         )
         INSERT INTO cte_refresh_tokens (token_hash, family_id, generation, created_at)
         SELECT $17, family_id, $18, $19 FROM f`,
        [
          ...FAMILY_COLUMNS.map((column) =>
            column === 'scope' ? JSON.stringify(family.scope) : family[column],
          ),
          JSON.stringify(attributes),
          token.token_hash,
          token.generation,
          token.created_at,
        ],
      );
    } catch (error) {
      if (sqlState(error) !== '23505') throw error;
      throw new Error('PostgresRefreshTokenStore.create: the family or the token exists already', {
        cause: error,
      });
    }
  }

  /** {@inheritDoc RefreshTokenStore.compareAndSet} */
  async compareAndSet(
    familyId: string,
    expectedRevision: number,
    update: RefreshTokenFamilyUpdate,
    successor?: RefreshTokenRecord,
  ): Promise<boolean> {
    if (successor !== undefined && successor.family_id !== familyId) {
      throw new TypeError(
        'PostgresRefreshTokenStore.compareAndSet: the successor belongs to another family',
      );
    }
    const { rows } = await this.#db.query<{ written: unknown }>(
      `WITH f AS (
         UPDATE cte_refresh_token_families SET
           last_used_at = $3,
           generation = COALESCE($4::integer, generation),
           rotated_at = COALESCE($5::bigint, rotated_at),
           revision = revision + 1
         WHERE family_id = $1 AND revision = $2 AND revoked_at IS NULL
         RETURNING family_id, generation
       ), added AS (
         INSERT INTO cte_refresh_tokens (token_hash, family_id, generation, created_at)
         SELECT $6::text, family_id, $7::integer, $8::bigint FROM f WHERE $6::text IS NOT NULL
       ), forgotten AS (
         DELETE FROM cte_refresh_tokens t USING f
         WHERE t.family_id = f.family_id AND t.generation <= f.generation - $9::integer
       )
       SELECT count(*) AS written FROM f`,
      [
        familyId,
        expectedRevision,
        update.last_used_at,
        update.generation ?? null,
        update.rotated_at ?? null,
        successor?.token_hash ?? null,
        successor?.generation ?? null,
        successor?.created_at ?? null,
        this.#maxGenerations,
      ],
    );
    return Number(rows[0]?.written) === 1;
  }

  /** {@inheritDoc RefreshTokenStore.revokeFamily} */
  async revokeFamily(familyId: string, revokedAt: number): Promise<boolean> {
    const { rowCount } = await this.#db.query(
      `UPDATE cte_refresh_token_families SET revoked_at = $2, revision = revision + 1
       WHERE family_id = $1 AND revoked_at IS NULL`,
      [familyId, revokedAt],
    );
    return rowCount === 1;
  }

  /** {@inheritDoc RefreshTokenStore.listFamilies} */
  async listFamilies(userId: string): Promise<RefreshTokenFamily[]> {
    const { rows } = await this.#db.query<FamilyRow>(
      `SELECT ${FAMILY_SELECT} FROM cte_refresh_token_families f
       WHERE f.user_id = $1 ORDER BY f.seq`,
      [userId],
    );
    return rows.map(toFamily);
  }
}

function toFamily(row: FamilyRow): RefreshTokenFamily {
  const orNull = (value: unknown) => (value === null ? null : Number(value));
  return {
    ...row.attributes,
    family_id: String(row.family_id),
    client_id: String(row.client_id),
    user_id: String(row.user_id),
    audience: String(row.audience),
    scope: (row.scope as string[]).map(String),
    rotating: row.rotating === true,
    leeway: Number(row.leeway),
    created_at: Number(row.created_at),
    expires_at: orNull(row.expires_at),
    idle_lifetime: orNull(row.idle_lifetime),
    last_used_at: Number(row.last_used_at),
    generation: Number(row.generation),
    rotated_at: orNull(row.rotated_at),
    revoked_at: orNull(row.revoked_at),
    revision: Number(row.revision),
  };
}
