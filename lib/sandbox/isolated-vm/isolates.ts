import type IsolatedVm from 'isolated-vm';
import type { ActionLimits, ActionVersion } from '../action-runner.js';
import { ActionFailure } from '../action-runner.js';
import { ENTRY_END, PRELUDE_PARAMETERS, preludeSource, wrapActionSource } from './guest-source.js';

// The one module of the project that loads isolated-vm, and only when the first code action needs
// it (see loadIsolatedVm): every isolate is made here. The rest of the sandbox works on the handles
// it returns, typed by these aliases.
export type Isolate = IsolatedVm.Isolate;
export type Reference = IsolatedVm.Reference;

let loaded: typeof IsolatedVm | undefined;

/**
 * Loads isolated-vm (a native addon). Until then nothing of it is in the process, so a router whose
 * actions are all in-process handlers never loads it.
 */
export async function loadIsolatedVm(): Promise<void> {
  loaded ??= (await import('isolated-vm')).default;
}

function ivm(): typeof IsolatedVm {
  if (loaded === undefined) throw new Error('isolated-vm is not loaded (loadIsolatedVm)');
  return loaded;
}

/** isolated-vm refuses less. */
const MIN_MEMORY_MB = 8;
/** Bounds the prelude, the lockdown and the syntax checks (no action code runs in them). */
export const SETUP_TIMEOUT_MS = 2_000;

/** The host functions the prelude receives, in {@link PRELUDE_PARAMETERS} order (plain functions). */
export type HostFunctions = Record<
  Exclude<(typeof PRELUDE_PARAMETERS)[number], 'ENTRY_END' | 'MEMORY_LIMIT_BYTES'>,
  (...args: never[]) => unknown
>;

/** One action's isolate: its memory limit is the action's, its contexts are its versions'. */
export interface ActionIsolate<E> {
  readonly actionId: string;
  readonly memoryMb: number;
  readonly isolate: Isolate;
  readonly prelude: IsolatedVm.Script;
  readonly contexts: Map<number, VersionContext<E>>;
  /** Executions in flight in any of its contexts. */
  inFlight: number;
}

/** One version's context, prepared once: prelude run, locked down, action wrapper installed. */
export interface VersionContext<E> {
  readonly owner: ActionIsolate<E>;
  readonly number: number;
  readonly code: string;
  /** `action:<action_id>`: names the action's frames in stack traces. */
  readonly filename: string;
  readonly context: IsolatedVm.Context;
  readonly execute: Reference;
  readonly settle: Reference;
  readonly abandon: Reference;
  /** Executions in flight here. */
  readonly executions: Set<E>;
  released: boolean;
}

/** What the pool tells about isolates it creates and drops (the entry watchdog follows them). */
export interface IsolateObserver {
  created(isolate: Isolate): void;
  dropped(isolate: Isolate): void;
}

/** Options of {@link IsolatePool}. */
export interface IsolatePoolOptions<E> {
  hostFunctions: HostFunctions;
  observer: IsolateObserver;
  onCatastrophicError: (message: string) => void;
  /** Checks an action's source before a context compiles it (see source-check.ts). */
  checkSource: (code: string) => void;
  /** An isolate was lost while a context was prepared: these executions were in flight in it. */
  onLost: (executions: E[]) => void;
}

/**
 * Isolates and contexts, and their lifecycle: one isolate per action (its own heap and memory
 * limit, so a memory bomb cannot take another action down), one context per deployed version.
 * A disposed isolate (memory limit, or the watchdog stopping a runaway) is noticed and replaced by
 * the next {@link contextFor}; an isolate whose memory limit changed is retired once its executions
 * in flight have ended; a released version's context goes once it is idle, and an isolate left
 * without contexts with it.
 */
export class IsolatePool<E> {
  readonly #options: IsolatePoolOptions<E>;
  readonly #callbacks: Map<string, IsolatedVm.Callback>;
  /** The current isolate of each action. */
  readonly #isolates = new Map<string, ActionIsolate<E>>();
  /** Isolates replaced (memory limit changed) that still finish executions in flight. */
  readonly #draining = new Set<ActionIsolate<E>>();

