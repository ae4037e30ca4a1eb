import type { Migration } from './migration.js';

/**
 * The configuration the Management API changes, shared by every instance: one row per document
 * (an action, an action version, a profile), its JSON as text (kept exactly as written), the
 * revision of the commit that last wrote it, and a deleted document kept with `data` NULL so
 * instances catching up learn of the deletion. `cte_config_revision` holds the one revision
 * counter that commits advance, each only from the revision it was computed at.
 */
export const configDocuments: Migration = {
  version: 9,
  name: 'config documents',
  sql: `
    CREATE TABLE IF NOT EXISTS cte_config_revision (
      singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
      revision bigint NOT NULL
    );
    INSERT INTO cte_config_revision (singleton, revision) VALUES (true, 0)
      ON CONFLICT (singleton) DO NOTHING;
    CREATE TABLE IF NOT EXISTS cte_config_documents (
      kind text NOT NULL,
      id text NOT NULL,
      parent text,
      revision bigint NOT NULL,
      data text,
      created_order bigserial,
      PRIMARY KEY (kind, id)
    );
    CREATE INDEX IF NOT EXISTS cte_config_documents_revision
      ON cte_config_documents (revision);
    CREATE INDEX IF NOT EXISTS cte_config_documents_parent
      ON cte_config_documents (kind, parent);
  `,
};
