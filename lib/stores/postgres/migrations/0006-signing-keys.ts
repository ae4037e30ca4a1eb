import type { Migration } from './migration.js';

/**
 * The signing-key schedule: its revision (one row, the compare-and-set of a save) and its keys,
 * in the order they were saved. Times are milliseconds since the epoch. `private_jwk` is `NULL`
 * for a key whose private part lives elsewhere, and sealed when the store has an encryption key.
 */
export const signingKeys: Migration = {
  version: 6,
  name: 'signing keys',
  sql: `
    CREATE TABLE IF NOT EXISTS cte_signing_key_schedule (
      id boolean PRIMARY KEY DEFAULT true CHECK (id),
      revision bigint NOT NULL
    );
    CREATE TABLE IF NOT EXISTS cte_signing_keys (
      kid text PRIMARY KEY,
      position integer NOT NULL,
      alg text NOT NULL,
      public_jwk jsonb NOT NULL,
      private_jwk jsonb,
      published_at bigint NOT NULL,
      signs_from bigint,
      retired_at bigint,
      expires_at bigint
    );
  `,
};
