import { randomFillSync, randomUUID } from 'node:crypto';
import ivm from 'isolated-vm';
import type { ConsoleLine } from '../actions/types.js';
import {
  ActionFailure,
  type ActionApiMethod,
  type ActionApiRecorder,
  type ActionEvent,
  type ActionLimits,
  type ActionRunner,
  type ActionVersion,
} from './action-runner.js';
import { ActionCache, type ActionCacheStore } from './capabilities/action-cache.js';
import { CapabilityError } from './capabilities/capability-error.js';
import type {
  CapabilityName,
  CapabilityScope,
  HostCapabilities,
} from './capabilities/host-capabilities.js';
import { ACTION_PARAMETERS, PRELUDE_SOURCE, wrapActionSource } from './guest/prelude.js';
import { EntryWatchdog } from './entry-watchdog.js';
import { assertNodeSnapshotDisabled } from './node-snapshot-check.js';
import { DEFAULT_ACTION_LIMITS } from '../options.js';
import { StoreUnavailableError } from '../stores/store-deadline.js';

/** Largest action source, in UTF-8 bytes (100 kB). */
export const MAX_ACTION_CODE_BYTES = 100 * 1024;

/** What the runner needs of {@link HostCapabilities}: the real one, or a test double. */
export type CapabilityInvoker = Pick<HostCapabilities, 'invoke'> &
  Partial<Pick<HostCapabilities, 'invokeSync'>>;

/** Options of {@link IsolatedVmRunner}. */
export interface IsolatedVmRunnerOptions {
  /** Executes `require('jose')` and `fetch` calls on the host, within each execution's scope. */
  capabilities: CapabilityInvoker;
  /** Where `api.cache` entries live between executions. */
  cacheStore: ActionCacheStore;
  /** Clock of `api.cache` and of runaway suspensions (epoch ms). Default `Date.now`. */
  now?: () => number;
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

/** isolated-vm refuses less. */
const MIN_MEMORY_MB = 8;
/** Bounds the prelude, the lockdown and the syntax checks (no action code runs in them). */
const SETUP_TIMEOUT_MS = 2_000;
/** Executions of one action in a row that end at their CPU budget or memory limit: a runaway. */
export const RUNAWAY_STREAK = 3;
/** A runaway action is suspended this long, twice as long each time it runs away again. */
export const RUNAWAY_SUSPENSION_MS = 10_000;
const MAX_RUNAWAY_SUSPENSION_MS = 5 * 60_000;
const TIMED_OUT = 'Script execution timed out.';
/**
 * The abort reason of every ended execution's scope: one shared instance, because the default
 * reason (a DOMException with a stack) costs more than the rest of ending an execution.
 */
const EXECUTION_ENDED = new CapabilityError(
  'ERR_CAPABILITY_REVOKED',
  "the action's execution has ended",
);

const API_METHODS: ReadonlySet<string> = new Set<ActionApiMethod>([
  'access.deny',
  'access.rejectInvalidSubjectToken',
  'authentication.setUserById',
  'authentication.setUserByConnection',
  'authentication.setActor',
  'authentication.setOrganization',
  'user.setAppMetadata',
  'user.setUserMetadata',
  'accessToken.setCustomClaim',
  'idToken.setCustomClaim',
]);
const CONSOLE_LEVELS: ReadonlySet<string> = new Set<ConsoleLine['level']>([
  'log',
  'info',
  'warn',
  'error',
]);
/** Host calls a guest may start: the capabilities, plus the runner's own bounded timer. */
const HOST_CALLS: ReadonlySet<string> = new Set<CapabilityName | 'timer'>([
  'jose.jwtVerify',
  'jose.checkKey',
  'fetch',
  'timer',
]);
const URL_COMPONENTS = [
  'protocol',
  'username',
  'password',
  'host',
  'hostname',
  'port',
  'pathname',
  'search',
  'hash',
] as const;

/** The error data a guest turns into an Error (see guest/jose.ts `toGuestError`). */
interface GuestErrorData {
  name: string;
  code: string;
  message: string;
  claim?: string;
  reason?: string;
}

interface Runaway {
  /** Executions in a row that ran away. */
  streak: number;
  /** Epoch ms; 0 when not suspended yet. */
  suspendedUntil: number;
  /** The next suspension's length. */
  suspensionMs: number;
}

/** One action's isolate: its memory limit is the action's, its contexts are its versions'. */
interface ActionIsolate {
  readonly actionId: string;
  readonly memoryMb: number;
  readonly isolate: ivm.Isolate;
  readonly prelude: ivm.Script;
  readonly contexts: Map<number, VersionContext>;
  inFlight: number;
}

/** One version's context, prepared once: prelude installed, locked down, wrapper compiled. */
interface VersionContext {
  readonly owner: ActionIsolate;
  readonly number: number;
  readonly code: string;
  /** `action:<action_id>`: names the action's frames in stack traces. */
  readonly filename: string;
  readonly context: ivm.Context;
  readonly execute: ivm.Reference;
  readonly settle: ivm.Reference;
  readonly abandon: ivm.Reference;
  readonly executions: Map<number, Execution>;
  released: boolean;
}

interface Execution {
  readonly id: number;
  readonly vc: VersionContext;
  readonly version: ActionVersion;
  readonly limits: ActionLimits;
  readonly recorder: ActionApiRecorder;
  readonly cache: ActionCache;
  readonly deadline: number;
  readonly resolve: () => void;
  readonly reject: (failure: unknown) => void;
  /** Host calls started and not yet delivered back, by call id: their names. */
  readonly pendingCalls: Map<number, string>;
  readonly hostTimers: Set<ReturnType<typeof setTimeout>>;
  cpuMs: number;
  deadlineTimer: ReturnType<typeof setTimeout> | undefined;
  controller: AbortController | undefined;
  scope: CapabilityScope | undefined;
  /** From the guest's report at the end of an entry: the action's promise settled. */
  outcome: { ok: boolean; message: string } | undefined;
  ended: boolean;
}

/**
 * Runs sandboxed action code in isolated-vm.
 *
 * Isolation and speed together (shared/performance.md): each action gets its own isolate (its
 * own heap and memory limit, so a memory bomb cannot take down another action), and each deployed
 * version one context, prepared once: the guest prelude installs the action globals, then every
 * global and intrinsic is frozen, SES-lockdown style, and the action's source is compiled once as
 * a function wrapper. Every execution calls that wrapper afresh, so module-level variables, the
 * `api`, `console`, `require`, `fetch` and timers are the execution's own and die with it, while
 * nothing it could write to is shared: what one execution leaves in globals or prototypes never
 * reaches the next one.
 *
 * The boundary: the event goes in by copy; `api.*`, `api.cache.*`, `console.*`, URL parsing and
 * randomness come out through synchronous isolated-vm Callbacks that only the prelude's closure
 * holds (no global, no `Reference`, no `ExternalCopy` is ever reachable from action code);
 * capabilities (`jose`, `fetch`) and timers start through a callback and settle later through a
 * fresh entry into the context. Every entry runs synchronously, stopped by the entry watchdog (or
 * isolated-vm's timeout, see entry-watchdog.ts) at the execution's remaining CPU budget, and the
 * isolate's `cpuTime` is charged to the execution, so the budget covers the whole execution across
 * awaits. A wall-clock timer bounds the execution as a whole, host calls included; when it ends,
 * however it ends, its capability scope is aborted.
 *
 * Entries are synchronous on purpose: an asynchronous entry (isolated-vm's thread pool) costs about
 * 0.2 ms of CPU more per execution, because every `api` or `console` call then hops threads. The
 * price is that guest code runs on the event loop's thread: an action spinning until its CPU
 * budget blocks the server for that long (100 ms by default), a memory bomb for as long as it takes
 * to reach the limit (~0.2-0.4 s at 16-64 MB); after three such executions in a row the action is
 * suspended (see #refuseSuspended), so a runaway costs the server little for long.
 */
export class IsolatedVmRunner implements ActionRunner {
  readonly #capabilities: CapabilityInvoker;
  readonly #cacheStore: ActionCacheStore;
  readonly #now: () => number;
  readonly #onCatastrophicError: (message: string) => void;
  /** The current isolate of each action. */
  readonly #isolates = new Map<string, ActionIsolate>();
  /** Isolates replaced (memory limit changed) that still finish executions in flight. */
  readonly #draining = new Set<ActionIsolate>();
  /** Executions started per action, for maxConcurrency. */
  readonly #running = new Map<string, number>();
  #syntaxChecker: { isolate: ivm.Isolate; check: ivm.Reference } | undefined;
  /** Stops entries past their CPU budget: the process's one watchdog, from the first isolate on. */
  #watchdog: EntryWatchdog | undefined;
  #watchdogStops = 0;
  /** Actions whose last executions ran away (CPU budget, memory limit), by action id. */
  readonly #runaways = new Map<string, Runaway>();
  /** The execution whose entry is running (entries are synchronous, so at most one). */
  #current: Execution | undefined;
  #nextExecutionId = 1;
  #closed = false;

