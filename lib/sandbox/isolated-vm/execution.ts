import {
  ActionFailure,
  type ActionApiRecorder,
  type ActionLimits,
  type ActionVersion,
} from '../action-runner.js';
import type { ActionCache } from '../capabilities/action-cache.js';
import type { ActionReplay } from '../capabilities/action-replay.js';
import { CapabilityError } from '../capabilities/capability-error.js';
import type { CapabilityScope } from '../capabilities/host-capabilities.js';
import type { JoseScope } from '../capabilities/jose-host.js';
import { hostStalledFailure, runawayFailure } from '../runaway-policy.js';
import { guestError, type GuestErrorData, type HostExecution } from './host-functions.js';
import type { VersionContext } from './isolate-pool.js';

/**
 * The abort reason of every ended execution's scope: one shared instance, because the default
 * reason (a DOMException with a stack) costs more than the rest of ending an execution.
 */
const EXECUTION_ENDED = new CapabilityError(
  'ERR_CAPABILITY_REVOKED',
  "the action's execution has ended",
);

/** What the JWT facade's synchronous verification needs, per version. */
const joseScopes = new WeakMap<ActionVersion, JoseScope>();

/** The part of a capability scope that is the version's, made once per version. */
export function joseScopeOf(version: ActionVersion): JoseScope {
  let scope = joseScopes.get(version);
  if (scope === undefined) {
    scope = {
      actionId: version.action_id,
      allowedHosts: version.allowed_hosts,
      allowedPrivateNetworks: version.allowed_private_networks ?? [],
    };
    joseScopes.set(version, scope);
  }
  return scope;
}

/**
 * One execution, the host's side of it. Most executions end within their first entry: what only a
 * longer one needs (pending host calls, timers, a capability scope, a promise) is made on first use.
 */
export class Execution implements HostExecution {
  readonly id: number;
  readonly vc: VersionContext<Execution>;
  readonly version: ActionVersion;
  readonly limits: ActionLimits;
  readonly recorder: ActionApiRecorder;
  readonly cache: ActionCache | undefined;
  readonly deadline: number;
  /** `api.replay`, for a custom-token-exchange execution. */
  readonly replay: ActionReplay | undefined;
  cpuMs = 0;
  outcome: { ok: boolean; message: string } | undefined = undefined;
  ended = false;
  failure: ActionFailure | undefined = undefined;
  /** Host calls started and not yet delivered back, by call id: their names. */
  pendingCalls: Map<number, string> | undefined = undefined;
  deadlineTimer: ReturnType<typeof setTimeout> | undefined = undefined;
  /** Only for an execution that outlives its first entry. */
  settlement: { resolve: () => void; reject: (failure: ActionFailure) => void } | undefined =
    undefined;
  #timers: Set<ReturnType<typeof setTimeout>> | undefined = undefined;
  #controller: AbortController | undefined = undefined;
  #scope: CapabilityScope | undefined = undefined;

  constructor(
    id: number,
    vc: VersionContext<Execution>,
    version: ActionVersion,
    limits: ActionLimits,
    recorder: ActionApiRecorder,
    cache: ActionCache | undefined,
    deadline: number,
    replay?: ActionReplay,
  ) {
    this.id = id;
    this.vc = vc;
    this.version = version;
    this.limits = limits;
    this.recorder = recorder;
    this.cache = cache;
    this.deadline = deadline;
    this.replay = replay;
  }

