import type { Migration } from './migration.js';

/** Revoked access tokens (RFC 7009), by `jti`, remembered until the token expires. */
export const revokedTokens: Migration = {
  version: 8,
  name: 'revoked tokens',
  sql: `
    CREATE TABLE IF NOT EXISTS cte_revoked_tokens (
      jti text PRIMARY KEY,
      expires_at timestamptz NOT NULL
    );
    CREATE INDEX IF NOT EXISTS cte_revoked_tokens_expires_at ON cte_revoked_tokens (expires_at);
  `,
};