  /** @throws Error when the process runs without `--no-node-snapshot` (see node-snapshot-check) */
  constructor(options: IsolatedVmRunnerOptions) {
    assertNodeSnapshotDisabled();
    if (typeof options?.capabilities?.invoke !== 'function') {
      throw new TypeError('IsolatedVmRunner: options.capabilities must be a HostCapabilities');
    }
    if (
      typeof options.cacheStore?.load !== 'function' ||
      typeof options.cacheStore.apply !== 'function'
    ) {
      throw new TypeError('IsolatedVmRunner: options.cacheStore must be an ActionCacheStore');
    }
    this.#capabilities = options.capabilities;
    this.#cacheStore = options.cacheStore;
    this.#now = options.now ?? Date.now;
    this.#onCatastrophicError = options.onCatastrophicError ?? abortOnCatastrophicError;
  }

  /**
   * Runs `version.code` with a copy of `event` (its `secrets` replaced by the version's), calling
   * the export of the recorder's trigger: `onExecuteCustomTokenExchange` or `onExecutePostExchange`.
   * @throws ActionFailure `overloaded` beyond `maxConcurrency` (nothing ran); `invalid` for code
   *   that does not compile; `threw` with `Name: message (line L, column C)`; `timeout` for the CPU
   *   budget or the wall-clock deadline; `memory` when the isolate ran out of memory
   */
  async run(
    version: ActionVersion,
    event: ActionEvent,
    recorder: ActionApiRecorder,
  ): Promise<void> {
    if (this.#closed) throw new ActionFailure('invalid', 'the action sandbox is closed');
    if (typeof version.code !== 'string') {
      throw new ActionFailure('invalid', 'the sandbox runs only actions given as code');
    }
    const limits = effectiveLimits(version.limits);
    const actionId = version.action_id;
    this.#refuseSuspended(actionId);
    const running = this.#running.get(actionId) ?? 0;
    if (running >= limits.maxConcurrency) {
      throw new ActionFailure(
        'overloaded',
        `action ${actionId} already runs ${running} executions (maxConcurrency ${limits.maxConcurrency})`,
      );
    }
    this.#running.set(actionId, running + 1);
    const deadline = Date.now() + limits.timeoutMs;
    try {
      let entries: Awaited<ReturnType<ActionCacheStore['load']>>;
      try {
        entries = await this.#cacheStore.load(actionId);
      } catch (err) {
        throw cacheFailure(err, `api.cache could not be loaded: ${messageOf(err)}`);
      }
      const cache = new ActionCache(entries, { now: this.#now });
      let failure: unknown;
      try {
        await this.#execute(version, limits, event, recorder, cache, deadline);
      } catch (err) {
        failure = err;
      }
      this.#countRunaway(actionId, failure);
      const changes = cache.changes();
      if (changes.length > 0) {
        try {
          await this.#cacheStore.apply(actionId, changes);
        } catch (err) {
          failure ??= cacheFailure(err, `api.cache changes could not be saved: ${messageOf(err)}`);
        }
      }
      if (failure !== undefined) throw failure;
    } finally {
      const left = (this.#running.get(actionId) ?? 1) - 1;
      if (left <= 0) this.#running.delete(actionId);
      else this.#running.set(actionId, left);
    }
  }

  /**
   * Compiles `code` without running it.
   * @throws ActionFailure `invalid` with `SyntaxError: <message> (line L, column C)` in the
   *   author's coordinates, or when the code is larger than 100 kB
   */
  validate(code: string): void {
    if (this.#closed) throw new ActionFailure('invalid', 'the action sandbox is closed');
    if (typeof code !== 'string') throw new ActionFailure('invalid', 'code must be a string');
    this.#checkSource(code);
  }

  /** Disposes the version's context once its executions in flight have ended. */
  release(version: ActionVersion): void {
    // Another version is live: a suspension for the old one's runaways does not carry over.
    this.#runaways.delete(version.action_id);
    for (const owner of [this.#isolates.get(version.action_id), ...this.#draining]) {
      if (owner === undefined || owner.actionId !== version.action_id) continue;
      const vc = owner.contexts.get(version.number);
      if (vc === undefined) continue;
      vc.released = true;
      this.#disposeIfIdle(vc);
    }
  }

  /** Ends every execution in flight (`ActionFailure('threw')`) and disposes every isolate. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const owner of [...this.#isolates.values(), ...this.#draining]) {
      for (const vc of owner.contexts.values()) {
        for (const exec of [...vc.executions.values()]) {
          this.#end(exec, new ActionFailure('threw', 'the action sandbox was closed'));
        }
      }
      this.#watchdog?.unwatch(owner.isolate);
      disposeIsolate(owner.isolate);
    }
    this.#isolates.clear();
    this.#draining.clear();
    if (this.#watchdog !== undefined) releaseWatchdog(this.#watchdog);
    this.#watchdog = undefined;
    if (this.#syntaxChecker) disposeIsolate(this.#syntaxChecker.isolate);
    this.#syntaxChecker = undefined;
  }

  /** Live isolates, contexts and executions. */
  stats(): IsolatedVmRunnerStats {
    let contexts = 0;
    let executions = 0;
    const owners = [...this.#isolates.values(), ...this.#draining];
    for (const owner of owners) {
      contexts += owner.contexts.size;
      for (const vc of owner.contexts.values()) executions += vc.executions.size;
    }
    return { isolates: owners.length, contexts, executions, watchdogStops: this.#watchdogStops };
  }

  /**
   * An action whose executions keep running until the sandbox stops them (CPU budget, memory limit)
   * costs the server that much per request while doing nothing useful: after
   * {@link RUNAWAY_STREAK} in a row it is suspended, its executions refused at once with
   * `overloaded` (503 and `Retry-After`) for {@link RUNAWAY_SUSPENSION_MS}, doubling (up to five
   * minutes) while the first execution after each suspension runs away again.
   * @throws ActionFailure `overloaded` while the action is suspended
   */
  #refuseSuspended(actionId: string): void {
    const runaway = this.#runaways.get(actionId);
    const now = this.#now();
    if (runaway === undefined || now >= runaway.suspendedUntil) return;
    const seconds = (runaway.suspendedUntil - now) / 1000;
    throw new ActionFailure(
      'overloaded',
      `action ${actionId} is suspended for ${Math.ceil(seconds)} s: its last ${runaway.streak} executions ran until the sandbox stopped them (CPU budget or memory limit)`,
      seconds,
    );
  }

  #countRunaway(actionId: string, failure: unknown): void {
    if (!(failure instanceof ActionFailure) || !RUNAWAY_FAILURES.has(failure)) {
      this.#runaways.delete(actionId);
      return;
    }
    const runaway = this.#runaways.get(actionId) ?? {
      streak: 0,
      suspendedUntil: 0,
      suspensionMs: RUNAWAY_SUSPENSION_MS,
    };
    runaway.streak += 1;
    this.#runaways.set(actionId, runaway);
    const now = this.#now();
    if (runaway.streak >= RUNAWAY_STREAK && now >= runaway.suspendedUntil) {
      runaway.suspendedUntil = now + runaway.suspensionMs;
      runaway.suspensionMs = Math.min(runaway.suspensionMs * 2, MAX_RUNAWAY_SUSPENSION_MS);
    }
  }

  #execute(
    version: ActionVersion,
    limits: ActionLimits,
    event: ActionEvent,
    recorder: ActionApiRecorder,
    cache: ActionCache,
    deadline: number,
  ): Promise<void> {
    const vc = this.#contextFor(version, limits);
    return new Promise<void>((resolve, reject) => {
      const exec: Execution = {
        id: this.#nextExecutionId++,
        vc,
        version,
        limits,
        recorder,
        cache,
        deadline,
        resolve,
        reject,
        pendingCalls: new Map(),
        hostTimers: new Set(),
        cpuMs: 0,
        deadlineTimer: undefined,
        controller: undefined,
        scope: undefined,
        outcome: undefined,
        ended: false,
      };
      vc.executions.set(exec.id, exec);
      vc.owner.inFlight++;
      const remaining = deadline - Date.now();
      if (remaining <= 0) {
        this.#end(exec, wallClockFailure(exec));
        return;
      }
      // The guest picks the entry point and builds the api of the recorder's trigger.
      this.#enter(exec, vc.execute, [
        exec.id,
        { ...event, secrets: version.secrets },
        recorder.trigger ?? 'custom-token-exchange',
      ]);
      // Most executions end within that first entry (a timer could not have fired during it
      // anyway): only one still waiting on a host call or timer needs the wall-clock timer.
      if (exec.ended) return;
      const left = deadline - Date.now();
      if (left <= 0) this.#end(exec, wallClockFailure(exec));
      else exec.deadlineTimer = setTimeout(() => this.#end(exec, wallClockFailure(exec)), left);
    });
  }

  /**
   * One synchronous entry into the execution's context, bounded by its remaining CPU budget.
   * Microtasks run before applySync returns, so whatever the entry set in motion inside the
   * isolate has finished or is waiting on a host call when this returns.
   */
  #enter(exec: Execution, ref: ivm.Reference, args: unknown[]): void {
    const owner = exec.vc.owner;
    const remaining = exec.limits.cpuTimeMs - exec.cpuMs;
    if (remaining <= 0) {
      this.#end(exec, cpuFailure(exec));
      return;
    }
    const before = owner.isolate.cpuTime;
    let thrown: unknown;
    let failed = false;
    const previous = this.#current;
    this.#current = exec;
    const watchdog = this.#watchdog!;
    const entry = watchdog.begin(owner.isolate, remaining);
    let stopped = false;
    let report: unknown;
    try {
      report = ref.applySync(
        undefined,
        args,
        entry.timeoutMs === 0
          ? { arguments: { copy: true }, result: { copy: true } }
          : { arguments: { copy: true }, result: { copy: true }, timeout: entry.timeoutMs },
      );
    } catch (err) {
      thrown = err;
      failed = true;
    } finally {
      stopped = watchdog.end(entry);
      this.#current = previous;
    }
    if (owner.isolate.isDisposed) {
      if (stopped) this.#watchdogStops += 1;
      this.#isolateLost(owner, stopped ? exec : undefined);
      return;
    }
    exec.cpuMs += Number(owner.isolate.cpuTime - before) / 1e6;
    if (exec.ended) return;
    if (failed) {
      // Besides the timeout, what isolated-vm throws out of an entry is the reason of a promise
      // the action rejected without handling it (as Node would, that fails the execution).
      this.#end(
        exec,
        thrown instanceof Error && thrown.message === TIMED_OUT
          ? cpuFailure(exec)
          : new ActionFailure('threw', describeUnhandledRejection(thrown, exec.vc.filename)),
      );
      return;
    }
    // The guest's report of the execution (see guest/execution.ts `finish`): its promise settled.
    const done = report as { done?: unknown; ok?: unknown; message?: unknown } | undefined;
    if (done?.done === true && exec.outcome === undefined) {
      exec.outcome = { ok: done.ok === true, message: String(done.message) };
    }
    this.#afterEntry(exec);
  }

  /** Ends the execution if its promise settled, or if nothing can ever resume it. */
  #afterEntry(exec: Execution): void {
    if (exec.ended) return;
    if (exec.outcome !== undefined) {
      this.#end(
        exec,
        exec.outcome.ok ? undefined : new ActionFailure('threw', exec.outcome.message),
      );
    } else if (exec.pendingCalls.size === 0) {
      // Only a host call or timer can resume a guest that has gone quiet: with none pending, its
      // promise never settles (it awaits something nothing will resolve).
      this.#end(
        exec,
        new ActionFailure(
          'threw',
          'the action awaits a promise that can never settle (no host call or timer is pending)',
        ),
      );
    }
  }

  /** Finishes an execution exactly once: revokes its capabilities and frees what it held. */
  #end(exec: Execution, failure?: ActionFailure): void {
    if (exec.ended) return;
    exec.ended = true;
    clearTimeout(exec.deadlineTimer);
    for (const timer of exec.hostTimers) clearTimeout(timer);
    exec.hostTimers.clear();
    exec.controller?.abort(EXECUTION_ENDED);
    const { vc } = exec;
    const owner = vc.owner;
    if (exec.outcome === undefined && !owner.isolate.isDisposed && this.#current !== exec) {
      // The guest still keeps the execution's record and pending promises: drop them.
      try {
        vc.abandon.applySync(undefined, [exec.id], { timeout: SETUP_TIMEOUT_MS });
      } catch {
        // The record goes with the context at the latest.
      }
    }
    vc.executions.delete(exec.id);
    owner.inFlight--;
    if (failure === undefined) exec.resolve();
    else exec.reject(failure);
    this.#disposeIfIdle(vc);
  }

  /**
   * A disposed isolate: its executions fail, the next run builds a new one. The memory limit
   * disposes it, or the watchdog stopping `runaway`, an execution past its CPU budget.
   */
  #isolateLost(owner: ActionIsolate, runaway?: Execution): void {
    if (this.#isolates.get(owner.actionId) === owner) this.#isolates.delete(owner.actionId);
    this.#draining.delete(owner);
    this.#watchdog?.unwatch(owner.isolate);
    for (const vc of owner.contexts.values()) {
      for (const exec of [...vc.executions.values()]) {
        if (exec === runaway) {
          this.#end(exec, cpuFailure(exec));
        } else if (runaway !== undefined) {
          this.#end(
            exec,
            new ActionFailure(
              'threw',
              `another execution of the action exceeded its CPU budget of ${runaway.limits.cpuTimeMs} ms and its isolate was stopped (it is replaced for the next execution)`,
            ),
          );
        } else {
          this.#end(
            exec,
            runawayFailure(
              new ActionFailure(
                'memory',
                `action exceeded its memory limit of ${owner.memoryMb} MB (its isolate was disposed and is replaced for the next execution)`,
              ),
            ),
          );
        }
      }
    }
    owner.contexts.clear();
  }

  /** Releases a released version's idle context, and an isolate left with nothing to run. */
  #disposeIfIdle(vc: VersionContext): void {
    const owner = vc.owner;
    if (vc.released && vc.executions.size === 0 && owner.contexts.get(vc.number) === vc) {
      owner.contexts.delete(vc.number);
      releaseContext(vc);
    }
    if (owner.inFlight === 0 && owner.contexts.size === 0 && !owner.isolate.isDisposed) {
      if (this.#isolates.get(owner.actionId) === owner) this.#isolates.delete(owner.actionId);
      this.#draining.delete(owner);
      this.#watchdog?.unwatch(owner.isolate);
      disposeIsolate(owner.isolate);
    }
  }

  #contextFor(version: ActionVersion, limits: ActionLimits): VersionContext {
    const actionId = version.action_id;
    let owner = this.#isolates.get(actionId);
    if (owner !== undefined && (owner.isolate.isDisposed || owner.memoryMb !== limits.memoryMb)) {
      this.#isolates.delete(actionId);
      if (owner.isolate.isDisposed) this.#isolateLost(owner);
      else this.#retire(owner);
      owner = undefined;
    }
    owner ??= this.#createIsolate(actionId, limits.memoryMb);
    let vc = owner.contexts.get(version.number);
    if (vc !== undefined && vc.code !== version.code) {
      // Same number, other code: not the version that context was built for.
      owner.contexts.delete(vc.number);
      vc.released = true;
      if (vc.executions.size === 0) releaseContext(vc);
      vc = undefined;
    }
    vc ??= this.#createContext(owner, version);
    vc.released = false;
    return vc;
  }

  #retire(owner: ActionIsolate): void {
    if (owner.inFlight === 0) {
      this.#watchdog?.unwatch(owner.isolate);
      disposeIsolate(owner.isolate);
      return;
    }
    for (const vc of owner.contexts.values()) vc.released = true;
    this.#draining.add(owner);
  }

  #createIsolate(actionId: string, memoryMb: number): ActionIsolate {
    const isolate = new ivm.Isolate({
      memoryLimit: Math.max(MIN_MEMORY_MB, memoryMb),
      onCatastrophicError: (message) => this.#onCatastrophicError(message),
    });
    const owner: ActionIsolate = {
      actionId,
      memoryMb,
      isolate,
      prelude: isolate.compileScriptSync(PRELUDE_SOURCE, { filename: 'sandbox:prelude' }),
      contexts: new Map(),
      inFlight: 0,
    };
    this.#isolates.set(actionId, owner);
    this.#watchdog ??= acquireWatchdog();
    this.#watchdog.watch(isolate);
    return owner;
  }

  #createContext(owner: ActionIsolate, version: ActionVersion): VersionContext {
    const code = version.code as string;
    this.#checkSource(code);
    const { isolate } = owner;
    const filename = `action:${version.action_id.replace(/[^\w.-]/g, '_')}`;
    const context = isolate.createContextSync();
    const executions = new Map<number, Execution>();
    const references: ivm.Reference[] = [];
    try {
      const setup = owner.prelude.runSync(context, {
        reference: true,
        timeout: SETUP_TIMEOUT_MS,
      }) as ivm.Reference;
      references.push(setup);
      const control = setup.applySync(undefined, this.#hostFunctions(executions), {
        result: { reference: true },
        timeout: SETUP_TIMEOUT_MS,
      }) as ivm.Reference;
      references.push(control);
      const member = (name: string): ivm.Reference => {
        const ref = control.getSync(name, { reference: true }) as ivm.Reference;
        references.push(ref);
        return ref;
      };
      const install = member('install');
      const script = isolate.compileScriptSync(wrapActionSource(code), {
        filename,
        lineOffset: -1,
      });
      const wrapper = script.runSync(context, {
        reference: true,
        timeout: SETUP_TIMEOUT_MS,
      }) as ivm.Reference;
      script.release();
      install.applySync(undefined, [wrapper.derefInto({ release: true }), filename], {
        timeout: SETUP_TIMEOUT_MS,
      });
      const vc: VersionContext = {
        owner,
        number: version.number,
        code,
        filename,
        context,
        execute: member('execute'),
        settle: member('settle'),
        abandon: member('abandon'),
        executions,
        released: false,
      };
      setup.release();
      control.release();
      install.release();
      owner.contexts.set(version.number, vc);
      return vc;
    } catch (err) {
      for (const ref of references) safely(() => ref.release());
      safely(() => context.release());
      if (isolate.isDisposed) {
        this.#isolateLost(owner);
        throw runawayFailure(
          new ActionFailure(
            'memory',
            `the sandbox ran out of memory preparing the action (memory limit ${owner.memoryMb} MB)`,
          ),
        );
      }
      if (err instanceof ActionFailure) throw err;
      throw new ActionFailure('threw', `the sandbox could not be prepared: ${messageOf(err)}`);
    }
  }

  /** The callbacks handed to the prelude, in PRELUDE_HOST_FUNCTIONS order. */
  #hostFunctions(executions: Map<number, Execution>): ivm.Callback[] {
    // An execution whose promise settled is over for the guest too, even before the host ends it.
    const live = (id: unknown): Execution | undefined => {
      const exec = typeof id === 'number' ? executions.get(id) : undefined;
      return exec === undefined || exec.ended || exec.outcome !== undefined ? undefined : exec;
    };
    const hostApi = (id: unknown, method: unknown, args: unknown): string | undefined => {
      const name = String(method);
      const exec = live(id);
      if (exec === undefined) return `api.${name} cannot be used: the action's execution has ended`;
      if (!API_METHODS.has(name)) return `api.${name} is not an api method`;
      try {
        exec.recorder.call(name as ActionApiMethod, Array.isArray(args) ? args : []);
        return undefined;
      } catch (err) {
        return err instanceof Error && err.name === 'ActionApiError'
          ? err.message
          : `api.${name} failed`;
      }
    };
    const hostCache = (id: unknown, operation: unknown, args: unknown): [boolean, unknown] => {
      const exec = live(id);
      if (exec === undefined)
        return [false, "api.cache cannot be used: the action's execution has ended"];
      const [key, value, options] = Array.isArray(args) ? (args as unknown[]) : [];
      try {
        switch (operation) {
          case 'get':
            return [true, exec.cache.get(key)];
          case 'set':
            return [true, exec.cache.set(key, value, options)];
          case 'delete':
            return [true, exec.cache.delete(key)];
          default:
            return [false, `api.cache.${String(operation)} is not a function`];
        }
      } catch {
        return [false, `api.cache.${String(operation)} failed`];
      }
    };
    const hostConsole = (id: unknown, level: unknown, parts: unknown): void => {
      const exec = live(id);
      if (exec === undefined || typeof level !== 'string' || !CONSOLE_LEVELS.has(level)) return;
      try {
        exec.recorder.console(level as ConsoleLine['level'], Array.isArray(parts) ? parts : []);
      } catch {
        // A console line is never worth failing the execution.
      }
    };
    // Answers [ok, value] when the call is over at once, undefined when it settles later.
    const hostInvoke = (
      id: unknown,
      callId: unknown,
      name: unknown,
      args: unknown,
    ): [boolean, unknown] | undefined => {
      const exec = live(id);
      const label = String(name);
      if (exec === undefined) {
        return [
          false,
          {
            name: 'Error',
            code: 'ERR_CAPABILITY_REVOKED',
            message: `${label} cannot be used: the action's execution has ended`,
          },
        ];
      }
      if (!HOST_CALLS.has(label) || typeof callId !== 'number' || !Array.isArray(args)) {
        return [
          false,
          {
            name: 'TypeError',
            code: 'ERR_CAPABILITY_UNKNOWN',
            message: `unknown capability "${label}"`,
          },
        ];
      }
      const answer = this.#answerAtOnce(exec, label, args);
      if (answer === undefined) this.#startHostCall(exec, callId, label, args);
      return answer;
    };
    return [
      new ivm.Callback(hostApi),
      new ivm.Callback(hostCache),
      new ivm.Callback(hostConsole),
      new ivm.Callback(hostInvoke),
      new ivm.Callback(hostUrl),
      new ivm.Callback(hostRandom),
    ];
  }

  /** A capability's answer within this entry, when it has one at hand (HostCapabilities.invokeSync). */
  #answerAtOnce(exec: Execution, name: string, args: unknown[]): [boolean, unknown] | undefined {
    const invokeSync = this.#capabilities.invokeSync;
    if (invokeSync === undefined || name === 'timer' || Date.now() >= exec.deadline)
      return undefined;
    const { version } = exec;
    try {
      const answer = invokeSync.call(
        this.#capabilities,
        {
          actionId: version.action_id,
          allowedHosts: version.allowed_hosts,
          allowedPrivateNetworks: version.allowed_private_networks ?? [],
        },
        name as CapabilityName,
        args,
      );
      return answer === undefined ? undefined : [true, answer.value];
    } catch (err) {
      return [false, guestErrorData(err)];
    }
  }

  #startHostCall(exec: Execution, callId: number, name: string, args: unknown[]): void {
    exec.pendingCalls.set(callId, name);
    let pending: Promise<unknown>;
    try {
      pending =
        name === 'timer'
          ? this.#timer(exec, args[0])
          : this.#capabilities.invoke(this.#scope(exec), name as CapabilityName, args);
    } catch (err) {
      pending = Promise.reject(err);
    }
    pending.then(
      (value) => this.#deliver(exec, callId, true, value),
      (err: unknown) => this.#deliver(exec, callId, false, guestErrorData(err)),
    );
  }

  #deliver(exec: Execution, callId: number, ok: boolean, value: unknown): void {
    if (exec.ended) return;
    // A host call settling at the deadline (its own timeout fires with the runner's) must not let
    // the action run on: the execution has timed out, whatever the call answered.
    if (Date.now() >= exec.deadline) {
      this.#end(exec, wallClockFailure(exec));
      return;
    }
    if (!exec.pendingCalls.delete(callId)) return;
    this.#enter(exec, exec.vc.settle, [exec.id, callId, ok, value]);
  }

  /** The execution's capability scope, made on first use (most executions need one). */
  #scope(exec: Execution): CapabilityScope {
    if (exec.scope === undefined) {
      exec.controller = new AbortController();
      exec.scope = {
        actionId: exec.version.action_id,
        allowedHosts: exec.version.allowed_hosts,
        allowedPrivateNetworks: exec.version.allowed_private_networks ?? [],
        deadline: exec.deadline,
        signal: exec.controller.signal,
      };
    }
    return exec.scope;
  }

  /**
   * A guest setTimeout: resolves after `delay` ms. A timer due after the execution's deadline never
   * fires (the deadline ends the execution first); clamping it instead would let it win the race
   * against the deadline timer and finish an execution that should have timed out.
   */
  #timer(exec: Execution, delay: unknown): Promise<void> {
    const ms = typeof delay === 'number' && Number.isFinite(delay) && delay > 0 ? delay : 0;
    if (Date.now() + ms >= exec.deadline) return new Promise<void>(() => {});
    return new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        exec.hostTimers.delete(timer);
        resolve();
      }, ms);
      exec.hostTimers.add(timer);
    });
  }

  /**
   * Syntax check without running anything, in a small isolate of its own: compiles the wrapper
   * (for the author's line and column), then has V8 parse the source as a function body alone, which
   * refuses source that closes the wrapper early to run code outside it.
   */
  #checkSource(code: string): void {
    const bytes = Buffer.byteLength(code, 'utf8');
    if (bytes > MAX_ACTION_CODE_BYTES) {
      throw new ActionFailure(
        'invalid',
        `the code is ${bytes} bytes; actions may have at most ${MAX_ACTION_CODE_BYTES} bytes (100 kB)`,
      );
    }
    const checker = this.#checker();
    try {
      checker.isolate
        .compileScriptSync(wrapActionSource(code), { filename: 'action', lineOffset: -1 })
        .release();
    } catch (err) {
      if (checker.isolate.isDisposed) this.#syntaxChecker = undefined;
      throw new ActionFailure('invalid', syntaxErrorMessage(err, code));
    }
    let verdict: unknown;
    try {
      verdict = checker.check.applySync(undefined, [code], {
        arguments: { copy: true },
        timeout: SETUP_TIMEOUT_MS,
      });
    } catch (err) {
      if (checker.isolate.isDisposed) this.#syntaxChecker = undefined;
      verdict = messageOf(err);
    }
    if (verdict !== true) {
      // The wrapper compiled, so V8 refused the body alone: the code closes the module function
      // early (a `}` without its `{`) to run something outside it.
      throw new ActionFailure(
        'invalid',
        `SyntaxError: the code closes its module function early (a '}' without a matching '{'); V8: ${String(verdict)}`,
      );
    }
  }

  #checker(): { isolate: ivm.Isolate; check: ivm.Reference } {
    if (this.#syntaxChecker !== undefined && !this.#syntaxChecker.isolate.isDisposed) {
      return this.#syntaxChecker;
    }
    const isolate = new ivm.Isolate({
      memoryLimit: 32,
      onCatastrophicError: (message) => this.#onCatastrophicError(message),
    });
    const context = isolate.createContextSync();
    const parameters = JSON.stringify(ACTION_PARAMETERS);
    const check = context.evalSync(
      `(function (body) {
        try { Reflect.construct(Function, ${parameters}.concat([body])); return true; }
        catch (error) { return String(error && error.message); }
      })`,
      { reference: true, timeout: SETUP_TIMEOUT_MS },
    ) as ivm.Reference;
    this.#syntaxChecker = { isolate, check };
    return this.#syntaxChecker;
  }
}

