/**
 * One step of the schema. Migrations are additive: a step only adds (tables, columns with
 * defaults, indexes), never drops or renames what a released version reads, so instances of the
 * previous version keep working beside the new one during a rolling upgrade; removing something
 * is a later step, once no running version reads it. Each step is idempotent (`IF NOT EXISTS`),
 * so a step interrupted before its version was recorded can run again.
 */
export interface Migration {
  /** Its place in the order, starting at 1; recorded in `cte_schema_migrations` once applied. */
  readonly version: number;
  /** What it adds, for the schema-version table and for people. */
  readonly name: string;
  /** The statements, run in one transaction. */
  readonly sql: string;
}
