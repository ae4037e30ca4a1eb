import {
  ActionFailure,
  type ActionApiRecorder,
  type ActionEvent,
  type ActionHandler,
  type ActionLimits,
  type ActionTrigger,
  type ActionVersion,
  type ExecutionRunner,
} from './action-runner.js';
import { frozenCopy } from '../plain-copy.js';
import type { ActionCache } from './capabilities/action-cache.js';
import type { ActionReplay } from './capabilities/action-replay.js';

/**
 * Runs trusted in-process `handler` versions in the host's own event loop, for integrators who do
 * not need a sandbox. It enforces what can be enforced without one:
 * - the handler gets a deep-frozen copy of `event`, so it cannot change what the router built;
 * - `limits.timeoutMs` is a wall-clock deadline (`ActionFailure('timeout')`), but a handler that
 *   blocks the event loop cannot be interrupted: only the sandbox bounds CPU;
 * - the `api` stops working when the execution ends (calls from a forgotten promise chain, or
 *   after a timeout, are ignored), so nothing is recorded after the router has decided.
 *
 * Concurrency limits are the execution gate's. Versions carrying sandboxed `code` are refused with
 * `ActionFailure('invalid')`. `console` inside a handler is the host's own console: it is not
 * captured, and there is no `api.cache` (a handler keeps its own state). `api.replay` is there
 * for the custom-token-exchange trigger; once the execution ended it resolves `false` without
 * consuming anything.
 */
export class InProcessRunner implements ExecutionRunner {
  /**
   * Runs `version.handler` (for the post-exchange trigger, its `onExecutePostExchange`) with a
   * frozen copy of `event` and `recorder.api()`.
   * @throws ActionFailure `invalid` (no handler, or none for the recorder's trigger), `timeout`,
   *   or `threw` with `<name>: <message> (at <first stack frame>)` when
   *   the handler throws or rejects
   */
  async run(
    version: ActionVersion,
    limits: ActionLimits,
    event: ActionEvent,
    recorder: ActionApiRecorder,
    _cache?: ActionCache,
    replay?: ActionReplay,
  ): Promise<void> {
    if (version.handler === undefined) {
      throw new ActionFailure(
        'invalid',
        version.code === undefined
          ? `action ${version.action_id} version ${version.number} has no handler`
          : 'this runner executes only in-process handlers',
      );
    }
    const handler = entryPoint(version.handler, recorder.trigger ?? 'custom-token-exchange');
    let open = true;
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      const frozenEvent = frozenCopy(event);
      const isOpen = () => open;
      const api =
        replay === undefined
          ? revocableApi(recorder.api(), isOpen)
          : Object.freeze({
              ...revocableApi(recorder.api(), isOpen),
              replay: Object.freeze({
                consume: (key: unknown, options: unknown): Promise<boolean> =>
                  open ? replay.consume(key, options) : Promise.resolve(false),
              }),
            });
      // The timeout error is made only when the deadline passes: an Error captures a stack trace,
      // about 20 µs that almost every execution would pay for nothing.
      const TIMED_OUT = Symbol('timed out');
      const deadline = new Promise<typeof TIMED_OUT>((resolve) => {
        timer = setTimeout(() => resolve(TIMED_OUT), limits.timeoutMs);
      });
      const execution = (async () => handler(frozenEvent, api))();
      // A handler settling after the deadline must not become an unhandled rejection.
      execution.catch(() => undefined);
      let settled: unknown;
      try {
        settled = await Promise.race([execution, deadline]);
      } catch (err) {
        throw new ActionFailure('threw', describeThrown(err));
      }
      if (settled === TIMED_OUT) {
        throw new ActionFailure('timeout', `action exceeded its ${limits.timeoutMs} ms deadline`);
      }
    } finally {
      open = false;
      clearTimeout(timer);
    }
  }

  /** Nothing to free: handlers live in the host. */
  async close(): Promise<void> {}
}

/**
 * The function to call for `trigger`: a function handler serves the custom-token-exchange trigger,
 * a `{ onExecutePostExchange }` object the post-exchange one.
 */
function entryPoint(
  handler: ActionHandler,
  trigger: ActionTrigger,
): (event: unknown, api: unknown) => unknown {
  if (trigger === 'post-exchange') {
    const entry = typeof handler === 'function' ? undefined : handler.onExecutePostExchange;
    if (typeof entry !== 'function') {
      throw new ActionFailure(
        'invalid',
        'a post-exchange action needs handler { onExecutePostExchange: async (event, api) => {} }',
      );
    }
    return (event, api) => entry.call(handler, event as never, api as never);
  }
  if (typeof handler !== 'function') {
    throw new ActionFailure(
      'invalid',
      'a custom-token-exchange action needs a handler function async (event, api) => {}',
    );
  }
  return (event, api) => handler(event as never, api as never);
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

/**
 * Wraps every method of `api` (an object of namespaces of methods, whichever the trigger) so that
 * it does nothing once `isOpen()` is false.
 */
function revocableApi<Api extends object>(api: Api, isOpen: () => boolean): Api {
  const gated: Record<string, Readonly<Record<string, unknown>>> = {};
  for (const [name, namespace] of Object.entries(api) as Array<[string, object]>) {
    const methods: Record<string, unknown> = {};
    for (const [method, fn] of Object.entries(namespace)) {
      if (typeof fn !== 'function') continue;
      methods[method] = (...args: unknown[]): void => {
        // Ignored rather than thrown: nobody is left to catch it, and an unhandled rejection
        // would take the host process down.
        if (!isOpen()) return;
        (fn as (...args: unknown[]) => void).apply(namespace, args);
      };
    }
    gated[name] = Object.freeze(methods);
  }
  return Object.freeze(gated) as Api;
}
