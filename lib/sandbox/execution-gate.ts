import {
  ActionFailure,
  DEFAULT_ACTION_LIMITS,
  type ActionApiRecorder,
  type ActionEvent,
  type ActionLimits,
  type ActionRunner,
  type ActionVersion,
  type ExecutionRunner,
  type RunOptions,
} from './action-runner.js';
import { NO_TELEMETRY, type Telemetry } from '../observability/telemetry.js';
import { ActionCache, type ActionCacheStore } from './capabilities/action-cache.js';
import { ActionReplay } from './capabilities/action-replay.js';
import { HostCapabilities } from './capabilities/host-capabilities.js';
import { InProcessRunner } from './in-process-runner.js';
import { IsolatedVmRunner, type CapabilityInvoker } from './isolated-vm/isolated-vm-runner.js';
import { loadIsolatedVm } from './isolated-vm/isolates.js';
import { assertNodeSnapshotDisabled } from './node-snapshot-check.js';
import { RunawayPolicy } from './runaway-policy.js';
import { ReplayStoreFullError, type ReplayStore } from '../stores/replay-store.js';
import { StoreUnavailableError } from '../stores/store-deadline.js';

/** Executions of actions in flight in one router, all actions together, by default. */
export const DEFAULT_MAX_EXECUTIONS = 1024;

/** Options of {@link ExecutionGate}. */
export interface ExecutionGateOptions {
  /** Whether `code` actions run (in isolated-vm); without it only `handler` actions do. */
  sandbox: boolean;
  /** Where `api.cache` entries live between executions. */
  cacheStore: ActionCacheStore;
  /** What `api.replay.consume` of custom-token-exchange actions remembers keys in. */
  replayStore?: ReplayStore;
  /**
   * Executions in flight at once, all actions together; beyond it `run` fails `overloaded`.
   * Default {@link DEFAULT_MAX_EXECUTIONS}.
   */
  maxExecutions?: number;
  /** The clock of deadlines, `api.cache` and suspensions (epoch ms). Default `Date.now`. */
  now?: () => number;
  /**
   * What sandboxed actions' `require('jose')` and `fetch` run on. Default: a `HostCapabilities`
   * of the gate's own, made with the sandbox and closed with the gate.
   */
  capabilities?: CapabilityInvoker;
  /** See IsolatedVmRunnerOptions.onCatastrophicError. */
  onCatastrophicError?: (message: string) => void;
  /**
   * Where each execution's span and duration go, and the spans of the sandbox's `fetch` and
   * JWKS fetches (through the gate's own capabilities). Default: none.
   */
  telemetry?: Telemetry;
}

/**
 * Whether `code` actions can run: `disabled` (options.sandbox false), `idle` (isolated-vm is
 * loaded with the first code action), `loading`, `ready`, or `failed` (it could not be loaded:
 * code actions fail until the process restarts).
 */
export type SandboxState = 'disabled' | 'idle' | 'loading' | 'ready' | 'failed';

/** Counts for monitoring and tests. */
export interface ExecutionGateStats {
  /** Executions in flight, all actions together. */
  executions: number;
  /** The sandbox's own counts, once a code action has loaded it. */
  sandbox: ReturnType<IsolatedVmRunner['stats']> | undefined;
  /** See {@link SandboxState}. */
  sandboxState: SandboxState;
  /** Runaway suspensions in force: of actions (for everyone), and of one caller of an action. */
  suspensions: { actions: number; callers: number };
}

/**
 * Every runner behind one {@link ActionRunner}: what holds for every execution, in process or
 * sandboxed, is enforced here once.
 * - Limits: at most `maxExecutions` executions in flight in the router, and `maxConcurrency` per
 *   action; beyond either, `ActionFailure('overloaded')` at once (the router answers 503 with
 *   `Retry-After`). A runaway action (see runaway-policy.ts) is refused the same way while it is
 *   suspended, for one caller or for all.
 * - `api.cache`: loaded from the store before an execution that may use it, its changes saved
 *   after; executions of actions that never name it touch neither.
 * - `api.replay`: each custom-token-exchange execution gets its own, over the replay store; a
 *   store failure during the execution fails it (`overloaded`, so `503`, for a store that is
 *   down or full) whatever the action did with the rejection.
 * - The sandbox: isolated-vm is loaded on the first code action (its validation or its first run),
 *   never for a router whose actions are all in-process handlers, which therefore runs without
 *   `--no-node-snapshot`. A process without the flag learns it then, from an error saying how to
 *   fix it.
 */
