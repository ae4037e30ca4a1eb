import type { Migration } from './migration.js';

/**
 * Organizations, their members and their enabled connections; `seq` keeps the creation order.
 * Members and connections go with their organization.
 */
export const organizations: Migration = {
  version: 7,
  name: 'organizations',
  sql: `
    CREATE TABLE IF NOT EXISTS cte_organizations (
      id text PRIMARY KEY,
      name text NOT NULL,
      display_name text,
      metadata jsonb NOT NULL DEFAULT '{}',
      seq bigserial NOT NULL
    );
    CREATE UNIQUE INDEX IF NOT EXISTS cte_organizations_name ON cte_organizations (name);
    CREATE TABLE IF NOT EXISTS cte_organization_members (
      organization_id text NOT NULL REFERENCES cte_organizations (id) ON DELETE CASCADE,
      user_id text NOT NULL,
      PRIMARY KEY (organization_id, user_id)
    );
    CREATE TABLE IF NOT EXISTS cte_organization_connections (
      organization_id text NOT NULL REFERENCES cte_organizations (id) ON DELETE CASCADE,
      connection text NOT NULL,
      assign_membership_on_login boolean NOT NULL DEFAULT false,
      PRIMARY KEY (organization_id, connection)
    );
  `,
};