function effectiveLimits(limits: Partial<ActionLimits> | undefined): ActionLimits {
  const pick = (name: keyof ActionLimits): number => {
    const value = limits?.[name];
    return typeof value === 'number' && Number.isFinite(value) && value > 0
      ? value
      : DEFAULT_ACTION_LIMITS[name];
  };
  return {
    timeoutMs: pick('timeoutMs'),
    cpuTimeMs: pick('cpuTimeMs'),
    memoryMb: pick('memoryMb'),
    maxConcurrency: pick('maxConcurrency'),
  };
}

/**
 * Entries are synchronous on the event loop's thread, so one at a time in the whole process: one
 * watchdog (one thread while entries run) serves every runner, however many routers a host mounts.
 */
let sharedWatchdog: { watchdog: EntryWatchdog; runners: number } | undefined;
function acquireWatchdog(): EntryWatchdog {
  sharedWatchdog ??= { watchdog: new EntryWatchdog(), runners: 0 };
  sharedWatchdog.runners += 1;
  return sharedWatchdog.watchdog;
}
/** The last runner to let go closes it; a later runner makes a new one. */
function releaseWatchdog(watchdog: EntryWatchdog): void {
  if (sharedWatchdog?.watchdog !== watchdog) return;
  sharedWatchdog.runners -= 1;
  if (sharedWatchdog.runners > 0) return;
  sharedWatchdog = undefined;
  watchdog.close();
}

