import { ActionFailure } from '../action-runner.js';
import { ACTION_PARAMETERS, wrapActionSource } from './guest-source.js';
import { ScratchIsolate } from './isolates.js';

/** Largest action source, in UTF-8 bytes (100 kB). */
export const MAX_ACTION_CODE_BYTES = 100 * 1024;

/**
 * Checks action source without running any of it, in a small isolate of its own: the size, then
 * the wrapper compiled (for the author's line and column of a syntax error), then V8 parsing the
 * source as a function body alone, which refuses source that closes the wrapper early to run code
 * outside it.
 */
export class SourceCheck {
  readonly #onCatastrophicError: (message: string) => void;
  #scratch: ScratchIsolate | undefined;

  constructor(onCatastrophicError: (message: string) => void) {
    this.#onCatastrophicError = onCatastrophicError;
  }

  /**
   * @throws ActionFailure `invalid` with `SyntaxError: <message> (line L, column C)` in the
   *   author's coordinates, or when the code is larger than 100 kB
   */
  check(code: string): void {
    const bytes = Buffer.byteLength(code, 'utf8');
    if (bytes > MAX_ACTION_CODE_BYTES) {
      throw new ActionFailure(
        'invalid',
        `the code is ${bytes} bytes; actions may have at most ${MAX_ACTION_CODE_BYTES} bytes (100 kB)`,
      );
    }
    const scratch = this.#isolate();
    try {
      scratch.compile(wrapActionSource(code), 'action');
    } catch (err) {
      this.#throwIfLost(err);
      throw new ActionFailure('invalid', syntaxErrorMessage(err, code));
    }
    let verdict: unknown;
    try {
      verdict = scratch.parsesAsFunctionBody(code);
    } catch (err) {
      this.#throwIfLost(err);
      verdict = err instanceof Error ? err.message : 'the check failed';
    }
    if (verdict !== true) {
      // The wrapper compiled, so V8 refused the body alone: the code closes the module function
      // early (a `}` without its `{`) to run something outside it.
      throw new ActionFailure(
        'invalid',
        `SyntaxError: the code closes its module function early (a '}' without a matching '{'); V8: ${String(verdict)}`,
      );
    }
  }

  close(): void {
    this.#scratch?.dispose();
    this.#scratch = undefined;
  }

  #isolate(): ScratchIsolate {
    if (this.#scratch === undefined || this.#scratch.isDisposed) {
      try {
        this.#scratch = new ScratchIsolate(ACTION_PARAMETERS, this.#onCatastrophicError);
      } catch (err) {
        throw notChecked(err);
      }
    }
    return this.#scratch;
  }

  /**
   * A check that threw because the scratch isolate is gone (its memory limit) says nothing of the
   * code: it fails as the sandbox's, and the next check makes a new isolate.
   */
  #throwIfLost(err: unknown): void {
    if (this.#scratch?.isDisposed !== true) return;
    this.#scratch = undefined;
    throw notChecked(err);
  }
}

/** The source check could not run (not the code's fault): `threw`, never `invalid`. */
function notChecked(err: unknown): ActionFailure {
  return new ActionFailure(
    'threw',
    `the sandbox could not check the action's code: ${err instanceof Error ? err.message : String(err)}`,
  );
}

/**
 * `SyntaxError: <message> (line L, column C)`, from V8's `<message> [action:L:C]`. An error V8
 * places in the wrapper's closing line comes from unbalanced brackets in the code: it is reported
 * at the end of the code, saying so.
 */
function syntaxErrorMessage(err: unknown, code: string): string {
  const text = err instanceof Error ? err.message : String(err);
  const match = /^(.*) \[action:(\d+):(\d+)\]$/s.exec(text);
  const name = err instanceof Error ? err.name : 'SyntaxError';
  if (match === null) return `${name}: ${text}`;
  const lines = code.split('\n');
  if (Number(match[2]) <= lines.length) {
    return `${name}: ${match[1]} (line ${match[2]}, column ${match[3]})`;
  }
  const column = (lines.at(-1)?.length ?? 0) + 1;
  return `${name}: ${match[1]} at the end of the code (line ${lines.length}, column ${column}): check for unbalanced braces or parentheses`;
}
