import type { Writable } from 'node:stream';
import type { LogEntry, LogSink } from './log-entry.js';
import { describeError, rateLimitedWarning } from '../rate-limited-warning.js';
import { RotatingFile } from './rotating-file.js';
import type { AppendResult } from './rotating-file.js';
import { settlesWithin } from './settles-within.js';

/** Options of {@link JsonLinesLogSink} for either destination. */
export interface JsonLinesCommonOptions {
  /**
   * Bytes of entries waiting to be written (buffered, plus the batch being written) at most. An
   * entry that does not fit is dropped and counted: this is what bounds the memory a slow or
   * stuck destination can take. 1024–1 GiB, default 8 MiB.
   */
  maxBufferBytes?: number;
  /**
   * How long an entry may wait for its batch, in ms: a batch is written this long after its
   * first entry, or as soon as 64 KiB are waiting. 0–60000, default 100.
   */
  flushIntervalMs?: number;
  /**
   * How long `close()` waits for the last batches, in ms; entries not written by then are
   * counted as dropped. 0–600000, default 5000.
   */
  closeTimeoutMs?: number;
  /**
   * Told each time entries are dropped: the reason and how many. Must not throw. Default: a
   * `console.warn` for the first failure, then at most one a minute.
   */
  onError?: (error: Error, dropped: number) => void;
}

/** {@link JsonLinesLogSink} writing to a stream (`process.stdout`, a socket, a pipe). */
export interface JsonLinesStreamOptions extends JsonLinesCommonOptions {
  /** The destination. The sink never ends it: it is yours (`close()` only flushes). */
  stream: Writable | NodeJS.WritableStream;
  path?: never;
  maxBytes?: never;
  maxFiles?: never;
}

/** {@link JsonLinesLogSink} writing to a file it rotates. */
export interface JsonLinesFileOptions extends JsonLinesCommonOptions {
  /** The file, created (mode 0640) or appended to. One sink per file. */
  path: string;
  /** Size at which the file is rotated, in bytes. 1024–1 TiB, default 10 MiB. */
  maxBytes?: number;
  /** Rotated files kept (`path.1` newest to `path.<maxFiles>` oldest). 1–1000, default 5. */
  maxFiles?: number;
  stream?: never;
}

/** Options of {@link JsonLinesLogSink}: a `stream` or a `path`. */
export type JsonLinesLogSinkOptions = JsonLinesStreamOptions | JsonLinesFileOptions;

/** Defaults of {@link JsonLinesLogSink}. */
export const JSON_LINES_DEFAULTS = Object.freeze({
  maxBufferBytes: 8 * 1024 * 1024,
  flushIntervalMs: 100,
  closeTimeoutMs: 5000,
  maxBytes: 10 * 1024 * 1024,
  maxFiles: 5,
});

/** Waiting bytes that trigger a batch without waiting for `flushIntervalMs`. */
const EAGER_BATCH_BYTES = 64 * 1024;

const FILE_MODE = 0o640;

const KNOWN_OPTIONS = new Set([
  'stream',
  'path',
  'maxBytes',
  'maxFiles',
  'maxBufferBytes',
  'flushIntervalMs',
  'closeTimeoutMs',
  'onError',
]);

/** Writes one batch; resolves (never rejects) with how many of its lines were written. */
type BatchWriter = (lines: readonly string[], bytes: readonly number[]) => Promise<AppendResult>;

/**
 * A sink writing one JSON object per line (JSON Lines) to a stream or a rotated file: the format
 * log shippers (Vector, Fluent Bit, Filebeat, `jq`) read.
 *
 * `write` never does I/O: it serializes the entry into a buffer, and batches are written off the
 * request path, one write call per batch (per file, when a batch spans a rotation), never two at
 * once: the next batch waits for the previous one's callback, which is how a slow stream's
 * backpressure reaches the buffer. The buffer is capped by `maxBufferBytes`: beyond it entries
 * are dropped, and a failed write drops its batch; both are counted in {@link dropped} and
 * reported through `onError`, never thrown.
 *
 * Call `close()` (the router's `close()` does) before the process exits: entries still
 * buffered are lost otherwise, since the sink's timers do not keep the process alive.
 */
