import type { Migration } from './migration.js';

/** Client definitions (Auth0's fields, as `options.clients` takes them) by `client_id`. */
export const clients: Migration = {
  version: 5,
  name: 'clients',
  sql: `
    CREATE TABLE IF NOT EXISTS cte_clients (
      client_id text PRIMARY KEY,
      definition jsonb NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now()
    );
  `,
};
