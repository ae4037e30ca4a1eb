import type { Migration } from './migration.js';

/** One-time values (client assertion `jti`s) remembered until they expire. */
export const replayKeys: Migration = {
  version: 1,
  name: 'replay keys',
  sql: `
    CREATE TABLE IF NOT EXISTS cte_replay_keys (
      key text PRIMARY KEY,
      expires_at timestamptz NOT NULL
    );
    CREATE INDEX IF NOT EXISTS cte_replay_keys_expires_at ON cte_replay_keys (expires_at);
  `,
};
