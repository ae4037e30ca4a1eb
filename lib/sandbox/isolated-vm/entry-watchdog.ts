import { createWatchdogIsolate, type Isolate, type WatchdogIsolate } from './isolates.js';

/** How often the watchdog looks at the entry in progress (and so how late it may stop one). */
export const WATCHDOG_POLL_MS = 5;
/**
 * How many times its CPU budget an entry may take of wall time, however little of it was the
 * guest's. The guest's CPU time pauses in synchronous host calls and while its thread waits for the
 * isolate's lock, so a guest looping on a synchronous capability would never reach its budget:
 * this stops it. Ten times leaves a legitimate entry on a loaded host nine tenths of its time to
 * wait outside its own code, and holds the event loop at most ten budgets for an abusive one,
 * whose own share of that time then still makes its stop a CPU failure (see `stoppedFailure`).
 */
export const WALL_BACKSTOP_FACTOR = 10;
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
/** After the watchdog's isolate could not be made, entries take `timeout` this long, then retry. */
const RETRY_MS = 1_000;
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
// Float64 slots, in bytes 40-95 (clear of the Int32 ones).
const BUDGET = 5; // the CPU time the entry in progress may use (ms)
const BEGAN = 6; // when it began (epoch ms)
const STALLED = 7; // how long the process could not run during entry CREDITED (ms)
const CPU_AT_BEGIN = 8; // its isolate's `cpuTime` when it began (ms)
const STOP_CPU = 9; // the guest's CPU time in entry KILLED when it was stopped (ms; NaN: unknown)
const STOP_AFTER = 10; // how long after it began entry KILLED was stopped (ms)
const HOST = 11; // the host calls' time charged to the entry in progress so far (ms)

/**
 * The watchdog's round, run in its own isolate on isolated-vm's thread pool. It sleeps
 * {@link WATCHDOG_POLL_MS} at a time; an entry still in progress whose isolate has used its CPU
 * budget since the entry began (isolated-vm's `cpuTime`, readable from this thread, plus the time
 * of the capability calls the host answered within the entry, as charged to HOST), or that has
 * run {@link WALL_BACKSTOP_FACTOR} times its budget of wall time, has its isolate disposed (which is
 * how isolated-vm stops code from another thread), and what the guest used is left for the host. A
 * wake-up more than a poll later than asked means the process was not running (descheduled,
 * throttled, stopped): the entry in progress could not run either, so that time, from the entry's
 * start on, is credited to it (`cpuTime` counts the running part of an entry in wall time, the stop
 * included). Leaving a round follows Dekker's pattern with the host's `begin`: WATCHING goes to 0,
 * then SEQ is read again, so an entry that began while the round was leaving is either seen here or
 * saw WATCHING 0 and took a timer.
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
        // Stopped already: its thread has yet to come back from a host call to notice.
        if (Atomics.load(i32, ${KILLED}) === seq) continue;
        const began = f64[${BEGAN}];
        const budget = f64[${BUDGET}] + credit;
        // The guest's CPU time cannot exceed the wall time since the entry began: not read before.
        if (now - began < budget) continue;
        const slot = Atomics.load(i32, ${SLOT});
        const target = targets.get(slot);
        let cpu = NaN;
        try { cpu = Number(target.cpuTime) / 1e6 - f64[${CPU_AT_BEGIN}] + f64[${HOST}]; } catch (error) {}
        if (!(cpu >= budget) && now - began < ${WALL_BACKSTOP_FACTOR} * f64[${BUDGET}] + credit) continue;
        if (Atomics.load(i32, ${SEQ}) !== seq) continue;
        targets.delete(slot);
        f64[${STOP_CPU}] = cpu - credit;
        f64[${STOP_AFTER}] = now - began;
        Atomics.store(i32, ${KILLED}, seq);
        try { if (target !== undefined) target.dispose(); } catch (error) {}
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
 * budget, the isolate's CPU time) and end in shared memory, and the watchdog disposes the isolate of
 * an entry whose guest has used its CPU budget, at most {@link WATCHDOG_POLL_MS} late. The guest's
 * CPU time, not the wall time, is the budget's: an entry kept from running (its thread starved on a
 * loaded host, waiting for the isolate's lock) is not charged for it, and the capability calls
 * answered within it are charged what the host measured of each, up to a cap (see
 * {@link chargeHostCall}). Wall time
 * only stops an entry at {@link WALL_BACKSTOP_FACTOR} times its budget, and {@link stopOf} tells the
 * host how much of that was the guest's. Time the watchdog itself could not run (the whole process
 * descheduled) does not count against the entry either. Isolates it does not watch yet (new ones,
 * until the next round begins) and entries while no round runs fall back to `timeout`; a round
 * ends after a second without entries, so that it does not keep an idle process alive.
 * The watchdog's isolate is made by the first round and made anew when it is disposed; while it
 * cannot be made, entries take `timeout` too.
 */
