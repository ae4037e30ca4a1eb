import type IsolatedVm from 'isolated-vm';

// The one module of the project that loads isolated-vm, and only when the first code action needs
// it (see loadIsolatedVm): every isolate and callback is made here. The rest of the sandbox works
// on the handles it returns, typed by these aliases.
export type Isolate = IsolatedVm.Isolate;
export type Reference = IsolatedVm.Reference;
export type Context = IsolatedVm.Context;
export type Script = IsolatedVm.Script;
export type Callback = IsolatedVm.Callback;

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
export const MIN_MEMORY_MB = 8;
/** Bounds the prelude, the lockdown and the syntax checks (no action code runs in them). */
export const SETUP_TIMEOUT_MS = 2_000;

/**
 * Makes every isolate of the sandbox: the actions', the source check's and the watchdog's. Creation
 * can throw (the host out of memory, or shutting down), and an isolate can be disposed or full by
 * the time it is first used; `create` is a property so that tests can bring both about, around the
 * real isolated-vm.
 */
export const isolateMaker = {
  create: (options: IsolatedVm.IsolateOptions): Isolate => new (ivm().Isolate)(options),
};

/** An action's isolate, with its memory limit (at least {@link MIN_MEMORY_MB}). */
export function createIsolate(
  memoryMb: number,
  onCatastrophicError: (message: string) => void,
): Isolate {
  return isolateMaker.create({
    memoryLimit: Math.max(MIN_MEMORY_MB, memoryMb),
    onCatastrophicError,
  });
}

/** A host function the guest calls synchronously. */
export function createCallback(fn: (...args: never[]) => unknown): Callback {
  return new (ivm().Callback)(fn);
}

/**
 * A small isolate of its own for checking action source: compiles without running anything, and
 * has V8 parse a function body alone.
 */
export class ScratchIsolate {
  readonly #isolate: Isolate;
  readonly #check: Reference;

  /** @throws when the isolate cannot be created or set up (it is disposed then) */
  constructor(parameters: readonly string[], onCatastrophicError: (message: string) => void) {
    this.#isolate = isolateMaker.create({ memoryLimit: 32, onCatastrophicError });
    this.#check = setUp(this.#isolate, (context) =>
      context.evalSync(
        `(function (body) {
          try { Reflect.construct(Function, ${JSON.stringify(parameters)}.concat([body])); return true; }
          catch (error) { return String(error && error.message); }
        })`,
        { reference: true, timeout: SETUP_TIMEOUT_MS },
      ),
    );
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
  readonly isDisposed: boolean;
  dispose(): void;
}

/**
 * An isolate running `source` (a function expression) with `shared` as its global `shared`.
 * @throws when the isolate cannot be created or set up (it is disposed then)
 */
export function createWatchdogIsolate(shared: SharedArrayBuffer, source: string): WatchdogIsolate {
  const isolate = isolateMaker.create({ memoryLimit: 8 });
  const round = setUp(isolate, (context) => {
    context.global.setSync('shared', new (ivm().ExternalCopy)(shared).copyInto({ release: true }));
    return context.evalSync(source, { reference: true });
  });
  return {
    // isolated-vm's Reference.apply (an asynchronous call into the isolate), not Function.prototype.apply.
    round: (args) => round.apply(undefined, args, {}),
    get isDisposed() {
      return isolate.isDisposed;
    },
    dispose: () => disposeIsolate(isolate),
  };
}

/**
 * Creates a context in a new `isolate` and has `install` return a reference from it; disposes the
 * isolate if that fails (it was disposed or filled already, or the setup threw), so nothing of it
 * is left behind.
 */
function setUp(isolate: Isolate, install: (context: Context) => unknown): Reference {
  try {
    return install(isolate.createContextSync()) as Reference;
  } catch (err) {
    disposeIsolate(isolate);
    throw err;
  }
}

export function disposeIsolate(isolate: Isolate): void {
  if (!isolate.isDisposed) safely(() => isolate.dispose());
}

export function safely(action: () => void): void {
  try {
    action();
  } catch {
    // Releasing what is already gone.
  }
}
