import type { ActionLimits, ActionVersion } from '../action-runner.js';
import { ActionFailure } from '../action-runner.js';
import { ENTRY_END, PRELUDE_PARAMETERS, preludeSource, wrapActionSource } from './guest-source.js';
import {
  MIN_MEMORY_MB,
  SETUP_TIMEOUT_MS,
  createCallback,
  createIsolate,
  disposeIsolate,
  safely,
  type Callback,
  type Context,
  type Isolate,
  type Reference,
  type Script,
} from './isolates.js';

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
  readonly prelude: Script;
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
  readonly context: Context;
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
  readonly #callbacks: Map<string, Callback>;
  /** The current isolate of each action. */
  readonly #isolates = new Map<string, ActionIsolate<E>>();
  /** Isolates replaced (memory limit changed) that still finish executions in flight. */
  readonly #draining = new Set<ActionIsolate<E>>();

  constructor(options: IsolatePoolOptions<E>) {
    this.#options = options;
    this.#callbacks = new Map(
      Object.entries(options.hostFunctions).map(([name, fn]) => [name, createCallback(fn)]),
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
      if (vc === undefined) {
        // A replacement isolate (see discard) no execution has used yet.
        this.#disposeIfIdle(owner);
        continue;
      }
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

  /**
   * Disposes `owner`'s isolate after an entry was stopped part-way (isolated-vm's timeout): V8 left
   * it with that entry's microtasks still queued and its unhandled rejections still recorded, which
   * the isolate's next call of any kind would run (outside any timeout) and throw. Returns the
   * executions that were in flight in it, as {@link lost} does.
   */
  discard(owner: ActionIsolate<E>): E[] {
    const replace = this.#isolates.get(owner.actionId) === owner;
    const executions = this.lost(owner);
    disposeIsolate(owner.isolate);
    // The replacement is made now, not on the action's next execution: the watchdog watches an
    // isolate from its next round on, so that execution's first entry is watched, not on a timeout
    // that could stop it and cost the isolate again.
    if (replace) safely(() => this.#createIsolate(owner.actionId, owner.memoryMb));
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
    this.#disposeIfIdle(owner);
  }

  /** Disposes an isolate left without contexts and executions. */
  #disposeIfIdle(owner: ActionIsolate<E>): void {
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

  /**
   * @throws ActionFailure `threw` when the isolate cannot be created or cannot compile the prelude
   *   (disposed or full already): nothing of it is kept, the next call tries again
   */
  #createIsolate(actionId: string, memoryMb: number): ActionIsolate<E> {
    let isolate: Isolate | undefined;
    let prelude: Script;
    try {
      isolate = createIsolate(memoryMb, (message) => this.#options.onCatastrophicError(message));
      prelude = isolate.compileScriptSync(preludeSource(), { filename: 'sandbox:prelude' });
    } catch (err) {
      if (isolate !== undefined) disposeIsolate(isolate);
      throw notPrepared(err);
    }
    const owner: ActionIsolate<E> = {
      actionId,
      memoryMb,
      isolate,
      prelude,
      contexts: new Map(),
      inFlight: 0,
    };
    this.#isolates.set(actionId, owner);
    this.#options.observer.created(isolate);
    return owner;
  }

  #createContext(owner: ActionIsolate<E>, version: ActionVersion & { code: string }) {
    const { code } = version;
    const { isolate } = owner;
    const filename = `action:${version.action_id.replace(/[^\w.-]/g, '_')}`;
    const references: Reference[] = [];
    const keep = <T extends Reference>(ref: T): T => {
      references.push(ref);
      return ref;
    };
    let context: Context | undefined;
    try {
      this.#options.checkSource(code);
      // Throws when the isolate was disposed since contextFor found it alive, or when the new
      // context fills its heap (isolated-vm then disposes it): either way it is lost below.
      context = isolate.createContextSync();
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
      safely(() => context?.release());
      if (isolate.isDisposed) {
        this.#options.onLost(this.lost(owner));
        throw new ActionFailure(
          'memory',
          `the sandbox ran out of memory preparing the action (memory limit ${owner.memoryMb} MB)`,
        );
      }
      if (err instanceof ActionFailure) throw err;
      throw notPrepared(err);
    }
  }
}

/** A setup step that failed, not because of the action's code or memory. */
function notPrepared(err: unknown): ActionFailure {
  return new ActionFailure(
    'threw',
    `the sandbox could not be prepared: ${err instanceof Error ? err.message : String(err)}`,
  );
}

function releaseContext<E>(vc: VersionContext<E>): void {
  safely(() => vc.execute.release());
  safely(() => vc.settle.release());
  safely(() => vc.abandon.release());
  safely(() => vc.context.release());
}
