import type { CustomTokenExchangeApi, CustomTokenExchangeEvent } from '../action-api/types.js';
import {
  ActionFailure,
  type ActionApiRecorder,
  type ActionRunner,
  type ActionVersion,
} from './action-runner.js';

/**
 * Runs trusted in-process `handler` versions in the host's own event loop, for integrators who do
 * not need a sandbox. It enforces what can be enforced without one:
 * - the handler gets a deep-frozen copy of `event`, so it cannot change what the router built;
 * - `limits.timeoutMs` is a wall-clock deadline (`ActionFailure('timeout')`), but a handler that
 *   blocks the event loop cannot be interrupted: only the sandbox bounds CPU;
 * - at most `limits.maxConcurrency` executions of one action run at once; beyond it
 *   `ActionFailure('overloaded')` without calling the handler;
 * - the `api` stops working when the execution ends (calls from a forgotten promise chain, or
 *   after a timeout, are ignored), so nothing is recorded after the router has decided.
 *
 * Versions carrying sandboxed `code` are refused with `ActionFailure('invalid')`.
 * `console` inside a handler is the host's own console: it is not captured.
 */
export class InProcessRunner implements ActionRunner {
  /** Running executions per action_id; an entry is removed when it drops to zero. */
  readonly #running = new Map<string, number>();

  /**
   * Runs `version.handler` with a frozen copy of `event` and `recorder.api()`.
   * @throws ActionFailure `invalid` (no handler), `overloaded`, `timeout`, or `threw` with
   *   `<name>: <message> (at <first stack frame>)` when the handler throws or rejects
   */
  async run(
    version: ActionVersion,
    event: CustomTokenExchangeEvent,
    recorder: ActionApiRecorder,
  ): Promise<void> {
    const handler = version.handler;
    if (handler === undefined) {
      throw new ActionFailure(
        'invalid',
        version.code === undefined
          ? `action ${version.action_id} version ${version.number} has no handler`
          : 'this runner executes only in-process handlers',
      );
    }
    const running = this.#running.get(version.action_id) ?? 0;
    if (running >= version.limits.maxConcurrency) {
      throw new ActionFailure(
        'overloaded',
        `action ${version.action_id} already runs ${running} executions (maxConcurrency ${version.limits.maxConcurrency})`,
      );
    }
    this.#running.set(version.action_id, running + 1);
    let open = true;
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      const frozenEvent = deepFreeze(structuredClone(event));
      const api = revocableApi(recorder.api(), () => open);
      const timeout = new ActionFailure(
        'timeout',
        `action exceeded its ${version.limits.timeoutMs} ms deadline`,
      );
      const deadline = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(timeout), version.limits.timeoutMs);
      });
      const execution = (async () => handler(frozenEvent, api))();
      // A handler settling after the deadline must not become an unhandled rejection.
      execution.catch(() => undefined);
      try {
        await Promise.race([execution, deadline]);
      } catch (err) {
        if (err === timeout) throw err;
        throw new ActionFailure('threw', describeThrown(err));
      }
    } finally {
      open = false;
      clearTimeout(timer);
      this.#release(version.action_id);
    }
  }

  /** Nothing to free: handlers live in the host. */
  async close(): Promise<void> {}

  #release(actionId: string): void {
    const running = (this.#running.get(actionId) ?? 1) - 1;
    if (running <= 0) this.#running.delete(actionId);
    else this.#running.set(actionId, running);
  }
}

/**
 * `<name>: <message> (at <first stack frame>)`, the form the tenant log shows; the frame points the
 * action's author to the line. Non-errors (`throw 'x'`) are described by value.
 */
function describeThrown(err: unknown): string {
  if (!(err instanceof Error)) {
    let shown: string;
    try {
      shown = typeof err === 'string' ? JSON.stringify(err) : String(err);
    } catch {
      shown = 'an unprintable value';
    }
    return `threw a non-Error value: ${shown}`;
  }
  const head = `${err.name}: ${err.message}`;
  const frame = err.stack
    ?.split('\n')
    .map((line) => line.trim())
    .find((line) => line.startsWith('at '));
  return frame === undefined ? head : `${head} (${frame})`;
}

/** Wraps every method of `api` so that it does nothing once `isOpen()` is false. */
function revocableApi(api: CustomTokenExchangeApi, isOpen: () => boolean): CustomTokenExchangeApi {
  const gate =
    <T extends object, K extends keyof T>(namespace: T, name: K) =>
    (...args: unknown[]): void => {
      // Ignored rather than thrown: nobody is left to catch it, and an unhandled rejection would
      // take the host process down.
      if (!isOpen()) return;
      (namespace[name] as (...args: unknown[]) => void).apply(namespace, args);
    };
  const { access, authentication, user } = api;
  return Object.freeze({
    access: Object.freeze({
      deny: gate(access, 'deny'),
      rejectInvalidSubjectToken: gate(access, 'rejectInvalidSubjectToken'),
    }),
    authentication: Object.freeze({
      setUserById: gate(authentication, 'setUserById'),
      setUserByConnection: gate(authentication, 'setUserByConnection'),
      setActor: gate(authentication, 'setActor'),
      setOrganization: gate(authentication, 'setOrganization'),
    }),
    user: Object.freeze({
      setAppMetadata: gate(user, 'setAppMetadata'),
      setUserMetadata: gate(user, 'setUserMetadata'),
    }),
  });
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const key of Object.keys(value)) deepFreeze((value as Record<string, unknown>)[key]);
  }
  return value;
}
