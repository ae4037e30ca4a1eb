/** What a query answers. */
export interface SqlResult<Row> {
  rows: Row[];
  /** Rows the statement inserted, updated, deleted or returned. */
  rowCount: number;
}

/** One connection's worth of SQL: a transaction, or the database outside one. */
export interface SqlSession {
  /** One statement with `$1`, `$2`, ... parameters. */
  query<Row = Record<string, unknown>>(
    text: string,
    params?: readonly unknown[],
  ): Promise<SqlResult<Row>>;
  /** Several statements without parameters (a migration). */
  exec(text: string): Promise<void>;
}

/** Options of {@link SqlDatabase.transaction}. */
export interface SqlTransactionOptions {
  /** Deadline of the whole transaction in ms, instead of the database's own. */
  timeoutMs?: number;
}

/**
 * The small SQL interface the PostgreSQL stores run on. Two adapters ship: `pg.Pool` (a
 * connection checked out for each query or transaction) and PGlite (one in-process session:
 * its transactions are serialized by PGlite itself, never interleaved). Implement it to run the
 * stores on another driver.
 */
export interface SqlDatabase extends SqlSession {
  /**
   * Runs `work` in a transaction on one connection: committed when `work` resolves, rolled back
   * when it rejects (the rejection is passed on). Queries of `work` go through its `session`
   * only, never through the database itself.
   */
  transaction<T>(
    work: (session: SqlSession) => Promise<T>,
    options?: SqlTransactionOptions,
  ): Promise<T>;
}

/** The SQLSTATE of a PostgreSQL error (`23505` unique violation, ...), if it has one. */
export function sqlState(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) ? code : undefined;
}

/** SQLSTATEs of a server that cannot store more: disk full, out of memory, too many locks. */
const FULL_STATES: ReadonlySet<string> = new Set(['53100', '53200', '53400']);

/** Whether a PostgreSQL error is the server refusing to store more (see `StoreFullError`). */
export function isServerFull(error: unknown): boolean {
  const state = sqlState(error);
  return state !== undefined && FULL_STATES.has(state);
}

/** The constraint a PostgreSQL error names, if any (a unique violation's index). */
export function sqlConstraint(error: unknown): string | undefined {
  const constraint = (error as { constraint?: unknown } | null)?.constraint;
  return typeof constraint === 'string' ? constraint : undefined;
}
