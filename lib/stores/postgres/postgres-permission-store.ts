import type {
  Permission,
  PermissionStore,
  Role,
  RoleChanges,
} from '../../permissions/permission-store.js';
import { RoleNameConflictError } from '../../permissions/permission-store.js';
import { connectDatabase, type DatabaseLike, type DatabaseOptions } from './connect-database.js';
import { sqlState, type SqlDatabase } from './sql-database.js';

/** Options of {@link PostgresPermissionStore}. */
export interface PostgresPermissionStoreOptions extends DatabaseOptions {
  /** A `pg.Pool`, a PGlite database or a `SqlDatabase`, migrated by `migrate()`. */
  database: DatabaseLike;
}

interface RoleRow {
  id: string;
  name: string;
  description: string | null;
}

const ROLE_COLUMNS = 'id, name, description';
const UNIQUE_VIOLATION = '23505';
// A role deleted by another instance between the check and the insert that names it.
const FOREIGN_KEY_VIOLATION = '23503';

/**
 * A {@link PermissionStore} on PostgreSQL (tables `cte_roles`, `cte_role_permissions`,
 * `cte_user_roles`, `cte_user_permissions`), shared by every router instance: a role assigned
 * through one instance changes the permissions the next exchange on any instance reads. Role
 * names are unique by index, so of two instances creating the same name at once one is refused.
 */
export class PostgresPermissionStore implements PermissionStore {
  readonly #db: SqlDatabase;

  constructor(options: PostgresPermissionStoreOptions) {
    const { database, ...databaseOptions } = options ?? {};
    this.#db = connectDatabase(database, databaseOptions);
  }