  constructor(options: IsolatePoolOptions<E>) {
    this.#options = options;
    this.#callbacks = new Map(
      Object.entries(options.hostFunctions).map(([name, fn]) => [name, new (ivm().Callback)(fn)]),
    );
  }

  /**
   * The context of `version`, prepared on first use.
   * @throws ActionFailure `invalid` for code that does not compile; `memory` (a runaway) when the
   *   isolate ran out of memory preparing it; `threw` for any other setup failure
   */
  contextFor(version: ActionVersion & { code: string }, limits: ActionLimits): VersionContext<E> {
    const actionId = version.action_id;
    let owner = this.#isolates.get(actionId);
    if (owner !== undefined && (owner.isolate.isDisposed || owner.memoryMb !== limits.memoryMb)) {
      this.#isolates.delete(actionId);
      if (!owner.isolate.isDisposed) this.#retire(owner);
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

  /** Marks `version`'s contexts released: each goes once its executions in flight have ended. */
  release(version: ActionVersion): void {
    for (const owner of [this.#isolates.get(version.action_id), ...this.#draining]) {
      if (owner === undefined || owner.actionId !== version.action_id) continue;
      const vc = owner.contexts.get(version.number);
      if (vc === undefined) continue;
      vc.released = true;
      this.settled(vc);
    }
  }

  /** An execution joins `vc`. */
  entered(vc: VersionContext<E>, execution: E): void {
    vc.executions.add(execution);
    vc.owner.inFlight++;
  }

  /** An execution left `vc`: disposes what is released and idle. */
  left(vc: VersionContext<E>, execution: E): void {
    if (!vc.executions.delete(execution)) return;
    vc.owner.inFlight--;
    this.settled(vc);
  }

  /**
   * `owner`'s isolate is disposed: forgets it and returns the executions that were in flight in it,
   * for the caller to fail. The next {@link contextFor} builds a new isolate.
   */
  lost(owner: ActionIsolate<E>): E[] {
    if (this.#isolates.get(owner.actionId) === owner) this.#isolates.delete(owner.actionId);
    this.#draining.delete(owner);
    this.#options.observer.dropped(owner.isolate);
    const executions = [...owner.contexts.values()].flatMap((vc) => [...vc.executions]);
    for (const vc of owner.contexts.values()) vc.executions.clear();
    owner.contexts.clear();
    owner.inFlight = 0;
    return executions;
  }

  /** Every execution in flight, in every isolate. */
  executions(): E[] {
    return this.#owners().flatMap((owner) =>
      [...owner.contexts.values()].flatMap((vc) => [...vc.executions]),
    );
  }

  /** Disposes every isolate. */
  close(): void {
    for (const owner of this.#owners()) {
      this.#options.observer.dropped(owner.isolate);
      disposeIsolate(owner.isolate);
    }
    this.#isolates.clear();
    this.#draining.clear();
  }

  /** Live isolates and contexts. */
  stats(): { isolates: number; contexts: number } {
    const owners = this.#owners();
    return {
      isolates: owners.length,
      contexts: owners.reduce((sum, owner) => sum + owner.contexts.size, 0),
    };
  }

  /** Releases a released version's idle context, and an isolate left with nothing to run. */
  settled(vc: VersionContext<E>): void {
    const owner = vc.owner;
    if (vc.released && vc.executions.size === 0 && owner.contexts.get(vc.number) === vc) {
      owner.contexts.delete(vc.number);
      releaseContext(vc);
    }
    if (owner.inFlight === 0 && owner.contexts.size === 0 && !owner.isolate.isDisposed) {
      if (this.#isolates.get(owner.actionId) === owner) this.#isolates.delete(owner.actionId);
      this.#draining.delete(owner);
      this.#options.observer.dropped(owner.isolate);
      disposeIsolate(owner.isolate);
    }
  }

  #owners(): ActionIsolate<E>[] {
    return [...this.#isolates.values(), ...this.#draining];
  }

  #retire(owner: ActionIsolate<E>): void {
    if (owner.inFlight === 0) {
      this.#options.observer.dropped(owner.isolate);
      disposeIsolate(owner.isolate);
      return;
    }
    for (const vc of owner.contexts.values()) vc.released = true;
    this.#draining.add(owner);
  }

  #createIsolate(actionId: string, memoryMb: number): ActionIsolate<E> {
    const isolate = new (ivm().Isolate)({
      memoryLimit: Math.max(MIN_MEMORY_MB, memoryMb),
      onCatastrophicError: (message) => this.#options.onCatastrophicError(message),
    });
    const owner: ActionIsolate<E> = {
      actionId,
      memoryMb,
      isolate,
      prelude: isolate.compileScriptSync(preludeSource(), { filename: 'sandbox:prelude' }),
      contexts: new Map(),
      inFlight: 0,
    };
    this.#isolates.set(actionId, owner);
    this.#options.observer.created(isolate);
    return owner;
  }

  #createContext(owner: ActionIsolate<E>, version: ActionVersion & { code: string }) {
    const { code } = version;
    this.#options.checkSource(code);
    const { isolate } = owner;
    const filename = `action:${version.action_id.replace(/[^\w.-]/g, '_')}`;
    const context = isolate.createContextSync();
    const references: Reference[] = [];
    const keep = <T extends Reference>(ref: T): T => {
      references.push(ref);
      return ref;
    };
    try {
      const setup = keep(
        owner.prelude.runSync(context, {
          reference: true,
          timeout: SETUP_TIMEOUT_MS,
        }) as Reference,
      );
      const memoryLimitBytes = Math.max(MIN_MEMORY_MB, owner.memoryMb) * 1024 * 1024;
      const parameters = PRELUDE_PARAMETERS.map((name) =>
        name === 'ENTRY_END'
          ? ENTRY_END
          : name === 'MEMORY_LIMIT_BYTES'
            ? memoryLimitBytes
            : this.#callbacks.get(name),
      );
      const control = keep(
        setup.applySync(undefined, parameters, {
          result: { reference: true },
          timeout: SETUP_TIMEOUT_MS,
        }) as Reference,
      );
      const member = (name: string): Reference =>
        keep(control.getSync(name, { reference: true }) as Reference);
      const script = isolate.compileScriptSync(wrapActionSource(code), {
        filename,
        lineOffset: -1,
      });
      const wrapper = script.runSync(context, {
        reference: true,
        timeout: SETUP_TIMEOUT_MS,
      }) as Reference;
      script.release();
      member('install').applySync(undefined, [wrapper.derefInto({ release: true }), filename], {
        timeout: SETUP_TIMEOUT_MS,
      });
      const vc: VersionContext<E> = {
        owner,
        number: version.number,
        code,
        filename,
        context,
        execute: member('execute'),
        settle: member('settle'),
        abandon: member('abandon'),
        executions: new Set(),
        released: false,
      };
      for (const ref of references) {
        if (ref !== vc.execute && ref !== vc.settle && ref !== vc.abandon) ref.release();
      }
      owner.contexts.set(version.number, vc);
      return vc;
    } catch (err) {
      for (const ref of references) safely(() => ref.release());
      safely(() => context.release());
      if (isolate.isDisposed) {
        this.#options.onLost(this.lost(owner));
        throw new ActionFailure(
          'memory',
          `the sandbox ran out of memory preparing the action (memory limit ${owner.memoryMb} MB)`,
        );
      }
      if (err instanceof ActionFailure) throw err;
      throw new ActionFailure(
        'threw',
        `the sandbox could not be prepared: ${err instanceof Error ? err.message : String(err)}`,
      );
    }
  }
}