export class JsonLinesLogSink implements LogSink {
  readonly #writeBatch: BatchWriter;
  readonly #closeDestination: (flushed: boolean) => Promise<void>;
  readonly #maxBufferBytes: number;
  readonly #flushIntervalMs: number;
  readonly #closeTimeoutMs: number;
  readonly #onError: (error: Error, dropped: number) => void;
  #lines: string[] = [];
  #lineBytes: number[] = [];
  #bufferedBytes = 0;
  #inFlightLines = 0;
  #inFlightBytes = 0;
  #written = 0;
  #dropped = 0;
  #timer: NodeJS.Timeout | undefined;
  #immediate: NodeJS.Immediate | undefined;
  #draining: Promise<void> | undefined;
  // Bumped when close() gives up on a batch, so its late completion is not counted again.
  #generation = 0;
  #closed = false;
  #closing: Promise<void> | undefined;

  constructor(options: JsonLinesLogSinkOptions) {
    const name = 'JsonLinesLogSink';
    if (typeof options !== 'object' || options === null) {
      throw new TypeError(`${name}: options must be an object with a stream or a path`);
    }
    for (const key of Object.keys(options)) {
      if (!KNOWN_OPTIONS.has(key)) {
        throw new TypeError(`${name}: options.${key} is not a known option`);
      }
    }
    const hasStream = options.stream !== undefined;
    const hasPath = options.path !== undefined;
    if (hasStream === hasPath) {
      throw new TypeError(`${name}: options needs exactly one of stream and path`);
    }
    this.#maxBufferBytes = integerOption(options, 'maxBufferBytes', 1024, 2 ** 30);
    this.#flushIntervalMs = integerOption(options, 'flushIntervalMs', 0, 60_000);
    this.#closeTimeoutMs = integerOption(options, 'closeTimeoutMs', 0, 600_000);
    if (options.onError !== undefined && typeof options.onError !== 'function') {
      throw new TypeError(`${name}: options.onError must be a function`);
    }

    let destination: string;
    if (hasStream) {
      const stream = options.stream as Writable;
      if (typeof stream?.write !== 'function' || typeof stream.on !== 'function') {
        throw new TypeError(`${name}: options.stream must be a writable stream`);
      }
      if (options.maxBytes !== undefined || options.maxFiles !== undefined) {
        throw new TypeError(`${name}: options.maxBytes and maxFiles apply to a path only`);
      }
      destination = 'stream';
      ({ writeBatch: this.#writeBatch, close: this.#closeDestination } = streamWriter(stream));
    } else {
      const path = options.path;
      if (typeof path !== 'string' || path === '') {
        throw new TypeError(`${name}: options.path must be a non-empty string`);
      }
      destination = path;
      const file = new RotatingFile({
        path,
        maxBytes: integerOption(options, 'maxBytes', 1024, 2 ** 40),
        maxFiles: integerOption(options, 'maxFiles', 1, 1000),
        mode: FILE_MODE,
      });
      this.#writeBatch = (lines, bytes) => file.append(lines, bytes);
      this.#closeDestination = () => file.close();
    }

    const warn = rateLimitedWarning();
    this.#onError =
      options.onError ??
      ((error, dropped) =>
        warn(
          this,
          `${name} (${destination}): ${dropped} log ${dropped === 1 ? 'entry' : 'entries'} dropped: ` +
            `${describeError(error)}. The sink's dropped count keeps the total.`,
        ));
  }

  /** Entries dropped so far: buffer full, failed writes, not written at close, written after. */
  get dropped(): number {
    return this.#dropped;
  }

  /** Entries written to the destination so far. */
  get written(): number {
    return this.#written;
  }

  /** Serializes `entry` into the buffer; the write happens later, in a batch. Never throws. */
  write(entry: LogEntry): void {
    if (this.#closed) {
      this.#drop(1, new Error('the sink is closed'));
      return;
    }
    let line: string;
    try {
      line = `${JSON.stringify(entry)}\n`;
    } catch (err) {
      this.#drop(1, err instanceof Error ? err : new Error('the entry cannot be serialized'));
      return;
    }
    const bytes = Buffer.byteLength(line);
    if (this.#bufferedBytes + this.#inFlightBytes + bytes > this.#maxBufferBytes) {
      this.#drop(
        1,
        new Error(`the buffer is full (${this.#maxBufferBytes} bytes waiting to be written)`),
      );
      return;
    }
    this.#lines.push(line);
    this.#lineBytes.push(bytes);
    this.#bufferedBytes += bytes;
    this.#schedule();
  }

  /**
   * Writes everything buffered now. Resolves once it is written or counted as dropped; with a
   * stream that never takes it, that is never (`close()` gives up after `closeTimeoutMs`).
   */
  async flush(): Promise<void> {
    this.#cancelSchedule();
    while (this.#lines.length > 0 || this.#draining) await this.#drain();
  }

  /**
   * Flushes, then closes the file (a stream is left open). Entries not written within
   * `closeTimeoutMs` are counted as dropped; later writes are dropped. Idempotent; never throws.
   */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    this.#closed = true;
    const flushed = await settlesWithin(this.flush(), this.#closeTimeoutMs);
    if (!flushed) {
      this.#generation += 1;
      const lost = this.#lines.length + this.#inFlightLines;
      this.#lines = [];
      this.#lineBytes = [];
      this.#bufferedBytes = 0;
      this.#inFlightLines = 0;
      this.#inFlightBytes = 0;
      this.#drop(lost, new Error(`not written within ${this.#closeTimeoutMs} ms of close()`));
    }
    await settlesWithin(this.#closeDestination(flushed), this.#closeTimeoutMs);
  }

  #schedule(): void {
    if (this.#draining || this.#immediate) return; // the running or next batch takes it
    if (this.#bufferedBytes >= EAGER_BATCH_BYTES) {
      this.#cancelSchedule();
      this.#immediate = setImmediate(() => {
        this.#immediate = undefined;
        void this.#drain();
      }).unref();
    } else if (!this.#timer) {
      this.#timer = setTimeout(() => {
        this.#timer = undefined;
        void this.#drain();
      }, this.#flushIntervalMs).unref();
    }
  }

