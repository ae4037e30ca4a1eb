import type {
  Organization,
  OrganizationChanges,
  OrganizationConnection,
  OrganizationStore,
} from '../../organizations/organization-store.js';
import { OrganizationConflictError } from '../../organizations/organization-store.js';
import { connectDatabase, type DatabaseLike, type DatabaseOptions } from './connect-database.js';
import { sqlConstraint, sqlState, type SqlDatabase } from './sql-database.js';

/** Options of {@link PostgresOrganizationStore}. */
export interface PostgresOrganizationStoreOptions extends DatabaseOptions {
  /** A `pg.Pool`, a PGlite database or a `SqlDatabase`, migrated by `migrate()`. */
  database: DatabaseLike;
}

interface OrganizationRow {
  id: string;
  name: string;
  display_name: string | null;
  metadata: Record<string, string>;
}

const COLUMNS = 'id, name, display_name, metadata';
const UNIQUE_VIOLATION = '23505';

/**
 * An {@link OrganizationStore} on PostgreSQL (tables `cte_organizations`,
 * `cte_organization_members`, `cte_organization_connections`), shared by every router instance.
 * Unique ids and names are the primary key's and a unique index's: of two instances creating the
 * same name at once, one wins and the other is refused.
 */
export class PostgresOrganizationStore implements OrganizationStore {
  readonly #db: SqlDatabase;

  constructor(options: PostgresOrganizationStoreOptions) {
    const { database, ...databaseOptions } = options ?? {};
    this.#db = connectDatabase(database, databaseOptions);
  }