export class ExecutionGate implements ActionRunner {
  /** Checks sandboxed source (loading the sandbox); absent without one. */
  readonly validate?: (code: string) => Promise<void>;
  readonly #options: ExecutionGateOptions;
  readonly #now: () => number;
  readonly #maxExecutions: number;
  readonly #inProcess = new InProcessRunner();
  readonly #runaways: RunawayPolicy;
  /** Executions in flight per action. */
  readonly #running = new Map<string, number>();
  readonly #limits = new WeakMap<ActionVersion, ActionLimits>();
  #executions = 0;
  #sandbox: IsolatedVmRunner | undefined;
  #loading: Promise<IsolatedVmRunner> | undefined;
  #ownCapabilities: HostCapabilities | undefined;
  #loadFailed = false;
  #closed = false;
  readonly #telemetry: Telemetry;

  constructor(options: ExecutionGateOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
    this.#maxExecutions = options.maxExecutions ?? DEFAULT_MAX_EXECUTIONS;
    this.#runaways = new RunawayPolicy(this.#now);
    this.#telemetry = options.telemetry ?? NO_TELEMETRY;
    if (options.sandbox) {
      this.validate = async (code) => (await this.#loadSandbox()).validate(code);
    }
  }

  /**
   * Runs `version` in its runner, within the limits above.
   * @throws ActionFailure `overloaded` beyond a limit or while suspended (nothing ran); `invalid`
   *   for code without a sandbox; whatever the runner fails with; `threw` when `api.cache` could
   *   not be loaded or saved
   */
  async run(
    version: ActionVersion,
    event: ActionEvent,
    recorder: ActionApiRecorder,
    options?: RunOptions,
  ): Promise<void> {
    if (this.#closed) throw new ActionFailure('invalid', 'the action runner is closed');
    const execution = {
      actionId: version.action_id,
      trigger: recorder.trigger ?? 'custom-token-exchange',
      runner: version.handler === undefined ? ('sandbox' as const) : ('in-process' as const),
    };
    return this.#telemetry.actionExecution(execution, () =>
      this.#run(version, event, recorder, options),
    );
  }

  async #run(
    version: ActionVersion,
    event: ActionEvent,
    recorder: ActionApiRecorder,
    options: RunOptions | undefined,
  ): Promise<void> {
    const runner: ExecutionRunner =
      version.handler !== undefined ? this.#inProcess : await this.#codeRunner();
    const actionId = version.action_id;
    const caller = options?.caller;
    const limits = this.#limitsOf(version);
    this.#runaways.admit(actionId, caller);
    if (this.#executions >= this.#maxExecutions) {
      throw new ActionFailure(
        'overloaded',
        `the router already runs ${this.#executions} action executions (its limit)`,
      );
    }
    const running = this.#running.get(actionId) ?? 0;
    if (running >= limits.maxConcurrency) {
      throw new ActionFailure(
        'overloaded',
        `action ${actionId} already runs ${running} executions (maxConcurrency ${limits.maxConcurrency})`,
      );
    }
    this.#running.set(actionId, running + 1);
    this.#executions += 1;
    try {
      const cache = runner.usesCache?.(version) ? await this.#loadCache(actionId) : undefined;
      const replayStore = this.#options.replayStore;
      const replay =
        replayStore === undefined || recorder.trigger === 'post-exchange'
          ? undefined
          : new ActionReplay(replayStore, actionId, this.#now);
      let failure: unknown;
      try {
        await runner.run(version, limits, event, recorder, cache, replay);
      } catch (err) {
        failure = err;
      }
      // Whatever the action made of the rejection: a replay check that did not happen fails.
      if (replay?.failure !== undefined) failure = replayFailure(replay.failure);
      this.#runaways.record(actionId, caller, failure);
      const changes = cache?.changes() ?? [];
      if (changes.length > 0) {
        try {
          await this.#options.cacheStore.apply(actionId, changes);
        } catch (err) {
          failure ??= cacheFailure(err, `api.cache changes could not be saved: ${messageOf(err)}`);
        }
      }
      if (failure !== undefined) throw failure;
    } finally {
      this.#executions -= 1;
      const left = (this.#running.get(actionId) ?? 1) - 1;
      if (left <= 0) this.#running.delete(actionId);
      else this.#running.set(actionId, left);
    }
  }

  /** A version is no longer deployed: its runner may free what it kept for it. */
  release(version: ActionVersion): void {
    // Another version is live: a suspension for the old one's runaways does not carry over.
    this.#runaways.forget(version.action_id);
    if (version.handler === undefined) this.#sandbox?.release(version);
  }

  /** Ends the executions in flight and frees the sandbox (and the capabilities it made). */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const sandbox = this.#sandbox ?? (await this.#loading?.catch(() => undefined));
    await Promise.all([this.#inProcess.close(), sandbox?.close()]);
    this.#ownCapabilities?.close();
  }

  stats(): ExecutionGateStats {
    return {
      executions: this.#executions,
      sandbox: this.#sandbox?.stats(),
      sandboxState: this.#sandboxState(),
      suspensions: this.#runaways.suspensions(),
    };
  }

  #sandboxState(): SandboxState {
    if (!this.#options.sandbox) return 'disabled';
    if (this.#sandbox !== undefined) return 'ready';
    if (this.#loadFailed) return 'failed';
    return this.#loading === undefined ? 'idle' : 'loading';
  }

  #codeRunner(): IsolatedVmRunner | Promise<IsolatedVmRunner> {
    if (!this.#options.sandbox) {
      throw new ActionFailure(
        'invalid',
        'code actions need the sandbox (options.sandbox is false)',
      );
    }
    return this.#sandbox ?? this.#loadSandbox();
  }

  #loadSandbox(): Promise<IsolatedVmRunner> {
    this.#loading ??= (async () => {
      assertNodeSnapshotDisabled();
      await loadIsolatedVm();
      if (this.#closed) throw new ActionFailure('invalid', 'the action runner is closed');
      let capabilities = this.#options.capabilities;
      if (capabilities === undefined) {
        this.#ownCapabilities = new HostCapabilities({
          now: this.#now,
          telemetry: this.#telemetry,
        });
        capabilities = this.#ownCapabilities;
      }
      const runner = new IsolatedVmRunner({
        capabilities,
        now: this.#now,
        ...(this.#options.onCatastrophicError === undefined
          ? {}
          : { onCatastrophicError: this.#options.onCatastrophicError }),
      });
      this.#sandbox = runner;
      return runner;
    })();
    this.#loading.catch(() => {
      this.#loadFailed = true;
    });
    return this.#loading;
  }

