import { checkInteger } from '../store-deadline.js';
import { connectDatabase, type DatabaseLike, type DatabaseOptions } from './connect-database.js';
import type { SqlDatabase } from './sql-database.js';

/** Options of {@link PostgresRetention}. */
export interface PostgresRetentionOptions extends DatabaseOptions {
  /** A `pg.Pool`, a PGlite database or a `SqlDatabase`, migrated by `migrate()`. */
  database: DatabaseLike;
  /**
   * How long tenant-log entries are kept, in ms; `null` keeps them for ever. Default 30 days
   * (Auth0 keeps logs 1 to 30 days, by plan).
   */
  logRetentionMs?: number | null;
  /**
   * How long a revoked refresh token family is kept after its revocation, in ms, when it has not
   * ended before; `null` keeps it until it ends. While it is kept its tokens are refused as
   * revoked; once deleted they are unknown, and a refresh with one goes to the host. Families
   * that ended (absolute or idle end) are deleted whatever this says. Default 30 days.
   */
  revokedFamilyRetentionMs?: number | null;
  /** Rows deleted per statement (one short transaction each). 1–100,000, default 1000. */
  batchSize?: number;
  /** Most batches per table in one run, so a backlog is worked off over several runs. Default 100. */
  maxBatchesPerRun?: number;
  /** How often `start()` runs the job, in ms. 1000–86,400,000, default 60,000. */
  intervalMs?: number;
  /** Told when a run fails (the next run tries again). Must not throw. Default `console.warn`. */
  onError?: (error: unknown) => void;
  /** Clock in milliseconds since the epoch; default `Date.now`. Tests pass a fake one. */
  now?: () => number;
}

/** Rows one run deleted, per table; `skipped` when another instance held the job's lock. */
export interface RetentionRun {
  replayKeys: number;
  /** Revoked access tokens whose expiry has passed. */
  revokedTokens: number;
  logEntries: number;
  /** Refresh token families (with their tokens) that ended, or were revoked long enough ago. */
  refreshTokenFamilies: number;
  skipped: boolean;
}

const THIRTY_DAYS_MS = 30 * 24 * 60 * 60 * 1000;

/** Held by the instance deleting a batch, so only one instance deletes at a time. */
const RETENTION_LOCK = 'express-custom-token-exchange:retention';

/**
 * What the job deletes: rows past their end, table by table. A migration adding a table with
 * rows that end adds an entry here.
 */
interface RetentionTarget {
  readonly name: keyof Omit<RetentionRun, 'skipped'>;
  readonly table: string;
  /** Which rows go, given the cutoff as `$1`, in ms since the epoch. */
  readonly condition: string;
  /** The cutoff in ms since the epoch, or `undefined` to keep every row. */
  cutoff(now: number): number | undefined;
}

/** `$1` (ms since the epoch) as a `timestamptz`. */
const CUTOFF_TIME = 'to_timestamp($1 / 1000.0)';

/**
 * Deletes what PostgreSQL, which has no TTL, would otherwise keep for ever: replay keys and
 * revoked access tokens whose expiry has passed, tenant-log entries older than `logRetentionMs`, refresh token families that
 * ended (with their tokens) and those revoked more than `revokedFamilyRetentionMs` ago. Rows go in bounded
 * batches (`DELETE ... LIMIT`-style, one short transaction each) so a large backlog never holds
 * long locks. Each batch first tries a transaction-level advisory lock: an instance that finds it
 * held ends its run (`skipped`) and leaves the work to the instance holding it, so every
 * instance may run the job and only one deletes at a time.
 *
 * `start()` runs it every `intervalMs` (its timer does not keep the process alive); `runOnce()`
 * runs it now.
 */
export class PostgresRetention {
  readonly #db: SqlDatabase;
  readonly #targets: RetentionTarget[];
  readonly #batchSize: number;
  readonly #maxBatches: number;
  readonly #intervalMs: number;
  readonly #onError: (error: unknown) => void;
  readonly #now: () => number;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<RetentionRun> | undefined;