  async create(organization: Organization): Promise<Organization> {
    try {
      const { rows } = await this.#db.query<OrganizationRow>(
        `INSERT INTO cte_organizations (id, name, display_name, metadata)
         VALUES ($1, $2, $3, $4::jsonb) RETURNING ${COLUMNS}`,
        [
          organization.id,
          organization.name,
          organization.display_name ?? null,
          JSON.stringify(organization.metadata),
        ],
      );
      return toOrganization(rows[0]!);
    } catch (error) {
      throw conflictOf(error);
    }
  }

  async get(id: string): Promise<Organization | undefined> {
    const { rows } = await this.#db.query<OrganizationRow>(
      `SELECT ${COLUMNS} FROM cte_organizations WHERE id = $1`,
      [id],
    );
    return rows[0] && toOrganization(rows[0]);
  }

  async getByName(name: string): Promise<Organization | undefined> {
    const { rows } = await this.#db.query<OrganizationRow>(
      `SELECT ${COLUMNS} FROM cte_organizations WHERE name = $1`,
      [name],
    );
    return rows[0] && toOrganization(rows[0]);
  }

  async list(): Promise<Organization[]> {
    const { rows } = await this.#db.query<OrganizationRow>(
      `SELECT ${COLUMNS} FROM cte_organizations ORDER BY seq`,
    );
    return rows.map(toOrganization);
  }

  async update(id: string, changes: OrganizationChanges): Promise<Organization | undefined> {
    try {
      const { rows } = await this.#db.query<OrganizationRow>(
        `UPDATE cte_organizations SET
           name = COALESCE($2, name),
           display_name = CASE WHEN $3::boolean THEN $4 ELSE display_name END,
           metadata = COALESCE($5::jsonb, metadata)
         WHERE id = $1 RETURNING ${COLUMNS}`,
        [
          id,
          changes.name ?? null,
          changes.display_name !== undefined,
          changes.display_name ?? null,
          changes.metadata === undefined ? null : JSON.stringify(changes.metadata),
        ],
      );
      return rows[0] && toOrganization(rows[0]);
    } catch (error) {
      throw conflictOf(error);
    }
  }

  async delete(id: string): Promise<boolean> {
    const { rowCount } = await this.#db.query('DELETE FROM cte_organizations WHERE id = $1', [id]);
    return rowCount > 0;
  }

  async addMembers(id: string, userIds: readonly string[]): Promise<boolean> {
    const { rows } = await this.#db.query<{ found: boolean }>(
      `WITH org AS (SELECT id FROM cte_organizations WHERE id = $1),
       added AS (
         INSERT INTO cte_organization_members (organization_id, user_id)
         SELECT org.id, member FROM org, unnest($2::text[]) AS member
         ON CONFLICT DO NOTHING
       )
       SELECT EXISTS (SELECT 1 FROM org) AS found`,
      [id, [...userIds]],
    );
    return rows[0]?.found === true;
  }

  async removeMembers(id: string, userIds: readonly string[]): Promise<boolean> {
    const { rows } = await this.#db.query<{ found: boolean }>(
      `WITH removed AS (
         DELETE FROM cte_organization_members
         WHERE organization_id = $1 AND user_id = ANY($2::text[])
       )
       SELECT EXISTS (SELECT 1 FROM cte_organizations WHERE id = $1) AS found`,
      [id, [...userIds]],
    );
    return rows[0]?.found === true;
  }

  async listMembers(id: string): Promise<string[] | undefined> {
    const { rows } = await this.#db.query<{ members: string[] | null }>(
      `SELECT ARRAY(SELECT user_id FROM cte_organization_members
                    WHERE organization_id = o.id ORDER BY user_id COLLATE "C") AS members
       FROM cte_organizations o WHERE o.id = $1`,
      [id],
    );
    return rows[0] && (rows[0].members ?? []);
  }

  async isMember(id: string, userId: string): Promise<boolean> {
    const { rowCount } = await this.#db.query(
      'SELECT 1 FROM cte_organization_members WHERE organization_id = $1 AND user_id = $2',
      [id, userId],
    );
    return rowCount > 0;
  }

  async setConnection(id: string, connection: OrganizationConnection): Promise<boolean> {
    const { rowCount } = await this.#db.query(
      `INSERT INTO cte_organization_connections
         (organization_id, connection, assign_membership_on_login)
       SELECT id, $2, $3 FROM cte_organizations WHERE id = $1
       ON CONFLICT (organization_id, connection)
       DO UPDATE SET assign_membership_on_login = EXCLUDED.assign_membership_on_login`,
      [id, connection.connection, connection.assign_membership_on_login],
    );
    return rowCount > 0;
  }

  async removeConnection(id: string, connection: string): Promise<boolean> {
    const { rowCount } = await this.#db.query(
      'DELETE FROM cte_organization_connections WHERE organization_id = $1 AND connection = $2',
      [id, connection],
    );
    return rowCount > 0;
  }

  async listConnections(id: string): Promise<OrganizationConnection[] | undefined> {
    const { rows } = await this.#db.query<{ connections: OrganizationConnection[] }>(
      `SELECT COALESCE((
         SELECT json_agg(json_build_object('connection', c.connection,
                  'assign_membership_on_login', c.assign_membership_on_login)
                ORDER BY c.connection COLLATE "C")
         FROM cte_organization_connections c WHERE c.organization_id = o.id
       ), '[]'::json) AS connections
       FROM cte_organizations o WHERE o.id = $1`,
      [id],
    );
    return rows[0]?.connections;
  }

  async getConnection(id: string, connection: string): Promise<OrganizationConnection | undefined> {
    const { rows } = await this.#db.query<OrganizationConnection>(
      `SELECT connection, assign_membership_on_login FROM cte_organization_connections
       WHERE organization_id = $1 AND connection = $2`,
      [id, connection],
    );
    return rows[0] && { ...rows[0] };
  }
}

function toOrganization(row: OrganizationRow): Organization {
  return {
    id: row.id,
    name: row.name,
    ...(row.display_name === null ? {} : { display_name: row.display_name }),
    metadata: { ...row.metadata },
  };
}

/** A unique violation as the conflict it is; any other error as it is. */
function conflictOf(error: unknown): unknown {
  if (sqlState(error) !== UNIQUE_VIOLATION) return error;
  return new OrganizationConflictError(
    sqlConstraint(error) === 'cte_organizations_name' ? 'name' : 'id',
  );
}