  async #loadCache(actionId: string): Promise<ActionCache> {
    let entries: Awaited<ReturnType<ActionCacheStore['load']>>;
    try {
      entries = await this.#options.cacheStore.load(actionId);
    } catch (err) {
      throw cacheFailure(err, `api.cache could not be loaded: ${messageOf(err)}`);
    }
    return new ActionCache(entries, { now: this.#now });
  }

  /** The version's limits, each one its own or the default when missing or not positive. */
  #limitsOf(version: ActionVersion): ActionLimits {
    let limits = this.#limits.get(version);
    if (limits === undefined) {
      const pick = (name: keyof ActionLimits): number => {
        const value = version.limits?.[name];
        return typeof value === 'number' && Number.isFinite(value) && value > 0
          ? value
          : DEFAULT_ACTION_LIMITS[name];
      };
      limits = {
        timeoutMs: pick('timeoutMs'),
        cpuTimeMs: pick('cpuTimeMs'),
        memoryMb: pick('memoryMb'),
        maxConcurrency: pick('maxConcurrency'),
      };
      this.#limits.set(version, limits);
    }
    return limits;
  }
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

/** A replay store down or full is `503`, as a cache store timing out is; any other failure `500`. */
function replayFailure(err: unknown): ActionFailure {
  const message = `api.replay.consume: the replay store failed: ${messageOf(err)}`;
  return err instanceof StoreUnavailableError || err instanceof ReplayStoreFullError
    ? new ActionFailure('overloaded', message, err.retryAfterSeconds)
    : new ActionFailure('threw', message);
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
