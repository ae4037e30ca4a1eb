import { createWatchdogIsolate, type Isolate, type WatchdogIsolate } from './isolates.js';

/** How often the watchdog looks at the entry in progress (and so how late it may stop one). */
export const WATCHDOG_POLL_MS = 5;
/**
 * The most stalled time credited to one entry. The watchdog cannot tell the whole process stopped
 * from its own thread starved while the entry's ran on: the cap bounds how long a spinning entry
 * may run past its budget in the second case.
 */
const MAX_STALL_CREDIT_MS = 1_000;
/** A round ends this long after it began, at the next idle moment, to take isolates gone away. */
const ROUND_MS = 5_000;
/**
 * A round ends after this long without entries, so an idle process can exit (a running round keeps
 * Node's event loop alive); the next entry starts another.
 */
const IDLE_MS = 1_000;
/**
 * How long a process that exits waits for a running round to leave: it leaves within one poll. Node
 * tears isolated-vm down at exit, and an isolate still running on its thread pool then crashes the
 * process (SIGSEGV) instead of letting it exit with its code.
 */
const EXIT_WAIT_MS = 100;

// Int32 slots of the shared memory, in bytes 0-39 (the Float64 slots below follow them).
const SEQ = 0; // the entry in progress: its sequence number, 0 when none
const SLOT = 1; // the isolate it runs in
const WATCHING = 2; // 1 while a round watches
const KILLED = 3; // the last entry the watchdog stopped
const CREDITED = 4; // the last entry whose deadline a stall moved (by STALLED ms)
const REFRESH = 5; // 1: end the round at the next idle moment (new isolates to watch)
const STOP = 6; // 1: end the round and do not start another
const SLEEP = 7; // never written: Atomics.wait on it is a plain sleep (Atomics.notify cuts it short)
const ACTIVITY = 8; // the last entry's sequence number, covered or not (never reset)
const ROUND = 9; // 1 from when the host starts a round until the round returns
// Float64 slots, in bytes 40-55 (clear of the Int32 ones).
const DEADLINE = 5; // when the entry in progress is to be stopped (epoch ms)
const BEGAN = 6; // when it began (epoch ms)
const STALLED = 7; // how long the process could not run during entry CREDITED (ms)

/**
 * The watchdog's round, run in its own isolate on isolated-vm's thread pool. It sleeps
 * {@link WATCHDOG_POLL_MS} at a time; an entry still in progress after its deadline has its isolate
 * disposed (which is how isolated-vm stops code from another thread). A wake-up more than a poll
 * later than asked means the process was not running (descheduled, throttled, stopped): the entry
 * in progress could not run either, so that time, from the entry's start on, moves its deadline. Leaving a round follows
 * Dekker's pattern with the host's `begin`: WATCHING goes to 0, then SEQ is read again, so an entry
 * that began while the round was leaving is either seen here or saw WATCHING 0 and took a timer.
 */
const ROUND_SOURCE = String.raw`
(function () {
  const i32 = new Int32Array(shared);
  const f64 = new Float64Array(shared);
  const targets = new Map();
  return function round(removed, pollMs, roundMs, idleMs) {
    for (const slot of removed.split(',')) targets.delete(Number(slot));
    for (let i = 4; i + 1 < arguments.length; i += 2) targets.set(arguments[i], arguments[i + 1]);
    const started = Date.now();
    let activity = Atomics.load(i32, ${ACTIVITY});
    let activeAt = started;
    let woke = started;
    let creditedSeq = 0;
    let credit = 0;
    Atomics.store(i32, ${WATCHING}, 1);
    for (;;) {
      Atomics.wait(i32, ${SLEEP}, 0, pollMs);
      if (Atomics.load(i32, ${STOP}) === 1) {
        Atomics.store(i32, ${WATCHING}, 0);
        return left('stop');
      }
      const now = Date.now();
      const missed = now - woke - pollMs;
      woke = now;
      if (Atomics.load(i32, ${ACTIVITY}) !== activity) {
        activity = Atomics.load(i32, ${ACTIVITY});
        activeAt = now;
      }
      const seq = Atomics.load(i32, ${SEQ});
      if (seq !== 0) {
        if (seq !== creditedSeq) {
          creditedSeq = seq;
          credit = 0;
        }
        if (missed > pollMs) {
          credit = Math.min(credit + Math.max(0, Math.min(missed, now - f64[${BEGAN}])), ${MAX_STALL_CREDIT_MS});
          f64[${STALLED}] = credit;
          Atomics.store(i32, ${CREDITED}, seq);
        }
        if (now >= f64[${DEADLINE}] + credit && Atomics.load(i32, ${SEQ}) === seq) {
          const slot = Atomics.load(i32, ${SLOT});
          const target = targets.get(slot);
          targets.delete(slot);
          Atomics.store(i32, ${KILLED}, seq);
          try { if (target !== undefined) target.dispose(); } catch (error) {}
        }
        continue;
      }
      const leave =
        Atomics.load(i32, ${REFRESH}) === 1 || now - started >= roundMs ? 'refresh' :
        now - activeAt >= idleMs ? 'idle' : undefined;
      if (leave === undefined) continue;
      Atomics.store(i32, ${WATCHING}, 0);
      if (Atomics.load(i32, ${SEQ}) === 0) return left(leave);
      Atomics.store(i32, ${WATCHING}, 1);
    }
  };
  function left(reason) {
    Atomics.store(i32, ${ROUND}, 0);
    Atomics.notify(i32, ${ROUND});
    return reason;
  }
})()`;

