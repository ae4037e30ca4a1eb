import type { Migration } from './migration.js';

/**
 * Refresh token families and the hashes of their tokens. Times are milliseconds since the epoch
 * (`bigint`), as the store interface has them, so they round-trip exactly. `seq` orders a user's
 * families as they were created; `ends_at` is when the family can no longer be used (its absolute
 * or idle end, `NULL` for never), kept by the server so retention finds ended families by index.
 * `attributes` holds the family's fields this schema has no column for (fields later versions
 * add), so they round-trip without a migration.
 */
export const refreshTokens: Migration = {
  version: 4,
  name: 'refresh token families',
  sql: `
    CREATE TABLE IF NOT EXISTS cte_refresh_token_families (
      family_id text PRIMARY KEY,
      seq bigserial NOT NULL,
      client_id text NOT NULL,
      user_id text NOT NULL,
      audience text NOT NULL,
      scope jsonb NOT NULL,
      rotating boolean NOT NULL,
      leeway integer NOT NULL,
      created_at bigint NOT NULL,
      expires_at bigint,
      idle_lifetime bigint,
      last_used_at bigint NOT NULL,
      generation integer NOT NULL,
      rotated_at bigint,
      revoked_at bigint,
      revision integer NOT NULL,
      attributes jsonb NOT NULL DEFAULT '{}',
      ends_at bigint GENERATED ALWAYS AS
        (LEAST(expires_at, last_used_at + idle_lifetime * 1000)) STORED
    );
    CREATE INDEX IF NOT EXISTS cte_refresh_token_families_user_id
      ON cte_refresh_token_families (user_id, seq);
    CREATE INDEX IF NOT EXISTS cte_refresh_token_families_ends_at
      ON cte_refresh_token_families (ends_at);
    CREATE INDEX IF NOT EXISTS cte_refresh_token_families_revoked_at
      ON cte_refresh_token_families (revoked_at);
    CREATE TABLE IF NOT EXISTS cte_refresh_tokens (
      token_hash text PRIMARY KEY,
      family_id text NOT NULL
        REFERENCES cte_refresh_token_families (family_id) ON DELETE CASCADE,
      generation integer NOT NULL,
      created_at bigint NOT NULL
    );
    CREATE INDEX IF NOT EXISTS cte_refresh_tokens_family_id
      ON cte_refresh_tokens (family_id, generation);
  `,
};