export class EntryWatchdog {
  readonly #shared = new SharedArrayBuffer(96);
  readonly #i32 = new Int32Array(this.#shared);
  readonly #f64 = new Float64Array(this.#shared);
  /** Made by the first round; gone when disposed (made anew by the next round) or not creatable. */
  #isolate: WatchdogIsolate | undefined;
  /** No attempt to create the isolate before this time (epoch ms). */
  #retryAt = 0;
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
   * Marks the start of a synchronous entry into `isolate` that may use `budgetMs` of CPU;
   * `cpuTime` is the isolate's `cpuTime` read just before (the host reads it anyway to charge the
   * entry). Call {@link end} right after it, however it ended.
   */
  begin(isolate: Isolate, budgetMs: number, cpuTime: bigint): WatchedEntry {
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
    const f64 = this.#f64;
    f64[BEGAN] = Date.now();
    f64[BUDGET] = timeoutMs;
    f64[CPU_AT_BEGIN] = Number(cpuTime) / 1e6;
    f64[HOST] = 0;
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
   * Charges the entry in progress `ms` of host time spent on its behalf (a capability call answered
   * within the entry): the guest's `cpuTime` leaves host calls out, so an action looping on an
   * expensive one would otherwise run to the wall-time backstop and not be judged its cause.
   */
  chargeHostCall(ms: number): void {
    this.#f64[HOST] = (this.#f64[HOST] ?? 0) + ms;
  }

  /**
   * What the watchdog saw of an entry it stopped ({@link end} said so): the guest's CPU time in it,
   * host calls charged included (NaN when its isolate could not tell), and the wall time it ran,
   * both in ms.
   */
  stopOf(entry: WatchedEntry): { cpuMs: number; afterMs: number } | undefined {
    if (entry.seq === 0 || Atomics.load(this.#i32, KILLED) !== entry.seq) return undefined;
    return { cpuMs: this.#f64[STOP_CPU] ?? NaN, afterMs: this.#f64[STOP_AFTER] ?? 0 };
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
    this.#isolate?.dispose();
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
    const isolate = this.#roundIsolate();
    if (isolate === undefined) return;
    this.#running = true;
    const added = this.#added;
    const removed = this.#removed;
    this.#added = [];
    this.#removed = [];
    Atomics.store(this.#i32, REFRESH, 0);
    for (const [slot] of added) this.#watched.add(slot);
    Atomics.store(this.#i32, ROUND, 1);
    isolate
      // Isolate handles cross as handles (isolated-vm transfers them), so no copy option.
      .round([removed.join(','), WATCHDOG_POLL_MS, ROUND_MS, IDLE_MS, ...added.flat()])
      .then(
        (reason: unknown) => {
          this.#running = false;
          // Idle: the next entry starts a round (until then nothing keeps the process alive).
          if (reason === 'refresh' || this.#added.length > 0) this.#startRound();
        },
        () => {
          Atomics.store(this.#i32, ROUND, 0);
          this.#running = false;
          this.#watched.clear();
          if (this.#closed) return;
          // The round ended without leaving: it watches nothing any more.
          Atomics.store(this.#i32, WATCHING, 0);
          if (!isolate.isDisposed) {
            // The round itself failed and would again: every entry takes isolated-vm's timeout.
            this.#broken = true;
            return;
          }
          // Its isolate was disposed, and the round's list of isolates to watch with it: a new
          // isolate watches every one of them from the next round on, which starts now.
          this.#isolate = undefined;
          this.#added = [...this.#slots].map(([watched, slot]): [number, Isolate] => [
            slot,
            watched,
          ]);
          this.#removed = [];
          this.#startRound();
        },
      );
  }

  /** The isolate that runs the rounds, made if need be; none while it cannot be made. */
  #roundIsolate(): WatchdogIsolate | undefined {
    if (this.#isolate !== undefined || Date.now() < this.#retryAt) return this.#isolate;
    try {
      this.#isolate = createWatchdogIsolate(this.#shared, ROUND_SOURCE);
    } catch {
      // The host cannot make an isolate now: entries take isolated-vm's timeout until the retry.
      this.#retryAt = Date.now() + RETRY_MS;
    }
    return this.#isolate;
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