/** What {@link EntryWatchdog.begin} decided for one entry. */
export interface WatchedEntry {
  /** The isolated-vm `timeout` the entry needs: 0 when the watchdog covers it. */
  readonly timeoutMs: number;
  readonly seq: number;
}

/**
 * Stops a synchronous sandbox entry that runs past its CPU budget without a timer per entry.
 *
 * isolated-vm's `timeout` starts a timer for every call, and its timer thread wakes up once for each
 * of them when it falls due, long after the call returned: at a few thousand entries a second on a
 * busy core that costs the event loop far more than the entries themselves (the benchmark measured
 * about 0.5 ms per exchange). The watchdog is one round-robin sleeper instead, in an isolate of its
 * own on isolated-vm's thread pool: the host marks each entry's start (sequence number, isolate,
 * deadline) and end in shared memory, and the watchdog disposes the isolate of an entry still
 * running at its deadline, at most {@link WATCHDOG_POLL_MS} late. The deadline is of the time the
 * process ran: time the watchdog itself could not run (the host descheduled) does not count against
 * the entry, so a legitimate entry is not stopped because the host stalled. Isolates it does not watch yet
 * (new ones, until the next round begins) and entries while no round runs fall back to `timeout`;
 * a round ends after a second without entries, so that it does not keep an idle process alive.
 */
export class EntryWatchdog {
  readonly #shared = new SharedArrayBuffer(64);
  readonly #i32 = new Int32Array(this.#shared);
  readonly #f64 = new Float64Array(this.#shared);
  readonly #isolate: WatchdogIsolate;
  /** Slot of each isolate given to {@link watch}. */
  readonly #slots = new Map<Isolate, number>();
  /** Slots the running round watches. */
  readonly #watched = new Set<number>();
  #added: Array<[number, Isolate]> = [];
  #removed: number[] = [];
  #nextSlot = 1;
  #seq = 0;
  #running = false;
  #broken = false;
  #closed = false;

