import type { LogEntry, LogSink } from './log-entry.js';

/** Receives each tenant-log entry; may return a promise. */
export type LogFunction = (entry: LogEntry) => unknown;

/** Options of {@link FunctionLogSink}. */
export interface FunctionLogSinkOptions {
  /**
   * Called once when the router closes, after every call of the function has settled: flush the
   * logger here (pino's `logger.flush()`). Default: nothing.
   */
  close?: () => unknown;
}

/**
 * A sink that hands every entry to a function: any logger (pino, winston, `console`), a queue,
 * a SIEM client.
 *
 * The function is called in a microtask after the entry is written, so it runs after the
 * exchange's response is on its way, never on the exchange's own path. A throw, or a returned
 * promise that rejects, counts the entry as dropped for this sink (see the router's
 * `logs.dropped()`); a returned promise is awaited by `close()`.
 *
 * Entries are deep-frozen: a logger that adds fields to the object it is given needs a copy
 * (`{ ...entry }`).
 *
 * @example
 * new FunctionLogSink((entry) => logger.info(entry, entry.description)) // pino
 * new FunctionLogSink((entry) => logger.log({ level: 'info', message: entry.description, ...entry })) // winston
 */
export class FunctionLogSink implements LogSink {
  readonly #fn: LogFunction;
  readonly #close: (() => unknown) | undefined;

  constructor(fn: LogFunction, options: FunctionLogSinkOptions = {}) {
    if (typeof fn !== 'function') {
      throw new TypeError('FunctionLogSink: the argument must be a function (entry) => ...');
    }
    if (options.close !== undefined && typeof options.close !== 'function') {
      throw new TypeError('FunctionLogSink: options.close must be a function');
    }
    this.#fn = fn;
    this.#close = options.close;
  }

  /** Calls the function with `entry` in a microtask; settles when its result settles. */
  write(entry: LogEntry): Promise<void> {
    const fn = this.#fn;
    return Promise.resolve(entry)
      .then((e) => fn(e))
      .then(() => undefined);
  }

  /** Runs `options.close`, if any. */
  async close(): Promise<void> {
    await this.#close?.();
  }
}