  async createRole(role: Role): Promise<Role> {
    try {
      const { rows } = await this.#db.query<RoleRow>(
        `INSERT INTO cte_roles (id, name, description) VALUES ($1, $2, $3)
         RETURNING ${ROLE_COLUMNS}`,
        [role.id, role.name, role.description ?? null],
      );
      return toRole(rows[0]!);
    } catch (error) {
      throw conflictOf(error);
    }
  }

  async getRole(id: string): Promise<Role | undefined> {
    const { rows } = await this.#db.query<RoleRow>(
      `SELECT ${ROLE_COLUMNS} FROM cte_roles WHERE id = $1`,
      [id],
    );
    return rows[0] && toRole(rows[0]);
  }

  async listRoles(): Promise<Role[]> {
    const { rows } = await this.#db.query<RoleRow>(
      `SELECT ${ROLE_COLUMNS} FROM cte_roles ORDER BY seq`,
    );
    return rows.map(toRole);
  }

  async updateRole(id: string, changes: RoleChanges): Promise<Role | undefined> {
    try {
      const { rows } = await this.#db.query<RoleRow>(
        `UPDATE cte_roles SET
           name = COALESCE($2, name),
           description = CASE WHEN $3::boolean THEN $4 ELSE description END
         WHERE id = $1 RETURNING ${ROLE_COLUMNS}`,
        [id, changes.name ?? null, changes.description !== undefined, changes.description ?? null],
      );
      return rows[0] && toRole(rows[0]);
    } catch (error) {
      throw conflictOf(error);
    }
  }

  async deleteRole(id: string): Promise<boolean> {
    const { rowCount } = await this.#db.query('DELETE FROM cte_roles WHERE id = $1', [id]);
    return rowCount > 0;
  }

  async addRolePermissions(roleId: string, permissions: readonly Permission[]): Promise<boolean> {
    const [apis, names] = columnsOf(permissions);
    try {
      const { rows } = await this.#db.query<{ found: boolean }>(
        `WITH role AS (SELECT id FROM cte_roles WHERE id = $1),
         added AS (
           INSERT INTO cte_role_permissions (role_id, resource_server_identifier, permission_name)
           SELECT role.id, p.api, p.name FROM role, unnest($2::text[], $3::text[]) AS p (api, name)
           ON CONFLICT DO NOTHING
         )
         SELECT EXISTS (SELECT 1 FROM role) AS found`,
        [roleId, apis, names],
      );
      return rows[0]?.found === true;
    } catch (error) {
      if (sqlState(error) === FOREIGN_KEY_VIOLATION) return false;
      throw error;
    }
  }

  async removeRolePermissions(
    roleId: string,
    permissions: readonly Permission[],
  ): Promise<boolean> {
    const [apis, names] = columnsOf(permissions);
    const { rows } = await this.#db.query<{ found: boolean }>(
      `WITH removed AS (
         DELETE FROM cte_role_permissions r
         USING unnest($2::text[], $3::text[]) AS p (api, name)
         WHERE r.role_id = $1 AND r.resource_server_identifier = p.api
           AND r.permission_name = p.name
       )
       SELECT EXISTS (SELECT 1 FROM cte_roles WHERE id = $1) AS found`,
      [roleId, apis, names],
    );
    return rows[0]?.found === true;
  }

  async listRolePermissions(roleId: string): Promise<Permission[] | undefined> {
    const { rows } = await this.#db.query<{ permissions: Permission[] }>(
      `SELECT COALESCE((
         SELECT json_agg(json_build_object(
                  'resource_server_identifier', p.resource_server_identifier,
                  'permission_name', p.permission_name)
                ORDER BY p.resource_server_identifier COLLATE "C", p.permission_name COLLATE "C")
         FROM cte_role_permissions p WHERE p.role_id = r.id
       ), '[]'::json) AS permissions
       FROM cte_roles r WHERE r.id = $1`,
      [roleId],
    );
    return rows[0]?.permissions;
  }

  async assignUserRoles(userId: string, roleIds: readonly string[]): Promise<void> {
    const assign = () =>
      this.#db.query(
        `INSERT INTO cte_user_roles (user_id, role_id)
         SELECT $1, id FROM cte_roles WHERE id = ANY($2::text[])
         ON CONFLICT DO NOTHING`,
        [userId, [...roleIds]],
      );
    try {
      await assign();
    } catch (error) {
      // A role deleted meanwhile: assign the ones that remain, as the store ignores unknown roles.
      if (sqlState(error) !== FOREIGN_KEY_VIOLATION) throw error;
      await assign();
    }
  }

  async removeUserRoles(userId: string, roleIds: readonly string[]): Promise<void> {
    await this.#db.query(
      'DELETE FROM cte_user_roles WHERE user_id = $1 AND role_id = ANY($2::text[])',
      [userId, [...roleIds]],
    );
  }

  async listUserRoles(userId: string): Promise<Role[]> {
    const { rows } = await this.#db.query<RoleRow>(
      `SELECT r.id, r.name, r.description FROM cte_user_roles u
       JOIN cte_roles r ON r.id = u.role_id WHERE u.user_id = $1 ORDER BY r.seq`,
      [userId],
    );
    return rows.map(toRole);
  }

  async listRoleUsers(roleId: string): Promise<string[] | undefined> {
    // One statement: no row for an unknown role, an empty array for a role no user has.
    const { rows } = await this.#db.query<{ users: string[] }>(
      `SELECT COALESCE((
         SELECT json_agg(u.user_id ORDER BY u.user_id COLLATE "C")
         FROM cte_user_roles u WHERE u.role_id = r.id
       ), '[]'::json) AS users
       FROM cte_roles r WHERE r.id = $1`,
      [roleId],
    );
    return rows[0]?.users;
  }

  async addUserPermissions(userId: string, permissions: readonly Permission[]): Promise<void> {
    const [apis, names] = columnsOf(permissions);
    await this.#db.query(
      `INSERT INTO cte_user_permissions (user_id, resource_server_identifier, permission_name)
       SELECT $1, p.api, p.name FROM unnest($2::text[], $3::text[]) AS p (api, name)
       ON CONFLICT DO NOTHING`,
      [userId, apis, names],
    );
  }

  async removeUserPermissions(userId: string, permissions: readonly Permission[]): Promise<void> {
    const [apis, names] = columnsOf(permissions);
    await this.#db.query(
      `DELETE FROM cte_user_permissions u
       USING unnest($2::text[], $3::text[]) AS p (api, name)
       WHERE u.user_id = $1 AND u.resource_server_identifier = p.api
         AND u.permission_name = p.name`,
      [userId, apis, names],
    );
  }

  async listUserPermissions(userId: string, audience?: string): Promise<Permission[]> {
    // One statement: the direct permissions and those of every role the user has, each once.
    const { rows } = await this.#db.query<Permission>(
      `SELECT resource_server_identifier, permission_name FROM (
         SELECT resource_server_identifier, permission_name FROM cte_user_permissions
         WHERE user_id = $1 AND ($2::text IS NULL OR resource_server_identifier = $2)
         UNION
         SELECT p.resource_server_identifier, p.permission_name FROM cte_user_roles u
         JOIN cte_role_permissions p ON p.role_id = u.role_id
         WHERE u.user_id = $1 AND ($2::text IS NULL OR p.resource_server_identifier = $2)
       ) effective
       ORDER BY resource_server_identifier COLLATE "C", permission_name COLLATE "C"`,
      [userId, audience ?? null],
    );
    return rows.map((row) => ({
      resource_server_identifier: row.resource_server_identifier,
      permission_name: row.permission_name,
    }));
  }
}

function toRole(row: RoleRow): Role {
  return {
    id: row.id,
    name: row.name,
    ...(row.description === null ? {} : { description: row.description }),
  };
}

/** Permissions as two parallel text arrays, for `unnest($2::text[], $3::text[])`. */
function columnsOf(permissions: readonly Permission[]): [string[], string[]] {
  return [
    permissions.map((permission) => permission.resource_server_identifier),
    permissions.map((permission) => permission.permission_name),
  ];
}

/** A unique violation on the role name as the conflict it is; any other error as it is. */
function conflictOf(error: unknown): unknown {
  return sqlState(error) === UNIQUE_VIOLATION ? new RoleNameConflictError() : error;
}
