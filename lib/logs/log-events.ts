import type { LogEntry, LogEntryType, LogSink } from './log-entry.js';

/**
 * Listens to tenant-log entries of one type. The entry is deep-frozen (shared with the other
 * listeners and sinks). A throw or a rejected promise is reported, never propagated.
 */
export type LogListener = (entry: LogEntry) => unknown;

/** Options of {@link LogEventEmitter}. */
export interface LogEventEmitterOptions {
  /** Told when a listener throws or its promise rejects. Must not throw. Default: nothing. */
  onListenerError?: (error: unknown, type: string, listener: LogListener) => void;
}

interface Registration {
  readonly listener: LogListener;
  readonly once: boolean;
}

/**
 * Emits every entry written to it under its `type` (`secte`, `fecte`, and any type added later:
 * nothing here lists them). A sink, so the tenant log feeds it like any other.
 *
 * Listeners are called in a microtask after the entry is written, in registration order, each
 * on its own: one that throws neither stops the others nor reaches the exchange. Listeners
 * registered while an entry is being delivered see only later entries; a `once` listener sees
 * exactly one entry, even when two arrive before it runs.
 */
export class LogEventEmitter implements LogSink {
  readonly #listeners = new Map<string, Registration[]>();
  readonly #onListenerError: LogEventEmitterOptions['onListenerError'];

  constructor(options: LogEventEmitterOptions = {}) {
    if (options.onListenerError !== undefined && typeof options.onListenerError !== 'function') {
      throw new TypeError('LogEventEmitter: options.onListenerError must be a function');
    }
    this.#onListenerError = options.onListenerError;
  }

  /** Calls `listener` with every later entry of `type`. */
  on(type: LogEntryType, listener: LogListener): void {
    this.#add(type, listener, false);
  }

  /** Calls `listener` with the next entry of `type` only. */
  once(type: LogEntryType, listener: LogListener): void {
    this.#add(type, listener, true);
  }

  /** Removes the latest registration of `listener` for `type` (`on` or `once`), if any. */
  off(type: LogEntryType, listener: LogListener): void {
    const registrations = this.#listeners.get(type);
    if (!registrations) return;
    const index = registrations.findLastIndex((r) => r.listener === listener);
    if (index === -1) return;
    const remaining = registrations.toSpliced(index, 1);
    if (remaining.length > 0) this.#listeners.set(type, remaining);
    else this.#listeners.delete(type);
  }

  /** Listeners registered for `type`. */
  listenerCount(type: LogEntryType): number {
    return this.#listeners.get(type)?.length ?? 0;
  }

  /** Delivers `entry` to the listeners of its type, in a microtask. Never throws. */
  write(entry: LogEntry): void {
    const registrations = this.#listeners.get(entry.type);
    if (!registrations) return;
    // Arrays are replaced, never changed in place, so this one is a snapshot already.
    if (registrations.some((r) => r.once)) {
      const kept = registrations.filter((r) => !r.once);
      if (kept.length > 0) this.#listeners.set(entry.type, kept);
      else this.#listeners.delete(entry.type);
    }
    queueMicrotask(() => {
      for (const { listener } of registrations) this.#call(listener, entry);
    });
  }

  #add(type: LogEntryType, listener: LogListener, once: boolean): void {
    if (typeof type !== 'string' || (type as string) === '') {
      throw new TypeError('LogEventEmitter: the event type must be a log entry type');
    }
    if (typeof listener !== 'function') {
      throw new TypeError('LogEventEmitter: the listener must be a function');
    }
    this.#listeners.set(type, [...(this.#listeners.get(type) ?? []), { listener, once }]);
  }

  #call(listener: LogListener, entry: LogEntry): void {
    try {
      const result = listener(entry);
      if (typeof (result as PromiseLike<unknown> | undefined)?.then === 'function') {
        Promise.resolve(result).catch((err: unknown) => this.#report(err, entry.type, listener));
      }
    } catch (err) {
      this.#report(err, entry.type, listener);
    }
  }

  #report(error: unknown, type: string, listener: LogListener): void {
    try {
      this.#onListenerError?.(error, type, listener);
    } catch {
      // Nothing is left to tell; the exchange must not notice.
    }
  }
}
