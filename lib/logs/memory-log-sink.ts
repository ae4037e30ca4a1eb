import type { LogEntry, LogEntryType, LogSink } from './log-entry.js';

/** Options of {@link MemoryLogSink}. */
export interface MemoryLogSinkOptions {
  /** Entries kept; the oldest is dropped when a new one arrives. 1–1,000,000, default 1000. */
  capacity?: number;
}

/** A query of {@link MemoryLogSink.list}; every field optional. */
export interface LogQuery {
  /** Only entries of this type (`secte` or `fecte`). */
  type?: LogEntryType;
  /**
   * A `log_id` cursor: only entries written before that entry (exclusive), so the last `log_id`
   * of one page is the `from` of the next. An id no longer in the ring gives an empty page:
   * everything older than an evicted entry has been evicted too.
   */
  from?: string;
  /** Page size, a positive integer. Default: every matching entry. */
  take?: number;
}

/** Default {@link MemoryLogSinkOptions.capacity}. */
export const DEFAULT_MEMORY_LOG_CAPACITY = 1000;

/**
 * An in-memory ring of the latest tenant-log entries that can be queried: the default sink, and
 * the one tests read. It stores and returns deep copies, so nothing outside can change a stored
 * entry. Lost on restart and not shared between instances: use a persistent sink for auditing.
 *
 * `list()` returns everything when no `take` is given: the ring is bounded, and tests and
 * debugging want it whole. The Management API layer applies Auth0's paging bounds (`take` 1–100,
 * default 50) itself and passes them in.
 */
export class MemoryLogSink implements LogSink {
  readonly #capacity: number;
  // Slot of the oldest entry when full; entries are written at (start + size) % capacity.
  readonly #ring: Array<LogEntry | undefined>;
  #start = 0;
  #size = 0;

  constructor(options: MemoryLogSinkOptions = {}) {
    const capacity = options.capacity ?? DEFAULT_MEMORY_LOG_CAPACITY;
    if (!Number.isInteger(capacity) || capacity < 1 || capacity > 1_000_000) {
      throw new TypeError('MemoryLogSink: options.capacity must be an integer from 1 to 1000000');
    }
    this.#capacity = capacity;
    this.#ring = new Array<LogEntry | undefined>(capacity).fill(undefined);
  }

  /** Entries currently held. */
  get size(): number {
    return this.#size;
  }

  /** Most entries held at once. */
  get capacity(): number {
    return this.#capacity;
  }

  /** Stores a deep copy of `entry`, dropping the oldest entry when full. */
  write(entry: LogEntry): void {
    const copy = structuredClone(entry);
    if (this.#size < this.#capacity) {
      this.#ring[(this.#start + this.#size) % this.#capacity] = copy;
      this.#size += 1;
    } else {
      this.#ring[this.#start] = copy;
      this.#start = (this.#start + 1) % this.#capacity;
    }
  }

  /**
   * Entries, newest (last written) first, as deep copies; see {@link LogQuery}.
   *
   * @throws RangeError when `take` is not a positive integer.
   */
  list(query: LogQuery = {}): LogEntry[] {
    const { type, from, take } = query;
    if (take !== undefined && (!Number.isInteger(take) || take < 1)) {
      throw new RangeError('MemoryLogSink.list: take must be a positive integer');
    }
    const limit = take ?? this.#size;
    const result: LogEntry[] = [];
    let i = this.#size - 1;
    if (from !== undefined) {
      while (i >= 0 && this.#at(i).log_id !== from) i--;
      i--; // the cursor entry itself was on the previous page
    }
    for (; i >= 0 && result.length < limit; i--) {
      const entry = this.#at(i);
      if (type === undefined || entry.type === type) result.push(structuredClone(entry));
    }
    return result;
  }

  /** Forgets every entry. */
  clear(): void {
    this.#ring.fill(undefined);
    this.#start = 0;
    this.#size = 0;
  }

  // The i-th entry in write order (0 = oldest held).
  #at(i: number): LogEntry {
    return this.#ring[(this.#start + i) % this.#capacity]!;
  }
}
