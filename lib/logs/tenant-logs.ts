import type { LogEntry, LogEntryType, LogSink } from './log-entry.js';
import { LogEventEmitter } from './log-events.js';
import type { LogListener } from './log-events.js';
import { MemoryLogSink } from './memory-log-sink.js';
import type { LogQuery } from './memory-log-sink.js';
import { isQueryableLogSink, type QueryableLogSink } from './log-query.js';
import { describeError, rateLimitedWarning } from './rate-limited-warning.js';
import type { RateLimitedWarn } from './rate-limited-warning.js';
import { TenantLog } from './tenant-log.js';

/** Drops of one sink, as {@link TenantLogsHandle.dropped} reports them. */
export interface LogSinkDropCount {
  /** `'memory'` for the in-memory ring, otherwise the sink's index in `options.logSinks`. */
  sink: 'memory' | number;
  /** The sink's class name (`JsonLinesLogSink`, `FunctionLogSink`, `Object`, ...). */
  name: string;
  /**
   * Entries the sink did not take or could not deliver: it threw or rejected, too many of its
   * writes were pending, a write was still pending at `close()`, plus the drops the sink counts
   * itself (a `JsonLinesLogSink`'s full buffer or failed writes).
   */
  dropped: number;
}

/** The router's `logs` handle. */
export interface TenantLogsHandle {
  /**
   * Entries matching `query`, newest first, as copies: filter by `type`, `from_date`/`to_date`,
   * `client_id`, `user_id` and `ip`, page with `take` and the `from` cursor (see
   * {@link LogQuery}). Answered by the first sink of `options.logSinks` that answers queries (has
   * `list(query)`: a `PostgresLogSink` answers for every instance and across restarts; an entry
   * reaches a buffering sink's answers once its batch is written), or by the in-memory ring of
   * this process when none does. A query the sink cannot read rejects with a `TypeError`.
   */
  list(query?: LogQuery): Promise<LogEntry[]>;
  /** What every sink dropped so far, the ring first, then `options.logSinks` in order. */
  dropped(): LogSinkDropCount[];
}

/** Options of {@link createTenantLogs}. */
export interface TenantLogsOptions {
  /** Entries the in-memory ring keeps. */
  capacity: number;
  /** Bytes the in-memory ring keeps (see `MemoryLogSinkOptions.maxBytes`). */
  maxBytes: number;
  sinks: readonly LogSink[];
  onSinkError: ((error: unknown, sink: LogSink, entry: LogEntry) => void) | undefined;
  /** Where warnings go. Default `console.warn`. */
  warn?: (message: string) => void;
  /** How long `close()` waits for pending writes, then for the sinks' `close()`, in ms. */
  closeTimeoutMs?: number;
}

/** The tenant log of one router, with what the router exposes of it. */
export interface TenantLogs {
  /** What the token endpoint writes to. */
  log: TenantLog;
  handle: TenantLogsHandle;
  on(type: LogEntryType, listener: LogListener): void;
  once(type: LogEntryType, listener: LogListener): void;
  off(type: LogEntryType, listener: LogListener): void;
}

/**
 * Builds a router's tenant log: the in-memory ring, the event emitter behind `on`/`once`/`off`
 * and the configured sinks, in that order. A sink's failure goes to `onSinkError` when given,
 * otherwise to a rate-limited `warn`; a listener's failure always to the latter.
 */
export function createTenantLogs(options: TenantLogsOptions): TenantLogs {
  const warn: RateLimitedWarn = rateLimitedWarning(options.warn ? { warn: options.warn } : {});
  const memory = new MemoryLogSink({ capacity: options.capacity, maxBytes: options.maxBytes });
  const events = new LogEventEmitter({
    onListenerError: (error, type, listener) =>
      warn(
        listener,
        `customTokenExchange: a ${JSON.stringify(type)} tenant-log listener failed: ` +
          `${describeError(error)}. The exchange was not affected.`,
      ),
  });
  const configured = [...options.sinks];
  const queried: QueryableLogSink = configured.find(isQueryableLogSink) ?? memory;
  const sinks: LogSink[] = [memory, events, ...configured];
  const label = (sink: LogSink): string => {
    if (sink === memory) return 'the in-memory ring';
    if (sink === events) return 'the event emitter';
    return `options.logSinks[${configured.indexOf(sink)}] (${nameOf(sink)})`;
  };
  const warnDrop = (error: unknown, sink: LogSink): void =>
    warn(
      sink,
      `customTokenExchange: tenant-log sink ${label(sink)} dropped an entry: ` +
        `${describeError(error)}. logs.dropped() counts every drop; this warning repeats at ` +
        'most once a minute per sink.',
    );
  const { onSinkError } = options;
  const log = new TenantLog({
    sinks,
    ...(options.closeTimeoutMs === undefined ? {} : { closeTimeoutMs: options.closeTimeoutMs }),
    onSinkError: (error, sink, entry) => {
      if (onSinkError && configured.includes(sink)) onSinkError(error, sink, entry);
      else warnDrop(error, sink);
    },
  });

  return {
    log,
    handle: Object.freeze({
      list: async (query?: LogQuery) => queried.list(query),
      dropped: (): LogSinkDropCount[] => {
        const counts = log.dropped;
        return [
          { sink: 'memory', name: nameOf(memory), dropped: counts[0]! },
          ...configured.map((sink, i) => ({
            sink: i,
            name: nameOf(sink),
            dropped: counts[i + 2]!,
          })),
        ];
      },
    }),
    on: (type, listener) => events.on(type, listener),
    once: (type, listener) => events.once(type, listener),
    off: (type, listener) => events.off(type, listener),
  };
}

function nameOf(sink: LogSink): string {
  const name = (sink as { constructor?: { name?: unknown } }).constructor?.name;
  return typeof name === 'string' && name !== '' ? name : 'Object';
}
