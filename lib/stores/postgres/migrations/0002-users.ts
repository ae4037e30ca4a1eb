import type { Migration } from './migration.js';

/** Users (Auth0's normalized profile) and their identities at connections. */
export const users: Migration = {
  version: 2,
  name: 'users and identities',
  sql: `
    CREATE TABLE IF NOT EXISTS cte_users (
      user_id text PRIMARY KEY,
      email text,
      email_verified boolean,
      username text,
      phone_number text,
      phone_verified boolean,
      name text,
      given_name text,
      family_name text,
      nickname text,
      picture text,
      blocked boolean NOT NULL DEFAULT false,
      app_metadata jsonb NOT NULL DEFAULT '{}',
      user_metadata jsonb NOT NULL DEFAULT '{}',
      logins_count integer NOT NULL DEFAULT 0,
      created_at timestamptz NOT NULL,
      updated_at timestamptz NOT NULL
    );
    CREATE TABLE IF NOT EXISTS cte_user_identities (
      connection text NOT NULL,
      connection_user_id text NOT NULL,
      user_id text NOT NULL REFERENCES cte_users (user_id) ON DELETE CASCADE,
      provider text NOT NULL,
      is_social boolean NOT NULL DEFAULT false,
      linked_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (connection, connection_user_id)
    );
    CREATE INDEX IF NOT EXISTS cte_user_identities_user_id ON cte_user_identities (user_id);
  `,
};