  #cancelSchedule(): void {
    clearTimeout(this.#timer);
    clearImmediate(this.#immediate);
    this.#timer = undefined;
    this.#immediate = undefined;
  }

  #drain(): Promise<void> {
    this.#draining ??= this.#drainLoop().finally(() => {
      this.#draining = undefined;
      if (this.#lines.length > 0 && !this.#closed) this.#schedule();
    });
    return this.#draining;
  }

  async #drainLoop(): Promise<void> {
    while (this.#lines.length > 0) {
      const lines = this.#lines;
      const bytes = this.#lineBytes;
      const batchBytes = this.#bufferedBytes;
      this.#lines = [];
      this.#lineBytes = [];
      this.#bufferedBytes = 0;
      this.#inFlightLines += lines.length;
      this.#inFlightBytes += batchBytes;
      const generation = this.#generation;
      const { written, error } = await this.#writeBatch(lines, bytes).catch(
        (err: unknown): AppendResult => ({
          written: 0,
          error: err instanceof Error ? err : new Error('the batch write failed'),
        }),
      );
      if (generation !== this.#generation) return; // close() counted this batch already
      this.#inFlightLines -= lines.length;
      this.#inFlightBytes -= batchBytes;
      this.#written += written;
      if (error) this.#drop(lines.length - written, error);
    }
  }

  #drop(count: number, error: Error): void {
    if (count <= 0) return;
    this.#dropped += count;
    try {
      this.#onError(error, count);
    } catch {
      // Reporting must not turn a dropped entry into a failed exchange.
    }
  }
}

/** Writes batches to a stream, one `write` each, resolving on its callback. */
function streamWriter(stream: Writable): {
  writeBatch: BatchWriter;
  close: (flushed: boolean) => Promise<void>;
} {
  // Without a listener an 'error' event would crash the process; the failed writes' callbacks
  // carry the error, so the listener has nothing more to do.
  const ignoreError = (): void => undefined;
  stream.on('error', ignoreError);
  return {
    writeBatch: (lines) =>
      new Promise<AppendResult>((resolve) => {
        if (stream.destroyed || stream.writableEnded) {
          resolve({ written: 0, error: new Error('the stream is closed') });
          return;
        }
        try {
          stream.write(lines.join(''), (err) =>
            resolve(err ? { written: 0, error: err } : { written: lines.length }),
          );
        } catch (err) {
          resolve({ written: 0, error: err instanceof Error ? err : new Error('write threw') });
        }
      }),
    // A batch still in flight may yet fail: keep the listener for it.
    close: async (flushed) => {
      if (flushed) stream.off('error', ignoreError);
    },
  };
}

function integerOption(
  options: JsonLinesLogSinkOptions,
  key: 'maxBufferBytes' | 'flushIntervalMs' | 'closeTimeoutMs' | 'maxBytes' | 'maxFiles',
  min: number,
  max: number,
): number {
  const value = (options as unknown as Record<string, unknown>)[key] ?? JSON_LINES_DEFAULTS[key];
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new TypeError(
      `JsonLinesLogSink: options.${key} must be an integer from ${min} to ${max}`,
    );
  }
  return value;
}