  /** The scope its capability calls run in, made on first use; aborted when it ends. */
  scope(): CapabilityScope {
    if (this.#scope === undefined) {
      this.#controller = new AbortController();
      this.#scope = {
        ...joseScopeOf(this.version),
        deadline: this.deadline,
        signal: this.#controller.signal,
      };
    }
    return this.#scope;
  }

  /**
   * A guest setTimeout: resolves after `delay` ms. A timer due after the execution's deadline
   * never fires (the deadline ends the execution first); clamping it instead would let it win the
   * race against the deadline timer and finish an execution that should have timed out.
   */
  timer(delay: unknown, now: number): Promise<void> {
    const ms = typeof delay === 'number' && Number.isFinite(delay) && delay > 0 ? delay : 0;
    if (now + ms >= this.deadline) return new Promise<void>(() => {});
    return new Promise<void>((resolve) => {
      const timers = (this.#timers ??= new Set());
      const timer = setTimeout(() => {
        timers.delete(timer);
        resolve();
      }, ms);
      timers.add(timer);
    });
  }

  /** Stops its timers and revokes its capabilities: what ending it frees on the host. */
  stop(): void {
    clearTimeout(this.deadlineTimer);
    if (this.#timers !== undefined) for (const timer of this.#timers) clearTimeout(timer);
    this.#controller?.abort(EXECUTION_ENDED);
  }
}

export function cpuFailure(execution: Execution): ActionFailure {
  return runawayFailure(
    new ActionFailure(
      'timeout',
      `action exceeded its CPU budget of ${execution.limits.cpuTimeMs} ms`,
    ),
  );
}

/** What the guest got of an entry that was stopped before it ended (all in ms). */
export interface EntryStop {
  /**
   * What the action used of the entry, at most: isolated-vm's `cpuTime` (which leaves out host
   * calls and waits for the isolate) plus the capability calls charged to it, less what is known of
   * the process being stopped; NaN when unknown.
   */
  readonly cpuMs: number;
  /** The wall time after which it was stopped. */
  readonly afterMs: number;
  /** The CPU time the entry could use. */
  readonly budgetMs: number;
}

/**
 * An entry stopped part-way, by the watchdog or isolated-vm's `timeout`. What the action used
 * (its guest's CPU time and the host calls charged to it) under half the entry's budget means it
 * was kept from running (its thread starved on an overloaded host, or waiting for its isolate's
 * lock), not that the action used its budget: a
 * temporary failure, with `Retry-After`, that is not a runaway. Otherwise (or when the CPU time is
 * unknown) the action's CPU failure.
 */
export function stoppedFailure(execution: Execution, stop: EntryStop): ActionFailure {
  const { cpuMs, afterMs, budgetMs } = stop;
  if (!(cpuMs < budgetMs / 2)) return cpuFailure(execution);
  return hostStalledFailure(
    new ActionFailure(
      'overloaded',
      `the host was overloaded during the action: the entry was stopped after ${Math.ceil(afterMs)} ms, of which the action ran ${Math.max(0, cpuMs).toFixed(1)} ms, under its CPU budget of ${execution.limits.cpuTimeMs} ms`,
    ),
  );
}

export function memoryFailure(execution: Execution): ActionFailure {
  return runawayFailure(
    new ActionFailure(
      'memory',
      `action exceeded its memory limit of ${execution.vc.owner.memoryMb} MB (its isolate was disposed and is replaced for the next execution)`,
    ),
  );
}

export function wallClockFailure(execution: Execution): ActionFailure {
  const waiting = [...new Set(execution.pendingCalls?.values() ?? [])];
  return new ActionFailure(
    'timeout',
    `action exceeded its wall-clock deadline of ${execution.limits.timeoutMs} ms` +
      (waiting.length > 0 ? ` (still waiting for ${waiting.join(', ')})` : ''),
  );
}

/** What a guest sees of a host call's failure: a CapabilityError's data, or a generic one. */
export function guestErrorData(err: unknown): GuestErrorData {
  if (err instanceof CapabilityError) {
    const { name, code, message, claim, reason } = err.toJSON();
    const copy = guestError(name, code, message);
    if (typeof claim === 'string') copy.claim = claim;
    if (typeof reason === 'string') copy.reason = reason;
    return copy;
  }
  return guestError('Error', 'ERR_CAPABILITY_FAILED', 'the host call failed');
}
