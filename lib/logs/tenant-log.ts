import { randomUint48 } from '../secure-random.js';
import { boundedEntry } from './entry-bounds.js';
import type { LogEntry, LogSink } from './log-entry.js';
import { settlesWithin } from './settles-within.js';

/** Options of {@link TenantLog}. */
export interface TenantLogOptions {
  /** Where every entry goes, in this order. */
  sinks: LogSink[];
  /**
   * Told about each entry a sink failed to take (it threw, its promise rejected, too many of its
   * writes were pending, or the log was closed), for an operator's alert. Must not throw; if it
   * does, the error is swallowed. Default: none (the failure only counts in
   * {@link TenantLog.dropped}).
   */
  onSinkError?: (error: unknown, sink: LogSink, entry: LogEntry) => void;
  /**
   * Writes of one sink that may be pending (returned promises not yet settled) at once; beyond
   * it, entries are dropped for that sink, and counted, until some settle. This bounds the
   * memory a sink that never answers can hold. 1–1,000,000, default 1000.
   */
  maxPendingWrites?: number;
  /**
   * How long `close()` waits for pending writes, then for the sinks' `close()`, in ms; writes
   * still pending then count as dropped. 0–600,000, default 5000.
   */
  closeTimeoutMs?: number;
}

/** Default {@link TenantLogOptions.maxPendingWrites}. */
export const DEFAULT_MAX_PENDING_WRITES = 1000;

/** Default {@link TenantLogOptions.closeTimeoutMs}. */
export const DEFAULT_LOG_CLOSE_TIMEOUT_MS = 5000;

interface PendingWrite {
  readonly index: number;
  readonly entry: LogEntry;
  /** Set when `close()` stopped waiting and counted the write as dropped. */
  abandoned: boolean;
  settled?: Promise<void>;
}

/**
 * The tenant log: fans each entry out to every sink. Writing never throws and never waits for a
 * sink, so a broken or slow log destination can never fail or delay a token exchange; each
 * failure is counted per sink instead. Sinks receive one frozen copy of the entry, so neither the
 * caller nor another sink can change what they see, and that copy is bounded whoever built the
 * entry: every field cut to a documented length with a marker, the whole to 32 KiB (see
 * `boundedEntry`), so a request's oversized parameter or header cannot grow any sink.
 *
 * A synchronous sink runs inside `write`: sinks doing I/O should return a promise (and are not
 * awaited).
 */
export class TenantLog {
  readonly #sinks: readonly LogSink[];
  readonly #dropped: number[];
  readonly #pendingCounts: number[];
  readonly #onSinkError: TenantLogOptions['onSinkError'];
  readonly #maxPendingWrites: number;
  readonly #closeTimeoutMs: number;
  readonly #pending = new Set<PendingWrite>();
  #closed = false;
  #closing: Promise<void> | undefined;

  constructor(options: TenantLogOptions) {
    if (!Array.isArray(options?.sinks)) {
      throw new TypeError('TenantLog: options.sinks must be an array of log sinks');
    }
    options.sinks.forEach((sink, i) => {
      if (typeof (sink as Partial<LogSink> | null)?.write !== 'function') {
        throw new TypeError(`TenantLog: options.sinks[${i}] must have a write(entry) method`);
      }
    });
    if (options.onSinkError !== undefined && typeof options.onSinkError !== 'function') {
      throw new TypeError('TenantLog: options.onSinkError must be a function');
    }
    const { maxPendingWrites = DEFAULT_MAX_PENDING_WRITES } = options;
    const { closeTimeoutMs = DEFAULT_LOG_CLOSE_TIMEOUT_MS } = options;
    if (!Number.isInteger(maxPendingWrites) || maxPendingWrites < 1 || maxPendingWrites > 1e6) {
      throw new TypeError(
        'TenantLog: options.maxPendingWrites must be an integer from 1 to 1000000',
      );
    }
    if (!Number.isInteger(closeTimeoutMs) || closeTimeoutMs < 0 || closeTimeoutMs > 600_000) {
      throw new TypeError('TenantLog: options.closeTimeoutMs must be an integer from 0 to 600000');
    }
    this.#sinks = [...options.sinks];
    this.#dropped = this.#sinks.map(() => 0);
    this.#pendingCounts = this.#sinks.map(() => 0);
    this.#onSinkError = options.onSinkError;
    this.#maxPendingWrites = maxPendingWrites;
    this.#closeTimeoutMs = closeTimeoutMs;
  }

