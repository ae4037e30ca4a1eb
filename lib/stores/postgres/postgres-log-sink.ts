import type { LogEntry, LogSink } from '../../logs/log-entry.js';
import { normalizeIp, parseLogQuery } from '../../logs/log-query.js';
import type { LogQuery } from '../../logs/log-query.js';
import { describeError, rateLimitedWarning } from '../../rate-limited-warning.js';
import { settlesWithin } from '../../logs/settles-within.js';
import { checkInteger } from '../store-deadline.js';
import { connectDatabase, type DatabaseLike, type DatabaseOptions } from './connect-database.js';
import { sqlState, type SqlDatabase } from './sql-database.js';

/** Options of {@link PostgresLogSink}. */
export interface PostgresLogSinkOptions extends DatabaseOptions {
  /** A `pg.Pool`, a PGlite database or a `SqlDatabase`, migrated by `migrate()`. */
  database: DatabaseLike;
  /**
   * Entries waiting to be written at most; beyond, new entries are dropped and counted. This is
   * what bounds the memory an unreachable database can take. 1–1,000,000, default 10,000.
   */
  maxBufferedEntries?: number;
  /** How long an entry may wait for its batch, in ms. 1–60000, default 200. */
  flushIntervalMs?: number;
  /** Rows per `INSERT`; a full batch is written without waiting. 1–10000, default 500. */
  batchSize?: number;
  /** Most entries one {@link PostgresLogSink.list} answers. 1–100,000, default 1000. */
  maxListSize?: number;
  /** How long `close()` waits for the last batches, in ms. 0–600000, default 5000. */
  closeTimeoutMs?: number;
  /**
   * Told when entries are dropped or a batch could not be written yet (then retried). Must not
   * throw. Default: `console.warn`, at most once a minute.
   */
  onError?: (error: Error, dropped: number) => void;
}

/** Defaults of {@link PostgresLogSink}. */
export const POSTGRES_LOG_SINK_DEFAULTS = Object.freeze({
  maxBufferedEntries: 10_000,
  flushIntervalMs: 200,
  batchSize: 500,
  maxListSize: 1000,
  closeTimeoutMs: 5000,
});

/** SQLSTATE classes of a batch the database will never take (bad data, not an outage). */
const REJECTED_CLASSES = ['22', '23', '42'];

/**
 * A tenant-log sink writing every instance's entries to one PostgreSQL table
 * (`cte_log_entries`), which {@link list} queries like the in-memory ring's `list()`, but for
 * all instances and across restarts.
 *
 * `write` never does I/O: entries are buffered and inserted in batches off the request path, one
 * batch at a time. A batch that fails because the database is unreachable stays buffered and is
 * retried; the buffer is bounded (`maxBufferedEntries`), and entries beyond it are dropped and
 * counted in {@link dropped}. An entry reaches `list()` once its batch is written (within
 * `flushIntervalMs`); `flush()` writes everything buffered now.
 */
export class PostgresLogSink implements LogSink {
  readonly #db: SqlDatabase;
  readonly #maxBuffered: number;
  readonly #flushIntervalMs: number;
  readonly #batchSize: number;
  readonly #maxListSize: number;
  readonly #closeTimeoutMs: number;
  readonly #onError: (error: Error, dropped: number) => void;
  /** Each entry as the JSON object the insert reads. */
  #buffer: string[] = [];
  #dropped = 0;
  #timer: NodeJS.Timeout | undefined;
  #draining: Promise<void> | undefined;
  #closed = false;

