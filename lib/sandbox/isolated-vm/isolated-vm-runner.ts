import type { ActionCache } from '../capabilities/action-cache.js';
import type { ActionReplay } from '../capabilities/action-replay.js';
import {
  ActionFailure,
  type ActionApiRecorder,
  type ActionEvent,
  type ActionLimits,
  type ActionVersion,
  type ExecutionRunner,
} from '../action-runner.js';
import { runawayFailure } from '../runaway-policy.js';
import {
  Execution,
  cpuFailure,
  memoryFailure,
  stoppedFailure,
  wallClockFailure,
} from './execution.js';
import { acquireWatchdog, releaseWatchdog, type EntryWatchdog } from './entry-watchdog.js';
import { ENTRY_END } from './guest-source.js';
import { HostCalls, type CapabilityInvoker } from './host-calls.js';
import { hostFunctions } from './host-functions.js';
import { IsolatePool, type VersionContext } from './isolate-pool.js';
import { SETUP_TIMEOUT_MS, type Reference } from './isolates.js';
import { SourceCheck } from './source-check.js';

export type { CapabilityInvoker } from './host-calls.js';

/** Options of {@link IsolatedVmRunner}. */
export interface IsolatedVmRunnerOptions {
  /** Executes `require('jose')` and `fetch` calls on the host, within each execution's scope. */
  capabilities: CapabilityInvoker;
  /** The clock of deadlines (epoch ms). */
  now: () => number;
  /**
   * Called when V8 loses control of an isolate (isolated-vm's `onCatastrophicError`). Default:
   * write the message to stderr and `process.abort()`, as isolated-vm's README prescribes, since
   * the process can no longer be trusted.
   */
  onCatastrophicError?: (message: string) => void;
}

/** Counts for monitoring and tests. */
export interface IsolatedVmRunnerStats {
  /** Live isolates (one per action, plus one being drained after a memory-limit change). */
  isolates: number;
  /** Live contexts (one per version that ran and was not released). */
  contexts: number;
  /** Executions in flight. */
  executions: number;
  /** Isolates the entry watchdog stopped (an execution past its CPU budget), since the start. */
  watchdogStops: number;
}

const TIMED_OUT = 'Script execution timed out.';
const COPY_ARGUMENTS = Object.freeze({ arguments: Object.freeze({ copy: true }) });
const RESOLVED = Promise.resolve();

/**
 * Runs sandboxed action code in isolated-vm: the executions and their entries into the guest.
 *
 * Each action has its own isolate and each deployed version one context, prepared once (see
 * isolate-pool.ts): every execution calls the version's compiled wrapper afresh, so what one execution
 * leaves anywhere never reaches the next. The event goes in by copy; `api.*`, `api.cache.*`,
 * `console.*`, URL parsing and randomness come out through synchronous Callbacks (see
 * host-functions.ts); capabilities and timers start through a Callback and settle later through a
 * fresh entry (see host-calls.ts). Every entry runs synchronously on the event loop's thread, stopped by the entry
 * watchdog at the execution's remaining CPU budget, and the isolate's `cpuTime` is charged to the
 * execution, so the budget covers the whole execution across awaits; a wall-clock timer bounds it
 * as a whole, host calls included.
 *
 * Entries are synchronous on purpose: an asynchronous entry (isolated-vm's thread pool) costs about
 * 0.1 ms of CPU more per execution. The price is that guest code runs on the event loop's thread,
 * so nothing in the guest may run long without V8 being able to stop it: the guest guards the
 * built-ins V8 cannot interrupt (guest/guards.js), and nothing of the guest's is ever read outside
 * an entry (guest/execution.js `beginEntry`).
 */
export class IsolatedVmRunner implements ExecutionRunner {
  readonly #now: () => number;
  readonly #pool: IsolatePool<Execution>;
  readonly #sourceCheck: SourceCheck;
  /** Stops entries past their CPU budget: the process's one watchdog. */
  readonly #watchdog: EntryWatchdog;
  #watchdogStops = 0;
  /** The execution whose entry is running (entries are synchronous, so at most one). */
  #current: Execution | undefined;
  /** Host time charged to the entry running (capability calls answered within it), in ms. */
  #hostMs = 0;
  #nextExecutionId = 1;
  #closed = false;

