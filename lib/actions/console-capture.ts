import type { ConsoleLine } from '../sandbox/action-types.js';

/** Characters kept of each captured console line (Auth0 keeps 256). */
export const MAX_CONSOLE_LINE_LENGTH = 256;

/** Console lines kept per execution; later ones are counted, not kept. */
export const MAX_CONSOLE_LINES = 100;

/**
 * One execution's console lines, as every trigger's recorder keeps them: formatted like
 * `console.log`, redacted, cut to {@link MAX_CONSOLE_LINE_LENGTH} characters, at most
 * {@link MAX_CONSOLE_LINES} of them.
 */
export class ConsoleCapture {
  readonly #redact: (text: string) => string;
  readonly #lines: ConsoleLine[] = [];
  #dropped = 0;

  /**
   * @param redact - applied to every line before it is cut, so that a token straddling the cut
   *   cannot leave a fragment behind.
   */
  constructor(redact: (text: string) => string) {
    this.#redact = redact;
  }

  /**
   * The captured lines (at most {@link MAX_CONSOLE_LINES}), followed by one `warn` line saying
   * how many were dropped when there were more.
   */
  get lines(): readonly ConsoleLine[] {
    if (this.#dropped === 0) return [...this.#lines];
    return [
      ...this.#lines,
      {
        level: 'warn',
        message: `${this.#dropped} more console lines dropped (at most ${MAX_CONSOLE_LINES} are kept)`,
      },
    ];
  }

  /** Captures one console call: formatted like `console.log`, redacted, then cut. */
  capture(level: ConsoleLine['level'], args: readonly unknown[]): void {
    if (this.#lines.length >= MAX_CONSOLE_LINES) {
      this.#dropped++;
      return;
    }
    let message: string;
    try {
      message = cutToCharacters(this.#redact(formatConsoleArgs(args)), MAX_CONSOLE_LINE_LENGTH);
    } catch {
      // Keeping the unredacted text is never an option: it may hold the token.
      message = '[console line dropped: redaction failed]';
    }
    this.#lines.push({ level, message });
  }
}

/**
 * Formats console arguments as one line, as `console.log` roughly does, joined by spaces: strings
 * as they are, errors as `Name: message`, objects and arrays as JSON, and everything else (or an
 * object JSON cannot write, such as a cycle) with `String(value)`.
 */
export function formatConsoleArgs(args: readonly unknown[]): string {
  return args.map(formatConsoleArg).join(' ');
}

function formatConsoleArg(arg: unknown): string {
  if (typeof arg === 'string') return arg;
  if (arg instanceof Error) return `${arg.name}: ${arg.message}`;
  if (typeof arg === 'object' && arg !== null) {
    try {
      const json = JSON.stringify(arg);
      if (json !== undefined) return json;
    } catch {
      // Cycles and bigints inside objects: fall back to String below.
    }
  }
  try {
    return String(arg);
  } catch {
    return '[unprintable value]';
  }
}

/** Cuts to `max` code points without splitting a surrogate pair. */
function cutToCharacters(text: string, max: number): string {
  if (text.length <= max) return text;
  let count = 0;
  for (let index = 0; index < text.length; count++) {
    if (count === max) return text.slice(0, index);
    const codePoint = text.codePointAt(index) as number;
    index += codePoint > 0xffff ? 2 : 1;
  }
  return text;
}
