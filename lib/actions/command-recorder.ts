import { plainDataSize } from '../plain-data-size.js';
import type { ActionApiMethod } from '../sandbox/action-runner.js';
import { ActionApiError, InvalidArgument } from './action-api-error.js';
import { ConsoleCapture } from './console-capture.js';
import type { ConsoleLine } from '../sandbox/action-types.js';

/**
 * Characters the arguments of one api call may take (strings and keys by their length, other
 * values a few characters each). The sandbox refuses larger arguments before they leave it; this
 * is the host's own check, on its copy.
 */
export const MAX_API_ARGUMENT_CHARS = 64 * 1024;

/**
 * What every trigger's recorder shares: accepted calls recorded in order as plain-data commands,
 * refused calls thrown into the action as {@link ActionApiError} AND remembered as violations (so
 * the exchange fails closed even when the action catches the error), and console lines redacted
 * then cut. A subclass says how its trigger's api calls are validated.
 */
export abstract class CommandRecorder<TCommand> {
  readonly #commands: TCommand[] = [];
  readonly #violations: string[] = [];
  readonly #console: ConsoleCapture;

  /** `redact` is applied to every console line before it is cut. Default: identity. */
  constructor(redact: (text: string) => string = (text) => text) {
    this.#console = new ConsoleCapture(redact);
  }

  /** The accepted calls, in call order, each a copy of what the action passed. */
  get commands(): readonly TCommand[] {
    return this.#commands;
  }

  /** The messages of every refused call, in call order; any entry fails the exchange. */
  get violations(): readonly string[] {
    return this.#violations;
  }

  /**
   * The captured lines (at most 100), followed by one `warn` line saying how many were dropped
   * when there were more.
   */
  get consoleLines(): readonly ConsoleLine[] {
    return this.#console.lines;
  }

  /**
   * Validates and records one api call.
   * @throws ActionApiError `api.<method>: <problem>` when the call breaks a documented limit; the
   *   message is also added to {@link CommandRecorder.violations}
   */
  call(method: ActionApiMethod, args: readonly unknown[]): void {
    try {
      if (plainDataSize(args, MAX_API_ARGUMENT_CHARS) > MAX_API_ARGUMENT_CHARS) {
        throw new InvalidArgument(
          `the arguments are larger than ${MAX_API_ARGUMENT_CHARS} characters`,
        );
      }
      this.#commands.push(this.validate(method, args));
    } catch (err) {
      const error =
        err instanceof InvalidArgument
          ? new ActionApiError(method, err.message)
          : err instanceof ActionApiError
            ? err
            : new ActionApiError(method, `could not be checked: ${String(err)}`);
      this.#violations.push(error.message);
      throw error;
    }
  }

  /** Captures one console call: formatted like `console.log`, redacted, then cut. */
  console(level: ConsoleLine['level'], args: readonly unknown[]): void {
    this.#console.capture(level, args);
  }

  /** The command for one call; throws {@link InvalidArgument} naming the problem. */
  protected abstract validate(method: ActionApiMethod, args: readonly unknown[]): TCommand;
}