/**
 * A small isolate of its own for checking action source: compiles without running anything, and
 * has V8 parse a function body alone.
 */
export class ScratchIsolate {
  readonly #isolate: Isolate;
  readonly #check: Reference;

  constructor(parameters: readonly string[], onCatastrophicError: (message: string) => void) {
    this.#isolate = new (ivm().Isolate)({ memoryLimit: 32, onCatastrophicError });
    const context = this.#isolate.createContextSync();
    this.#check = context.evalSync(
      `(function (body) {
        try { Reflect.construct(Function, ${JSON.stringify(parameters)}.concat([body])); return true; }
        catch (error) { return String(error && error.message); }
      })`,
      { reference: true, timeout: SETUP_TIMEOUT_MS },
    ) as Reference;
  }

  get isDisposed(): boolean {
    return this.#isolate.isDisposed;
  }

  /** Compiles `source` and throws V8's SyntaxError (`<message> [<filename>:L:C]`) if it must. */
  compile(source: string, filename: string): void {
    this.#isolate.compileScriptSync(source, { filename, lineOffset: -1 }).release();
  }

  /** `true` when `body` parses as the body of a function with `parameters`, else V8's message. */
  parsesAsFunctionBody(body: string): unknown {
    return this.#check.applySync(undefined, [body], {
      arguments: { copy: true },
      timeout: SETUP_TIMEOUT_MS,
    });
  }

  dispose(): void {
    disposeIsolate(this.#isolate);
  }
}

/** The entry watchdog's isolate: runs its round on isolated-vm's thread pool. */
export interface WatchdogIsolate {
  /** Calls the round function with `args` (isolate handles cross as handles). */
  round(args: unknown[]): Promise<unknown>;
  dispose(): void;
}

/** An isolate running `source` (a function expression) with `shared` as its global `shared`. */
export function createWatchdogIsolate(shared: SharedArrayBuffer, source: string): WatchdogIsolate {
  const isolate = new (ivm().Isolate)({ memoryLimit: 8 });
  const context = isolate.createContextSync();
  context.global.setSync('shared', new (ivm().ExternalCopy)(shared).copyInto({ release: true }));
  const round = context.evalSync(source, { reference: true }) as Reference;
  return {
    // isolated-vm's Reference.apply (an asynchronous call into the isolate), not Function.prototype.apply.
    round: (args) => round.apply(undefined, args, {}),
    dispose: () => disposeIsolate(isolate),
  };
}

function releaseContext<E>(vc: VersionContext<E>): void {
  safely(() => vc.execute.release());
  safely(() => vc.settle.release());
  safely(() => vc.abandon.release());
  safely(() => vc.context.release());
}

export function disposeIsolate(isolate: Isolate): void {
  if (!isolate.isDisposed) safely(() => isolate.dispose());
}

function safely(action: () => void): void {
  try {
    action();
  } catch {
    // Releasing what is already gone.
  }
}
