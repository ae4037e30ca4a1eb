import { CapabilityError } from '../capabilities/capability-error.js';
import type { CapabilityName, HostCapabilities } from '../capabilities/host-capabilities.js';
import { guestErrorData, joseScopeOf, type Execution } from './execution.js';
import type { HostCallName } from './host-functions.js';

/** What the runner needs of {@link HostCapabilities}: the real one, or a test double. */
export type CapabilityInvoker = Pick<HostCapabilities, 'invoke'> &
  Partial<Pick<HostCapabilities, 'invokeSync'>>;

/** Hands a settled host call back to the runner, which resumes the guest with it. */
export type DeliverHostCall = (
  execution: Execution,
  callId: number,
  ok: boolean,
  value: unknown,
) => void;

/**
 * The most of one capability call answered within an entry that is charged to the action. The call
 * runs on the event loop's thread at the action's request, so its time is the action's: it counts
 * toward the entry's CPU budget (a guest's own CPU time leaves host calls out). Its wall time is all
 * the host can measure cheaply, and that also holds any time the thread was starved: the cap keeps
 * a legitimate action's few calls from being charged for an overloaded host, while a guest looping
 * on an expensive call (a JWT verified with a very large RSA key) still reaches its budget.
 */
export const HOST_CALL_CHARGE_CAP_MS = 5;

/** Charges the entry in progress the host time of a call answered within it (ms). */
export type ChargeHostCall = (ms: number) => void;

/**
 * The guest's host calls that may wait: capabilities (`require('jose')`, `fetch`), timers and
 * `api.replay.consume`. A capability that has its answer at hand answers within the entry
 * (HostCapabilities.invokeSync); any other call is started, and its settlement is delivered to
 * the runner, which enters the guest again to resume it.
 */
export class HostCalls {
  readonly #capabilities: CapabilityInvoker;
  readonly #now: () => number;
  readonly #deliver: DeliverHostCall;
  readonly #charge: ChargeHostCall;

  constructor(
    capabilities: CapabilityInvoker,
    now: () => number,
    deliver: DeliverHostCall,
    charge: ChargeHostCall,
  ) {
    this.#capabilities = capabilities;
    this.#now = now;
    this.#deliver = deliver;
    this.#charge = charge;
  }

  /** A host call of the guest: answered at once when it can be, else started. */
  invoke(
    execution: Execution,
    callId: number,
    name: HostCallName,
    args: unknown[],
  ): [boolean, unknown] | undefined {
    if (name !== 'timer' && name !== 'replay.consume') {
      const answer = this.#answerAtOnce(execution, name, args);
      if (answer !== undefined) return answer;
    }
    (execution.pendingCalls ??= new Map()).set(callId, name);
    let pending: Promise<unknown>;
    try {
      pending =
        name === 'timer'
          ? execution.timer(args[0], this.#now())
          : name === 'replay.consume'
            ? replayConsume(execution, args)
            : this.#capabilities.invoke(execution.scope(), name, args);
    } catch (err) {
      pending = Promise.reject(err);
    }
    pending.then(
      (value) => this.#deliver(execution, callId, true, value),
      (err: unknown) => this.#deliver(execution, callId, false, guestErrorData(err)),
    );
    return undefined;
  }

  /** A capability's answer within this entry, when it has one at hand (HostCapabilities.invokeSync). */
  #answerAtOnce(
    execution: Execution,
    name: CapabilityName,
    args: unknown[],
  ): [boolean, unknown] | undefined {
    const invokeSync = this.#capabilities.invokeSync;
    if (invokeSync === undefined || this.#now() >= execution.deadline) return undefined;
    const started = performance.now();
    try {
      const answer = invokeSync.call(
        this.#capabilities,
        joseScopeOf(execution.version),
        name,
        args,
      );
      return answer === undefined ? undefined : [true, answer.value];
    } catch (err) {
      return [false, guestErrorData(err)];
    } finally {
      this.#charge(Math.min(performance.now() - started, HOST_CALL_CHARGE_CAP_MS));
    }
  }
}

/** `api.replay.consume` of the execution, which only the custom-token-exchange trigger has. */
function replayConsume(execution: Execution, [key, options]: unknown[]): Promise<boolean> {
  if (execution.replay === undefined) {
    return Promise.reject(
      new CapabilityError('ERR_CAPABILITY_UNKNOWN', 'api.replay is not available to this trigger'),
    );
  }
  return execution.replay.consume(key, options);
}