  constructor(options: PostgresLogSinkOptions) {
    const {
      database,
      maxBufferedEntries = POSTGRES_LOG_SINK_DEFAULTS.maxBufferedEntries,
      flushIntervalMs = POSTGRES_LOG_SINK_DEFAULTS.flushIntervalMs,
      batchSize = POSTGRES_LOG_SINK_DEFAULTS.batchSize,
      maxListSize = POSTGRES_LOG_SINK_DEFAULTS.maxListSize,
      closeTimeoutMs = POSTGRES_LOG_SINK_DEFAULTS.closeTimeoutMs,
      onError,
      ...databaseOptions
    } = options ?? {};
    this.#db = connectDatabase(database, databaseOptions);
    this.#maxBuffered = checkInteger(
      maxBufferedEntries,
      'PostgresLogSink: options.maxBufferedEntries',
      1,
      1_000_000,
    );
    this.#flushIntervalMs = checkInteger(
      flushIntervalMs,
      'PostgresLogSink: options.flushIntervalMs',
      1,
      60_000,
    );
    this.#batchSize = checkInteger(batchSize, 'PostgresLogSink: options.batchSize', 1, 10_000);
    this.#maxListSize = checkInteger(
      maxListSize,
      'PostgresLogSink: options.maxListSize',
      1,
      100_000,
    );
    this.#closeTimeoutMs = checkInteger(
      closeTimeoutMs,
      'PostgresLogSink: options.closeTimeoutMs',
      0,
      600_000,
    );
    if (onError !== undefined && typeof onError !== 'function') {
      throw new TypeError('PostgresLogSink: options.onError must be a function');
    }
    const warn = rateLimitedWarning();
    this.#onError =
      onError ??
      ((error, dropped) =>
        warn(
          this,
          `PostgresLogSink: ${dropped > 0 ? `dropped ${dropped} entries: ` : ''}` +
            `${describeError(error)}`,
        ));
  }

  /** Entries dropped so far: the buffer was full, the database refused them, or closed. */
  get dropped(): number {
    return this.#dropped;
  }

  /** Entries waiting to be written. */
  get buffered(): number {
    return this.#buffer.length;
  }

  /** Buffers `entry` for the next batch. */
  write(entry: LogEntry): void {
    if (this.#closed) {
      this.#drop(new Error('the sink is closed'), 1);
      return;
    }
    if (this.#buffer.length >= this.#maxBuffered) {
      this.#drop(new Error(`${this.#maxBuffered} entries are waiting already`), 1);
      return;
    }
    this.#buffer.push(row(entry));
    if (this.#buffer.length >= this.#batchSize) this.#flushSoon(0);
    else this.#flushSoon(this.#flushIntervalMs);
  }

  /**
   * Writes every buffered entry, batch by batch. Rejects with the database's error when a batch
   * could not be written; its entries stay buffered and are retried.
   */
  flush(): Promise<void> {
    this.#draining ??= this.#drain().finally(() => {
      this.#draining = undefined;
    });
    return this.#draining;
  }

  /**
   * Entries of every instance matching `query`, newest (last written) first, at most
   * `maxListSize`; see `LogQuery`, answered as the in-memory ring answers it.
   *
   * @throws TypeError when `query` has a field `LogQuery` does not define.
   * @throws RangeError when `take` is not a positive integer, or a date is not a date.
   */
  async list(query: LogQuery = {}): Promise<LogEntry[]> {
    const q = parseLogQuery(query, 'PostgresLogSink.list');
    const params: unknown[] = [];
    const where: string[] = [];
    const param = (value: unknown): string => `$${params.push(value)}`;
    if (q.types) where.push(`type = ANY(${param([...q.types])}::text[])`);
    if (q.fromMs !== undefined) where.push(`date >= to_timestamp(${param(q.fromMs)} / 1000.0)`);
    if (q.toMs !== undefined) where.push(`date < to_timestamp(${param(q.toMs)} / 1000.0)`);
    if (q.clientId !== undefined) where.push(`client_id = ${param(q.clientId)}`);
    if (q.userId !== undefined) where.push(`user_id = ${param(q.userId)}`);
    if (q.ip !== undefined) where.push(`ip = ${param(q.ip)}`);
    if (q.from !== undefined) {
      // An unknown cursor compares with NULL: an empty page, as in the ring.
      where.push(`seq < (SELECT max(seq) FROM cte_log_entries WHERE log_id = ${param(q.from)})`);
    }
    const limit = param(Math.min(q.take ?? this.#maxListSize, this.#maxListSize));
    const { rows } = await this.#db.query<{ entry: string }>(
      `SELECT entry::text AS entry FROM cte_log_entries
       ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''}
       ORDER BY seq DESC LIMIT ${limit}`,
      params,
    );
    return rows.map((r) => JSON.parse(r.entry) as LogEntry);
  }

  /** Writes what is buffered (waiting at most `closeTimeoutMs`); later writes are dropped. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    const written = await settlesWithin(
      this.flush().catch(() => undefined),
      this.#closeTimeoutMs,
    );
    if (this.#buffer.length > 0) {
      const lost = this.#buffer.length;
      this.#buffer = [];
      this.#drop(new Error(written ? 'the database did not take them' : 'close timed out'), lost);
    }
  }

  async #drain(): Promise<void> {
    while (this.#buffer.length > 0) {
      const batch = this.#buffer.slice(0, this.#batchSize);
      try {
        await this.#db.query(
          `INSERT INTO cte_log_entries (log_id, date, type, client_id, user_id, ip, entry)
           SELECT e.value->>'log_id', to_timestamp((e.value->>'at')::float8 / 1000.0),
                  e.value->>'type', e.value->>'client_id', e.value->>'user_id', e.value->>'ip',
                  (e.value->>'entry')::json
           FROM json_array_elements($1::json) WITH ORDINALITY AS e(value, n)
           ORDER BY e.n`,
          [`[${batch.join(',')}]`],
        );
      } catch (error) {
        const state = sqlState(error);
        if (state === undefined || !REJECTED_CLASSES.includes(state.slice(0, 2))) throw error;
        // Retrying a batch the database refuses would block every later entry.
        this.#drop(error as Error, batch.length);
      }
      this.#buffer.splice(0, batch.length);
    }
  }

  #flushSoon(delayMs: number): void {
    if (this.#draining !== undefined) return;
    if (this.#timer !== undefined) {
      if (delayMs > 0) return;
      clearTimeout(this.#timer);
    }
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.flush().then(
        () => undefined,
        (error: unknown) => {
          this.#onError(error as Error, 0);
          if (!this.#closed) this.#flushSoon(this.#flushIntervalMs);
        },
      );
    }, delayMs);
    this.#timer.unref();
  }

  #drop(error: Error, count: number): void {
    this.#dropped += count;
    this.#onError(error, count);
  }
}

/**
 * The entry as the insert reads it: the columns queries filter on (the IP as queries compare it;
 * no NUL character, which a text column cannot hold) and the entry's own JSON text.
 */
function row(entry: LogEntry): string {
  const clean = (value: unknown): string | null =>
    typeof value === 'string' ? value.replaceAll('\0', '') : null;
  const at = Date.parse(entry.date);
  return JSON.stringify({
    log_id: clean(entry.log_id) ?? '',
    at: Number.isNaN(at) ? Date.now() : at,
    type: clean(entry.type) ?? '',
    client_id: clean(entry.client_id),
    user_id: clean(entry.user_id),
    ip: normalizeIp(clean(entry.ip) ?? ''),
    // As a string: PostgreSQL reads a \u0000 escape in a JSON value it extracts from as an
    // error, and an entry may hold one (captured console lines); the column takes it as JSON.
    entry: JSON.stringify(entry),
  });
}