/** The failures that mark an execution as a runaway (see #refuseSuspended). */
const RUNAWAY_FAILURES = new WeakSet<ActionFailure>();

function runawayFailure(failure: ActionFailure): ActionFailure {
  RUNAWAY_FAILURES.add(failure);
  return failure;
}

function cpuFailure(exec: Execution): ActionFailure {
  return runawayFailure(
    new ActionFailure('timeout', `action exceeded its CPU budget of ${exec.limits.cpuTimeMs} ms`),
  );
}

function wallClockFailure(exec: Execution): ActionFailure {
  const waiting = [...new Set(exec.pendingCalls.values())];
  return new ActionFailure(
    'timeout',
    `action exceeded its wall-clock deadline of ${exec.limits.timeoutMs} ms` +
      (waiting.length > 0 ? ` (still waiting for ${waiting.join(', ')})` : ''),
  );
}

/**
 * `SyntaxError: <message> (line L, column C)`, from V8's `<message> [action:L:C]`. An error V8
 * places in the wrapper's closing line comes from unbalanced brackets in the code: it is reported
 * at the end of the code, saying so.
 */
function syntaxErrorMessage(err: unknown, code: string): string {
  const text = messageOf(err);
  const match = /^(.*) \[action:(\d+):(\d+)\]$/s.exec(text);
  const name = err instanceof Error ? err.name : 'SyntaxError';
  if (match === null) return `${name}: ${text}`;
  const lines = code.split('\n');
  if (Number(match[2]) <= lines.length) {
    return `${name}: ${match[1]} (line ${match[2]}, column ${match[3]})`;
  }
  const column = (lines.at(-1)?.length ?? 0) + 1;
  return `${name}: ${match[1]} at the end of the code (line ${lines.length}, column ${column}): check for unbalanced braces or parentheses`;
}