  /**
   * Entries each sink failed to take or deliver, indexed like `options.sinks` (a copy): those the
   * tenant log saw fail (a throw, a rejection once it rejected, too many pending writes, a write
   * after close or still pending when `close()` gave up) plus the sink's own
   * {@link LogSink.dropped} count.
   */
  get dropped(): number[] {
    return this.#sinks.map((sink, i) => {
      let own = 0;
      try {
        const counted = sink.dropped;
        if (typeof counted === 'number' && Number.isFinite(counted)) own = counted;
      } catch {
        // A broken counter must not hide the drops the tenant log counted itself.
      }
      return this.#dropped[i]! + own;
    });
  }

  /** Hands `entry` to every sink. Returns at once; never throws. */
  write(entry: LogEntry): void {
    if (this.#closed) {
      const closed = new Error('the tenant log is closed');
      this.#sinks.forEach((_sink, i) => this.#drop(i, closed, entry));
      return;
    }
    let copy: LogEntry;
    try {
      copy = boundedEntry(entry);
    } catch (err) {
      // Only a malformed entry (a function or symbol in it) gets here: no sink can take it.
      this.#sinks.forEach((_sink, i) => this.#drop(i, err, entry));
      return;
    }
    this.#sinks.forEach((sink, i) => {
      if (this.#pendingCounts[i]! >= this.#maxPendingWrites) {
        const error = new Error(`${this.#maxPendingWrites} writes of this sink are still pending`);
        this.#drop(i, error, copy);
        return;
      }
      try {
        const result = sink.write(copy);
        if (isPromiseLike(result)) this.#track(i, result, copy);
      } catch (err) {
        this.#drop(i, err, copy);
      }
    });
  }

  /**
   * Waits for the sinks' pending writes, then closes every sink (`close` errors are swallowed: at
   * shutdown there is no one left to tell), each wait bounded by `closeTimeoutMs`: writes still
   * pending then are counted as dropped, and a sink still closing is left to finish on its own.
   * Later writes are dropped. Idempotent: every call resolves when the first one is done.
   */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    this.#closed = true;
    const writesSettled = await settlesWithin(
      Promise.allSettled([...this.#pending].flatMap((write) => write.settled ?? [])),
      this.#closeTimeoutMs,
    );
    if (!writesSettled) {
      const stillPending = new Error('the write was still pending when the tenant log closed');
      for (const write of this.#pending) {
        write.abandoned = true;
        this.#drop(write.index, stillPending, write.entry);
      }
      this.#pending.clear();
    }
    await settlesWithin(
      Promise.allSettled(this.#sinks.map(async (sink) => sink.close?.())),
      this.#closeTimeoutMs,
    );
  }

  #track(index: number, result: PromiseLike<void>, entry: LogEntry): void {
    const write: PendingWrite = { index, entry, abandoned: false };
    this.#pendingCounts[index]! += 1;
    this.#pending.add(write);
    write.settled = Promise.resolve(result).then(
      () => void this.#settle(write),
      (err: unknown) => {
        if (this.#settle(write)) this.#drop(index, err, entry);
      },
    );
  }

  /** Forgets a settled write; false when `close()` already counted it. */
  #settle(write: PendingWrite): boolean {
    if (write.abandoned) return false;
    this.#pendingCounts[write.index]! -= 1;
    this.#pending.delete(write);
    return true;
  }

  #drop(index: number, error: unknown, entry: LogEntry): void {
    this.#dropped[index] = (this.#dropped[index] ?? 0) + 1;
    const sink = this.#sinks[index];
    if (!this.#onSinkError || !sink) return;
    try {
      this.#onSinkError(error, sink, entry);
    } catch {
      // The reporter failing must not turn a dropped entry into a failed exchange.
    }
  }
}

let lastIdTime = 0;
let lastIdRandom = 0;

/**
 * A new `log_id`: 24 lower-case hex characters, 12 of milliseconds since the epoch and 12 of a
 * random number. Ids of one process sort in creation order even within one millisecond (the
 * random part is incremented, as in monotonic ULIDs) and if the clock steps back; across
 * processes they sort by time to the millisecond.
 */
export function newLogId(): string {
  let time = Date.now();
  let random: number;
  if (time <= lastIdTime) {
    time = lastIdTime;
    random = lastIdRandom + 1;
    // 2^48 ids in one millisecond: borrow the next millisecond.
    if (random >= 2 ** 48) {
      time += 1;
      random = randomUint48();
    }
  } else {
    random = randomUint48();
  }
  lastIdTime = time;
  lastIdRandom = random;
  return time.toString(16).padStart(12, '0') + random.toString(16).padStart(12, '0');
}

function isPromiseLike(value: unknown): value is PromiseLike<void> {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { then?: unknown }).then === 'function'
  );
}