  constructor(options: IsolatedVmRunnerOptions) {
    this.#now = options.now;
    const onCatastrophicError = options.onCatastrophicError ?? abortOnCatastrophicError;
    this.#sourceCheck = new SourceCheck(onCatastrophicError);
    const watchdog = acquireWatchdog();
    this.#watchdog = watchdog;
    const hostCalls = new HostCalls(
      options.capabilities,
      options.now,
      (execution, callId, ok, value) => this.#deliver(execution, callId, ok, value),
      (ms) => {
        this.#hostMs += ms;
        watchdog.chargeHostCall(ms);
      },
    );
    this.#pool = new IsolatePool<Execution>({
      hostFunctions: hostFunctions<Execution>({
        current: () => {
          const execution = this.#current;
          return execution === undefined || execution.ended || execution.outcome !== undefined
            ? undefined
            : execution;
        },
        invoke: (execution, callId, name, args) => hostCalls.invoke(execution, callId, name, args),
      }),
      observer: {
        created: (isolate) => watchdog.watch(isolate),
        dropped: (isolate) => watchdog.unwatch(isolate),
      },
      onCatastrophicError,
      checkSource: (code) => this.#sourceCheck.check(code),
      onLost: (executions) => {
        for (const execution of executions) this.#end(execution, memoryFailure(execution));
      },
    });
  }

  /**
   * Runs `version.code` with a copy of `event` (its `secrets` replaced by the version's), calling
   * the export of the recorder's trigger: `onExecuteCustomTokenExchange` or `onExecutePostExchange`.
   * @throws ActionFailure `invalid` for code that does not compile; `threw` with
   *   `Name: message (line L, column C)`; `timeout` for the CPU budget or the wall-clock deadline;
   *   `memory` when the isolate ran out of memory
   */
  run(
    version: ActionVersion,
    limits: ActionLimits,
    event: ActionEvent,
    recorder: ActionApiRecorder,
    cache: ActionCache | undefined,
    replay?: ActionReplay,
  ): Promise<void> {
    if (this.#closed) {
      return Promise.reject(new ActionFailure('invalid', 'the action sandbox is closed'));
    }
    const { code } = version;
    if (typeof code !== 'string') {
      return Promise.reject(
        new ActionFailure('invalid', 'the sandbox runs only actions given as code'),
      );
    }
    let vc: VersionContext<Execution>;
    try {
      vc = this.#pool.contextFor({ ...version, code }, limits);
    } catch (err) {
      if (err instanceof ActionFailure && err.kind === 'memory') runawayFailure(err);
      return Promise.reject(err);
    }
    const execution = new Execution(
      this.#nextExecutionId++,
      vc,
      version,
      limits,
      recorder,
      cache,
      this.#now() + limits.timeoutMs,
      replay,
    );
    this.#pool.entered(vc, execution);
    // The guest picks the entry point and builds the api of the recorder's trigger.
    this.#enter(execution, vc.execute, [
      execution.id,
      event,
      version.secrets,
      recorder.trigger ?? 'custom-token-exchange',
    ]);
    // Most executions end within that first entry: only one still waiting on a host call or a
    // timer needs a promise of its own and the wall-clock timer.
    if (execution.ended) {
      return execution.failure === undefined ? RESOLVED : Promise.reject(execution.failure);
    }
    return new Promise<void>((resolve, reject) => {
      execution.settlement = { resolve, reject };
      const left = execution.deadline - this.#now();
      if (left <= 0) this.#end(execution, wallClockFailure(execution));
      else {
        execution.deadlineTimer = setTimeout(
          () => this.#end(execution, wallClockFailure(execution)),
          left,
        );
      }
    });
  }

  /** Whether executions of `version` may use `api.cache`: its code names it. */
  usesCache(version: ActionVersion): boolean {
    return typeof version.code === 'string' && version.code.includes('cache');
  }

  /**
   * Compiles `code` without running it.
   * @throws ActionFailure `invalid` with `SyntaxError: <message> (line L, column C)` in the
   *   author's coordinates, or when the code is larger than 100 kB
   */
  validate(code: string): void {
    if (this.#closed) throw new ActionFailure('invalid', 'the action sandbox is closed');
    if (typeof code !== 'string') throw new ActionFailure('invalid', 'code must be a string');
    this.#sourceCheck.check(code);
  }

  /** Disposes the version's context once its executions in flight have ended. */
  release(version: ActionVersion): void {
    this.#pool.release(version);
  }

  /** Ends every execution in flight (`ActionFailure('threw')`) and disposes every isolate. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const execution of this.#pool.executions()) {
      this.#end(execution, new ActionFailure('threw', 'the action sandbox was closed'));
    }
    this.#pool.close();
    releaseWatchdog(this.#watchdog);
    this.#sourceCheck.close();
  }

  /** Live isolates, contexts and executions. */
  stats(): IsolatedVmRunnerStats {
    return {
      ...this.#pool.stats(),
      executions: this.#pool.executions().length,
      watchdogStops: this.#watchdogStops,
    };
  }

  /**
   * One synchronous entry into the execution's context, bounded by its remaining CPU budget.
   * Microtasks run before applySync returns, so whatever the entry set in motion inside the
   * isolate has finished or is waiting on a host call when this returns.
   */
  #enter(execution: Execution, ref: Reference, args: unknown[]): void {
    const owner = execution.vc.owner;
    const remaining = execution.limits.cpuTimeMs - execution.cpuMs;
    if (remaining <= 0) {
      this.#end(execution, cpuFailure(execution));
      return;
    }
    const { isolate } = owner;
    const before = isolate.cpuTime;
    const previous = this.#current;
    const previousHostMs = this.#hostMs;
    this.#current = execution;
    this.#hostMs = 0;
    const entry = this.#watchdog.begin(isolate, remaining, before);
    // An entry on isolated-vm's timeout (not the watchdog's) also measures the process's CPU, all
    // threads: the isolate's `cpuTime` counts the time the process was stopped mid-entry (the
    // watchdog credits that time; the timeout cannot), the process's CPU does not.
    const processCpu = entry.timeoutMs === 0 ? undefined : process.cpuUsage();
    let thrown: unknown = ENTRY_END;
    let stopped = false;
    try {
      ref.applySync(
        undefined,
        args,
        entry.timeoutMs === 0
          ? COPY_ARGUMENTS
          : { arguments: { copy: true }, timeout: entry.timeoutMs },
      );
    } catch (err) {
      thrown = err;
    } finally {
      stopped = this.#watchdog.end(entry);
      this.#current = previous;
    }
    const hostMs = this.#hostMs;
    this.#hostMs = previousHostMs;
    if (isolate.isDisposed) {
      const stop = stopped ? this.#watchdog.stopOf(entry) : undefined;
      if (stop !== undefined) this.#watchdogStops += 1;
      this.#failLost(
        this.#pool.lost(owner),
        stop === undefined
          ? undefined
          : { execution, failure: stoppedFailure(execution, { ...stop, budgetMs: remaining }) },
      );
      return;
    }
    // The isolate's time, less what the watchdog saw the process stopped (not the guest's), plus
    // the host calls charged.
    const used = Number(isolate.cpuTime - before) / 1e6 - this.#watchdog.stalledMs(entry) + hostMs;
    execution.cpuMs += Math.max(0, used);
    if (thrown !== ENTRY_END) {
      // The entry was stopped part-way: the isolate is not used again (see IsolatePool.discard).
      const failure =
        thrown instanceof Error && thrown.message === TIMED_OUT
          ? stoppedFailure(execution, {
              cpuMs: Math.min(used, cpuMsSince(processCpu)),
              afterMs: entry.timeoutMs,
              budgetMs: remaining,
            })
          : new ActionFailure(
              'threw',
              `the sandbox could not finish an entry: ${describe(thrown)}`,
            );
      this.#failLost(this.#pool.discard(owner), { execution, failure });
      return;
    }
    if (execution.ended) return;
    this.#afterEntry(execution);
  }

  /** Ends the execution if its promise settled, or if nothing can ever resume it. */
  #afterEntry(execution: Execution): void {
    if (execution.outcome !== undefined) {
      this.#end(
        execution,
        execution.outcome.ok ? undefined : new ActionFailure('threw', execution.outcome.message),
      );
    } else if (execution.pendingCalls === undefined || execution.pendingCalls.size === 0) {
      // Only a host call or timer can resume a guest that has gone quiet: with none pending, its
      // promise never settles (it awaits something nothing will resolve).
      this.#end(
        execution,
        new ActionFailure(
          'threw',
          'the action awaits a promise that can never settle (no host call or timer is pending)',
        ),
      );
    }
  }

  /** Finishes an execution exactly once: revokes its capabilities and frees what it held. */
  #end(execution: Execution, failure?: ActionFailure): void {
    if (execution.ended) return;
    execution.ended = true;
    execution.failure = failure;
    execution.stop();
    const { vc } = execution;
    if (
      execution.outcome === undefined &&
      (execution.pendingCalls?.size ?? 0) > 0 &&
      !vc.owner.isolate.isDisposed &&
      this.#current !== execution
    ) {
      // The guest still keeps the execution's record and pending promises: drop them.
      try {
        vc.abandon.applySync(undefined, [execution.id], { timeout: SETUP_TIMEOUT_MS });
      } catch {
        // ENTRY_END, or the isolate is gone: the record goes with the context at the latest.
      }
    }
    this.#pool.left(vc, execution);
    if (execution.settlement !== undefined) {
      if (failure === undefined) execution.settlement.resolve();
      else execution.settlement.reject(failure);
    }
  }

  /**
   * Fails the executions that were in flight in a lost isolate; the next run builds a new one.
   * Without `stopped`, the memory limit disposed it; otherwise one execution's entry was stopped
   * (by the watchdog, past its CPU budget, or by isolated-vm's timeout) and fails with `failure`.
   */
  #failLost(
    executions: Execution[],
    stopped?: { execution: Execution; failure: ActionFailure },
  ): void {
    for (const execution of executions) {
      if (stopped === undefined) {
        this.#end(execution, memoryFailure(execution));
      } else if (execution === stopped.execution) {
        this.#end(execution, stopped.failure);
      } else {
        const cause =
          stopped.failure.kind === 'timeout'
            ? `exceeded its CPU budget of ${stopped.execution.limits.cpuTimeMs} ms`
            : `was stopped (${stopped.failure.message})`;
        this.#end(
          execution,
          new ActionFailure(
            'threw',
            `another execution of the action ${cause} and its isolate was stopped (it is replaced for the next execution)`,
          ),
        );
      }
    }
  }

  #deliver(execution: Execution, callId: number, ok: boolean, value: unknown): void {
    if (execution.ended) return;
    // A host call settling at the deadline (its own timeout fires with the runner's) must not let
    // the action run on: the execution has timed out, whatever the call answered.
    if (this.#now() >= execution.deadline) {
      this.#end(execution, wallClockFailure(execution));
      return;
    }
    if (execution.pendingCalls?.delete(callId) !== true) return;
    this.#enter(execution, execution.vc.settle, [execution.id, callId, ok, value]);
  }
}

/** The process's CPU time since `started` (ms), every thread; Infinity when not measured. */
function cpuMsSince(started: NodeJS.CpuUsage | undefined): number {
  if (started === undefined) return Infinity;
  const { user, system } = process.cpuUsage(started);
  return (user + system) / 1000;
}

function abortOnCatastrophicError(message: string): void {
  console.error(`isolated-vm: catastrophic error, aborting the process: ${message}`);
  process.abort();
}

/** A host-side error's message (isolated-vm's own, copied out as plain strings). */
function describe(thrown: unknown): string {
  if (thrown instanceof Error) return thrown.message;
  return typeof thrown === 'string' ? thrown : typeof thrown;
}