/** What a guest sees of a host call's failure: a CapabilityError's data, or a generic one. */
function guestErrorData(err: unknown): GuestErrorData {
  if (
    typeof err === 'object' &&
    err !== null &&
    typeof (err as { toJSON?: unknown }).toJSON === 'function'
  ) {
    try {
      const data = (err as { toJSON: () => unknown }).toJSON();
      if (typeof data === 'object' && data !== null) {
        const { name, code, message, claim, reason } = data as Record<string, unknown>;
        const copy: GuestErrorData = {
          name: typeof name === 'string' ? name : 'Error',
          code: typeof code === 'string' ? code : 'ERR_CAPABILITY_FAILED',
          message: typeof message === 'string' ? message : 'the host call failed',
        };
        if (typeof claim === 'string') copy.claim = claim;
        if (typeof reason === 'string') copy.reason = reason;
        return copy;
      }
    } catch {
      // Fall through to the generic error.
    }
  }
  return { name: 'Error', code: 'ERR_CAPABILITY_FAILED', message: 'the host call failed' };
}

/** URL parsing and setters for the guest's URL class, with Node's WHATWG URL. */
function hostUrl(
  operation: unknown,
  first: unknown,
  second: unknown,
  third: unknown,
): Record<string, string> | string {
  try {
    let url: URL;
    if (operation === 'parse') {
      url = new URL(String(first), second === undefined ? undefined : String(second));
    } else if (operation === 'set' && (URL_COMPONENTS as readonly unknown[]).includes(second)) {
      url = new URL(String(first));
      url[second as (typeof URL_COMPONENTS)[number]] = String(third);
    } else {
      return 'Invalid URL operation';
    }
    return {
      href: url.href,
      origin: url.origin,
      protocol: url.protocol,
      username: url.username,
      password: url.password,
      host: url.host,
      hostname: url.hostname,
      port: url.port,
      pathname: url.pathname,
      search: url.search,
      hash: url.hash,
    };
  } catch {
    return `Invalid URL: ${clip(String(first), 200)}`;
  }
}

