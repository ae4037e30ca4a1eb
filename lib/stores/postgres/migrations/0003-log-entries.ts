import type { Migration } from './migration.js';

/**
 * Tenant-log entries of every instance. `seq` orders them as they were written; the entry is
 * kept whole as JSON text (its field order intact), beside the columns queries filter on.
 */
export const logEntries: Migration = {
  version: 3,
  name: 'tenant log entries',
  sql: `
    CREATE TABLE IF NOT EXISTS cte_log_entries (
      seq bigserial PRIMARY KEY,
      log_id text NOT NULL,
      date timestamptz NOT NULL,
      type text NOT NULL,
      client_id text,
      user_id text,
      ip text NOT NULL,
      entry json NOT NULL
    );
    CREATE INDEX IF NOT EXISTS cte_log_entries_log_id ON cte_log_entries (log_id);
    CREATE INDEX IF NOT EXISTS cte_log_entries_date ON cte_log_entries (date);
    CREATE INDEX IF NOT EXISTS cte_log_entries_user_id ON cte_log_entries (user_id, seq);
    CREATE INDEX IF NOT EXISTS cte_log_entries_client_id ON cte_log_entries (client_id, seq);
    CREATE INDEX IF NOT EXISTS cte_log_entries_ip ON cte_log_entries (ip, seq);
  `,
};