  constructor(options: PostgresRetentionOptions) {
    const {
      database,
      logRetentionMs = THIRTY_DAYS_MS,
      revokedFamilyRetentionMs = THIRTY_DAYS_MS,
      batchSize = 1000,
      maxBatchesPerRun = 100,
      intervalMs = 60_000,
      onError = (error: unknown) =>
        console.warn(`PostgresRetention: a run failed: ${String(error)}`),
      now = Date.now,
      ...databaseOptions
    } = options ?? {};
    this.#db = connectDatabase(database, databaseOptions);
    if (logRetentionMs !== null)
      checkInteger(
        logRetentionMs,
        'PostgresRetention: options.logRetentionMs',
        1,
        Number.MAX_SAFE_INTEGER,
      );
    if (revokedFamilyRetentionMs !== null)
      checkInteger(
        revokedFamilyRetentionMs,
        'PostgresRetention: options.revokedFamilyRetentionMs',
        0,
        Number.MAX_SAFE_INTEGER,
      );
    this.#batchSize = checkInteger(batchSize, 'PostgresRetention: options.batchSize', 1, 100_000);
    this.#maxBatches = checkInteger(
      maxBatchesPerRun,
      'PostgresRetention: options.maxBatchesPerRun',
      1,
      1_000_000,
    );
    this.#intervalMs = checkInteger(
      intervalMs,
      'PostgresRetention: options.intervalMs',
      1000,
      86_400_000,
    );
    if (typeof onError !== 'function' || typeof now !== 'function') {
      throw new TypeError('PostgresRetention: options.onError and options.now must be functions');
    }
    this.#onError = onError;
    this.#now = now;
    this.#targets = [
      {
        name: 'replayKeys',
        table: 'cte_replay_keys',
        condition: `expires_at <= ${CUTOFF_TIME}`,
        cutoff: (t) => t,
      },
      {
        name: 'revokedTokens',
        table: 'cte_revoked_tokens',
        condition: `expires_at <= ${CUTOFF_TIME}`,
        cutoff: (t) => t,
      },
      {
        name: 'logEntries',
        table: 'cte_log_entries',
        condition: `date <= ${CUTOFF_TIME}`,
        cutoff: (t) => (logRetentionMs === null ? undefined : t - logRetentionMs),
      },
      {
        name: 'refreshTokenFamilies',
        table: 'cte_refresh_token_families',
        condition: 'ends_at <= $1',
        cutoff: (t) => t,
      },
      {
        name: 'refreshTokenFamilies',
        table: 'cte_refresh_token_families',
        condition: 'revoked_at <= $1',
        cutoff: (t) =>
          revokedFamilyRetentionMs === null ? undefined : t - revokedFamilyRetentionMs,
      },
    ];
  }

  /** Runs the job now (or joins the run in progress) and answers what it deleted. */
  runOnce(): Promise<RetentionRun> {
    this.#running ??= this.#run().finally(() => {
      this.#running = undefined;
    });
    return this.#running;
  }

  /** Runs the job every `intervalMs` until {@link stop}. */
  start(): void {
    if (this.#timer !== undefined) return;
    this.#timer = setInterval(() => {
      this.runOnce().catch((error: unknown) => this.#onError(error));
    }, this.#intervalMs);
    this.#timer.unref();
  }

  /** Stops the timer and waits for a run in progress. */
  async stop(): Promise<void> {
    clearInterval(this.#timer);
    this.#timer = undefined;
    await this.#running?.catch(() => undefined);
  }

  async #run(): Promise<RetentionRun> {
    const result: RetentionRun = {
      replayKeys: 0,
      revokedTokens: 0,
      logEntries: 0,
      refreshTokenFamilies: 0,
      skipped: false,
    };
    const now = this.#now();
    for (const target of this.#targets) {
      const cutoff = target.cutoff(now);
      if (cutoff === undefined) continue;
      for (let batch = 0; batch < this.#maxBatches; batch++) {
        const deleted = await this.#deleteBatch(target, cutoff);
        if (deleted === undefined) return { ...result, skipped: true };
        result[target.name] += deleted;
        if (deleted < this.#batchSize) break;
      }
    }
    return result;
  }

  /** Rows deleted, or `undefined` when another instance holds the lock. */
  #deleteBatch(target: RetentionTarget, cutoff: number): Promise<number | undefined> {
    return this.#db.transaction(async (session) => {
      const { rows } = await session.query<{ locked: boolean }>(
        'SELECT pg_try_advisory_xact_lock(hashtext($1)) AS locked',
        [RETENTION_LOCK],
      );
      if (rows[0]?.locked !== true) return undefined;
      const { rowCount } = await session.query(
        `DELETE FROM ${target.table} WHERE ctid IN (
           SELECT ctid FROM ${target.table} WHERE ${target.condition} LIMIT $2
         )`,
        [cutoff, this.#batchSize],
      );
      return rowCount;
    });
  }
}