function hostRandom(kind: unknown, length: unknown): string | Uint8Array {
  if (kind === 'uuid') return randomUUID();
  const size = typeof length === 'number' && Number.isInteger(length) ? length : 0;
  return randomFillSync(new Uint8Array(Math.min(Math.max(size, 0), 65_536)));
}

function releaseContext(vc: VersionContext): void {
  safely(() => vc.execute.release());
  safely(() => vc.settle.release());
  safely(() => vc.abandon.release());
  safely(() => vc.context.release());
}

function disposeIsolate(isolate: ivm.Isolate): void {
  if (!isolate.isDisposed) safely(() => isolate.dispose());
}

function safely(action: () => void): void {
  try {
    action();
  } catch {
    // Releasing what is already gone.
  }
}

/** `unhandled promise rejection: Name: message (line L, column C)` for the action's tenant log. */
function describeUnhandledRejection(reason: unknown, filename: string): string {
  const prefix = 'unhandled promise rejection: ';
  if (!(reason instanceof Error)) {
    const shown = typeof reason === 'string' ? JSON.stringify(reason) : String(reason);
    return `${prefix}${clip(shown, 200)}`;
  }
  const frame = new RegExp(`${filename.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:(\\d+):(\\d+)`).exec(
    reason.stack ?? '',
  );
  const where = frame === null ? '' : ` (line ${frame[1]}, column ${frame[2]})`;
  return `${prefix}${reason.name}: ${clip(reason.message, 1000)}${where}`;
}

/**
 * A cache store that could not answer in time (a shared store down) makes the exchange a `503`
 * with its `Retry-After`, as an overloaded runner does; any other failure is the action's.
 */
function cacheFailure(err: unknown, message: string): ActionFailure {
  return err instanceof StoreUnavailableError
    ? new ActionFailure('overloaded', message, err.retryAfterSeconds)
    : new ActionFailure('threw', message);
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function clip(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max)}...` : text;
}

function abortOnCatastrophicError(message: string): void {
  console.error(`isolated-vm: catastrophic error, aborting the process: ${message}`);
  process.abort();
}
