import { copyPlain } from '../plain-copy.js';
import {
  MAX_LOG_ENTRY_BYTES,
  boundedEntry,
  boundedEntrySize,
  isBoundedEntry,
} from './entry-bounds.js';
import type { LogEntry, LogSink } from './log-entry.js';
import { normalizeIp, parseLogQuery, type LogQuery } from './log-query.js';

/** Options of {@link MemoryLogSink}. */
export interface MemoryLogSinkOptions {
  /** Entries kept; the oldest is dropped when a new one arrives. 1–1,000,000, default 1000. */
  capacity?: number;
  /**
   * Bytes the entries kept may take together, each counted as the UTF-8 length of its JSON text
   * (the heap holds a small multiple of that); the oldest are dropped to make room for a new one.
   * 32 KiB (one entry of the largest size) to 1 GiB; default 8 MiB.
   */
  maxBytes?: number;
}

/** Default {@link MemoryLogSinkOptions.capacity}. */
export const DEFAULT_MEMORY_LOG_CAPACITY = 1000;

/** Default {@link MemoryLogSinkOptions.maxBytes}. */
export const DEFAULT_MEMORY_LOG_MAX_BYTES = 8 * 1024 * 1024;

/**
 * An in-memory ring of the latest tenant-log entries that can be queried: the default sink, and
 * the one tests read. It stores and returns deep copies, so nothing outside can change a stored
 * entry. Lost on restart and not shared between instances: use a persistent sink for auditing.
 *
 * Bounded twice: by entries (`capacity`) and by bytes (`maxBytes`). Each entry is held within
 * the tenant log's bounds (see `boundedEntry`: every field cut to its limit, the whole to 32 KiB),
 * also when the sink is written to directly.
 *
 * `list()` returns everything when no `take` is given: the ring is bounded, and tests and
 * debugging want it whole. The Management API layer applies Auth0's paging bounds (`take` 1–100,
 * default 50) itself and passes them in.
 *
 * Cost: a write is constant time; a query walks the ring from its cursor (found in constant
 * time) until `take` entries matched, so at worst once over the whole ring.
 */
export class MemoryLogSink implements LogSink {
  readonly #capacity: number;
  readonly #maxBytes: number;
  // Entry number n (counted from the first write ever) lives in slot n % capacity; the ring
  // holds numbers #oldest up to #next - 1.
  readonly #ring: Array<LogEntry | undefined>;
  // Milliseconds of each slot's `date`, parsed once at write time for date-range queries.
  readonly #times: Float64Array;
  // Size in bytes of each slot's entry (see MemoryLogSinkOptions.maxBytes).
  readonly #sizes: Uint32Array;
  #bytes = 0;
  // log_id → entry number of its latest occurrence, so a cursor is found without a scan.
  readonly #numbers = new Map<string, number>();
  #oldest = 0;
  #next = 0;

  constructor(options: MemoryLogSinkOptions = {}) {
    const capacity = options.capacity ?? DEFAULT_MEMORY_LOG_CAPACITY;
    if (!Number.isInteger(capacity) || capacity < 1 || capacity > 1_000_000) {
      throw new TypeError('MemoryLogSink: options.capacity must be an integer from 1 to 1000000');
    }
    const maxBytes = options.maxBytes ?? DEFAULT_MEMORY_LOG_MAX_BYTES;
    if (!Number.isInteger(maxBytes) || maxBytes < MAX_LOG_ENTRY_BYTES || maxBytes > 2 ** 30) {
      throw new TypeError(
        `MemoryLogSink: options.maxBytes must be an integer from ${MAX_LOG_ENTRY_BYTES} to ${2 ** 30}`,
      );
    }
    this.#capacity = capacity;
    this.#maxBytes = maxBytes;
    this.#ring = new Array<LogEntry | undefined>(capacity).fill(undefined);
    this.#times = new Float64Array(capacity);
    this.#sizes = new Uint32Array(capacity);
  }

  /** Entries currently held. */
  get size(): number {
    return this.#next - this.#oldest;
  }

  /** Most entries held at once. */
  get capacity(): number {
    return this.#capacity;
  }

  /** Bytes the entries held take (see {@link MemoryLogSinkOptions.maxBytes}). */
  get bytes(): number {
    return this.#bytes;
  }

  /**
   * Stores a bounded deep copy of `entry` (or the entry itself when it is the tenant log's
   * bounded copy), dropping the oldest entries until it fits both bounds.
   *
   * @throws TypeError for an entry holding a function or symbol.
   */
  write(entry: LogEntry): void {
    const copy = isBoundedEntry(entry) ? entry : boundedEntry(entry);
    const size = boundedEntrySize(copy);
    if (this.size === this.#capacity) this.#evictOldest();
    while (this.size > 0 && this.#bytes + size > this.#maxBytes) this.#evictOldest();
    const slot = this.#next % this.#capacity;
    this.#ring[slot] = copy;
    this.#sizes[slot] = size;
    this.#bytes += size;
    this.#times[slot] = Date.parse(copy.date);
    this.#numbers.set(copy.log_id, this.#next);
    this.#next += 1;
  }

  /**
   * Entries matching `query`, newest (last written) first, as deep copies; see {@link LogQuery}.
   *
   * @throws TypeError when `query` has a field {@link LogQuery} does not define (a misspelt
   *   filter would otherwise list everything).
   * @throws RangeError when `take` is not a positive integer, or a date is not a date.
   */
  list(query: LogQuery = {}): LogEntry[] {
    const match = compileQuery(query);
    const { from, take } = query;
    const limit = take ?? Number.POSITIVE_INFINITY;
    let n = this.#next - 1;
    if (from !== undefined) {
      const cursor = this.#numbers.get(from);
      if (cursor === undefined) return [];
      n = cursor - 1; // the cursor entry itself was on the previous page
    }
    const result: LogEntry[] = [];
    for (; n >= this.#oldest && result.length < limit; n--) {
      const slot = n % this.#capacity;
      const entry = this.#ring[slot]!;
      if (match(entry, this.#times[slot]!)) result.push(copyPlain(entry));
    }
    return result;
  }

  /** Forgets every entry. */
  clear(): void {
    this.#ring.fill(undefined);
    this.#numbers.clear();
    this.#bytes = 0;
    this.#oldest = this.#next;
  }

  #evictOldest(): void {
    const slot = this.#oldest % this.#capacity;
    const evicted = this.#ring[slot]!;
    // A later entry may reuse the id; its own number then stays.
    if (this.#numbers.get(evicted.log_id) === this.#oldest) this.#numbers.delete(evicted.log_id);
    this.#ring[slot] = undefined;
    this.#bytes -= this.#sizes[slot]!;
    this.#oldest += 1;
  }
}

type EntryMatcher = (entry: LogEntry, time: number) => boolean;

/** Checks `query` once and turns its filters into one predicate. */
function compileQuery(query: LogQuery): EntryMatcher {
  const { types, fromMs, toMs, clientId, userId, ip } = parseLogQuery(query, 'MemoryLogSink.list');
  return (entry, time) =>
    (types === undefined || types.has(entry.type)) &&
    (fromMs === undefined || time >= fromMs) &&
    (toMs === undefined || time < toMs) &&
    (clientId === undefined || entry.client_id === clientId) &&
    (userId === undefined || entry.user_id === userId) &&
    (ip === undefined || normalizeIp(entry.ip) === ip);
}