  constructor() {
    this.#isolate = createWatchdogIsolate(this.#shared, ROUND_SOURCE);
    process.on('exit', this.#leaveAtExit);
  }

  /** Starts watching entries into `isolate` from the next round on. */
  watch(isolate: Isolate): void {
    if (this.#closed || this.#slots.has(isolate)) return;
    const slot = this.#nextSlot++;
    this.#slots.set(isolate, slot);
    this.#added.push([slot, isolate]);
    Atomics.store(this.#i32, REFRESH, 1);
    this.#startRound();
  }

  /** Forgets `isolate` (disposed or replaced). */
  unwatch(isolate: Isolate): void {
    const slot = this.#slots.get(isolate);
    if (slot === undefined) return;
    this.#slots.delete(isolate);
    this.#watched.delete(slot);
    this.#added = this.#added.filter(([pending]) => pending !== slot);
    this.#removed.push(slot);
  }

  /**
   * Marks the start of a synchronous entry into `isolate` that may run `budgetMs`. Call
   * {@link end} right after it, however it ended.
   */
  begin(isolate: Isolate, budgetMs: number): WatchedEntry {
    const timeoutMs = Math.max(1, Math.ceil(budgetMs));
    const slot = this.#slots.get(isolate);
    if (slot === undefined) return { timeoutMs, seq: 0 };
    const i32 = this.#i32;
    this.#seq = this.#seq >= 0x7fffffff ? 1 : this.#seq + 1;
    const seq = this.#seq;
    Atomics.store(i32, ACTIVITY, seq);
    if (!this.#running) {
      this.#startRound();
      return { timeoutMs, seq: 0 };
    }
    if (!this.#watched.has(slot) || Atomics.load(i32, SEQ) !== 0) return { timeoutMs, seq: 0 };
    const now = Date.now();
    this.#f64[BEGAN] = now;
    this.#f64[DEADLINE] = now + timeoutMs;
    Atomics.store(i32, SLOT, slot);
    Atomics.store(i32, SEQ, seq);
    if (Atomics.load(i32, WATCHING) === 1) return { timeoutMs: 0, seq };
    Atomics.store(i32, SEQ, 0);
    return { timeoutMs, seq: 0 };
  }

  /**
   * Whether a round is watching every isolate given to {@link watch} so far, so that entries into
   * any of them are stopped without a timer.
   */
  get covering(): boolean {
    return (
      this.#running &&
      !this.#closed &&
      this.#added.length === 0 &&
      Atomics.load(this.#i32, WATCHING) === 1
    );
  }

  /** Marks the end of the entry; true when the watchdog stopped it (its isolate is disposed). */
  end(entry: WatchedEntry): boolean {
    if (entry.seq === 0) return false;
    Atomics.store(this.#i32, SEQ, 0);
    return Atomics.load(this.#i32, KILLED) === entry.seq;
  }

  /**
   * How long the process could not run during the entry (descheduled), as far as the watchdog saw:
   * time that is not the guest's. Read it after {@link end}.
   */
  stalledMs(entry: WatchedEntry): number {
    if (entry.seq === 0 || Atomics.load(this.#i32, CREDITED) !== entry.seq) return 0;
    return this.#f64[STALLED] ?? 0;
  }

  /** Ends the rounds and disposes the watchdog's isolate. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    process.off('exit', this.#leaveAtExit);
    Atomics.store(this.#i32, STOP, 1);
    this.#slots.clear();
    this.#watched.clear();
    // The round returns within one poll; disposing the isolate ends it at once either way.
    this.#isolate.dispose();
  }

  /**
   * Ends the running round before Node tears isolated-vm down (`process.exit`, or an uncaught
   * error), so that the process exits with its own code: the round's thread would otherwise still
   * run in an isolate being destroyed. Blocks the exiting process for one poll at most.
   */
  readonly #leaveAtExit = (): void => {
    const i32 = this.#i32;
    Atomics.store(i32, STOP, 1);
    Atomics.notify(i32, SLEEP);
    Atomics.wait(i32, ROUND, 1, EXIT_WAIT_MS);
  };

  #startRound(): void {
    if (this.#running || this.#closed || this.#broken) return;
    this.#running = true;
    const added = this.#added;
    const removed = this.#removed;
    this.#added = [];
    this.#removed = [];
    Atomics.store(this.#i32, REFRESH, 0);
    for (const [slot] of added) this.#watched.add(slot);
    Atomics.store(this.#i32, ROUND, 1);
    this.#isolate
      // Isolate handles cross as handles (isolated-vm transfers them), so no copy option.
      .round([removed.join(','), WATCHDOG_POLL_MS, ROUND_MS, IDLE_MS, ...added.flat()])
      .then(
        (reason: unknown) => {
          this.#running = false;
          // Idle: the next entry starts a round (until then nothing keeps the process alive).
          if (reason === 'refresh' || this.#added.length > 0) this.#startRound();
        },
        () => {
          // The watchdog is gone (closed, or failed): every entry takes isolated-vm's timeout.
          Atomics.store(this.#i32, ROUND, 0);
          this.#running = false;
          this.#broken = true;
          this.#watched.clear();
        },
      );
  }
}

/**
 * Entries are synchronous on the event loop's thread, so one at a time in the whole process: one
 * watchdog (one thread while entries run) serves every runner, however many routers a host mounts.
 */
let sharedWatchdog: { watchdog: EntryWatchdog; runners: number } | undefined;

/** The process's watchdog, made by the first runner that needs one. */
export function acquireWatchdog(): EntryWatchdog {
  sharedWatchdog ??= { watchdog: new EntryWatchdog(), runners: 0 };
  sharedWatchdog.runners += 1;
  return sharedWatchdog.watchdog;
}

/** The last runner to let go closes it; a later runner makes a new one. */
export function releaseWatchdog(watchdog: EntryWatchdog): void {
  if (sharedWatchdog?.watchdog !== watchdog) return;
  sharedWatchdog.runners -= 1;
  if (sharedWatchdog.runners > 0) return;
  sharedWatchdog = undefined;
  watchdog.close();
}
