import { randomUint48 } from '../secure-random.js';
import type { LogEntry, LogSink } from './log-entry.js';

/** Options of {@link TenantLog}. */
export interface TenantLogOptions {
  /** Where every entry goes, in this order. */
  sinks: LogSink[];
  /**
   * Told about each entry a sink failed to take (it threw, its promise rejected, or the log was
   * closed), for an operator's alert. Must not throw; if it does, the error is swallowed. Default:
   * none (the failure only counts in {@link TenantLog.dropped}).
   */
  onSinkError?: (error: unknown, sink: LogSink, entry: LogEntry) => void;
}

/**
 * The tenant log: fans each entry out to every sink. Writing never throws and never waits for a
 * sink, so a broken or slow log destination can never fail or delay a token exchange; each
 * failure is counted per sink instead. Sinks receive one frozen copy of the entry, so neither the
 * caller nor another sink can change what they see.
 *
 * A synchronous sink runs inside `write`: sinks doing I/O should return a promise (and are not
 * awaited).
 */
export class TenantLog {
  readonly #sinks: readonly LogSink[];
  readonly #dropped: number[];
  readonly #onSinkError: TenantLogOptions['onSinkError'];
  readonly #pending = new Set<Promise<void>>();
  #closed = false;

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
    this.#sinks = [...options.sinks];
    this.#dropped = this.#sinks.map(() => 0);
    this.#onSinkError = options.onSinkError;
  }

  /**
   * Entries each sink failed to take, indexed like `options.sinks` (a copy). A rejected promise
   * counts once it has rejected.
   */
  get dropped(): number[] {
    return [...this.#dropped];
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
      copy = deepFreeze(structuredClone(entry));
    } catch (err) {
      // Only a malformed entry (a function or symbol in it) gets here: no sink can take it.
      this.#sinks.forEach((_sink, i) => this.#drop(i, err, entry));
      return;
    }
    this.#sinks.forEach((sink, i) => {
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
   * shutdown there is no one left to tell). Later writes are dropped. Idempotent.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await Promise.allSettled([...this.#pending]);
    await Promise.allSettled(this.#sinks.map(async (sink) => sink.close?.()));
  }

  #track(index: number, result: PromiseLike<void>, entry: LogEntry): void {
    const pending = Promise.resolve(result).then(
      () => undefined,
      (err: unknown) => this.#drop(index, err, entry),
    );
    this.#pending.add(pending);
    void pending.finally(() => this.#pending.delete(pending));
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

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}
