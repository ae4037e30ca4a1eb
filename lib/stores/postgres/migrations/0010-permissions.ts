import type { Migration } from './migration.js';

/**
 * Roles with their permissions per API, users' roles and users' direct permissions. A role's
 * permissions and assignments go with the role; users are named by id only (no foreign key), as
 * they may live in another store.
 */
export const permissions: Migration = {
  version: 10,
  name: 'roles and permissions',
  sql: `
    CREATE TABLE IF NOT EXISTS cte_roles (
      id text PRIMARY KEY,
      name text NOT NULL,
      description text,
      seq bigserial NOT NULL
    );
    CREATE UNIQUE INDEX IF NOT EXISTS cte_roles_name ON cte_roles (name);
    CREATE TABLE IF NOT EXISTS cte_role_permissions (
      role_id text NOT NULL REFERENCES cte_roles (id) ON DELETE CASCADE,
      resource_server_identifier text NOT NULL,
      permission_name text NOT NULL,
      PRIMARY KEY (role_id, resource_server_identifier, permission_name)
    );
    CREATE TABLE IF NOT EXISTS cte_user_roles (
      user_id text NOT NULL,
      role_id text NOT NULL REFERENCES cte_roles (id) ON DELETE CASCADE,
      PRIMARY KEY (user_id, role_id)
    );
    CREATE INDEX IF NOT EXISTS cte_user_roles_role ON cte_user_roles (role_id);
    CREATE TABLE IF NOT EXISTS cte_user_permissions (
      user_id text NOT NULL,
      resource_server_identifier text NOT NULL,
      permission_name text NOT NULL,
      PRIMARY KEY (user_id, resource_server_identifier, permission_name)
    );
  `,
};
