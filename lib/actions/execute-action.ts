import { ActionDenied, ServerError, TemporarilyUnavailable } from '../errors.js';
import { ActionFailure } from '../sandbox/action-runner.js';
import type {
  ActionApiRecorder,
  ActionEvent,
  ActionRunner,
  ActionVersion,
} from '../sandbox/action-runner.js';
import type { Redaction } from './redaction.js';

/** An outcome that ends the request whatever the trigger: the action's `api.access.deny`. */
export interface DenyOutcome {
  kind: 'deny';
  code: string;
  reason: string;
}

/** An outcome that fails closed whatever the trigger: a refused api call, no decision. */
export interface FailOutcome {
  kind: 'fail';
  cause: string;
}

/** One execution of an action for one trigger. */
export interface ActionExecution<TOutcome> {
  runner: ActionRunner;
  version: ActionVersion;
  event: ActionEvent;
  /** The trigger's recorder, made with `redaction.redact` so its console lines are redacted. */
  recorder: ActionApiRecorder;
  /** The trigger's decision over what the recorder recorded, read once the action returned. */
  decide(): TOutcome | DenyOutcome | FailOutcome;
  /** The request's redaction: the action's secrets join it before the action runs. */
  redaction: Redaction;
  /** How the log names the action: `action act_1`, `post-exchange action act_2`. */
  label: string;
  /** Where the execution's console lines go (the request's log entry), with `consolePrefix`. */
  log: { console?: string[] };
  consolePrefix?: string;
  /** Who the execution is for (the client's IP key): a runaway is suspended per caller. */
  caller?: string;
}

/**
 * Runs an action for any trigger and maps every way it can end the same way: an overloaded
 * runner is `503 temporarily_unavailable` with `Retry-After`; a throw, a timeout or a memory or
 * CPU overrun is `500 server_error`; a `deny` is the action's own code and reason (`500` for
 * `server_error`); a refused api call or a missing decision fails closed with `500`. The causes go
 * to the log, redacted like the console lines, never to the client. Whatever the end, the console
 * lines join the log entry. Resolves the trigger's own outcomes (a user, claims, a rejection).
 */
export async function executeAction<TOutcome>(
  execution: ActionExecution<TOutcome>,
): Promise<TOutcome> {
  const { version, label, recorder } = execution;
  execution.redaction.add(Object.values(version.secrets));
  try {
    await execution.runner.run(
      version,
      execution.event,
      recorder,
      execution.caller === undefined ? undefined : { caller: execution.caller },
    );
  } catch (err) {
    if (err instanceof ActionFailure && err.kind === 'overloaded') {
      throw new TemporarilyUnavailable(err.retryAfterSeconds, `${label}: ${err.message}`);
    }
    const message = err instanceof Error ? err.message : String(err);
    throw new ServerError(`${label} failed: ${message}`);
  } finally {
    keepConsoleLines(execution);
  }
  const outcome = execution.decide();
  if (isDeny(outcome)) {
    throw new ActionDenied(outcome.code, outcome.reason, `denied by the ${label}`);
  }
  if (isFail(outcome)) throw new ServerError(`${label}: ${outcome.cause}`);
  return outcome;
}

function keepConsoleLines({ recorder, log, consolePrefix = '' }: ActionExecution<unknown>): void {
  const lines = recorder.consoleLines;
  if (lines.length === 0) return;
  const kept = (log.console ??= []);
  for (const line of lines) kept.push(consolePrefix + line.message);
}

function isDeny(outcome: unknown): outcome is DenyOutcome {
  return (outcome as { kind?: unknown }).kind === 'deny';
}

function isFail(outcome: unknown): outcome is FailOutcome {
  return (outcome as { kind?: unknown }).kind === 'fail';
}
