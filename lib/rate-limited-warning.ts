/** Options of {@link rateLimitedWarning}. */
export interface RateLimitedWarningOptions {
  /** Least time between two warnings about the same subject, in ms. Default 60000. */
  intervalMs?: number;
  /** Where warnings go. Default `console.warn`. */
  warn?: (message: string) => void;
  /** The clock. Default `Date.now`. */
  now?: () => number;
}

/** Warns about `subject`, at most once per interval; see {@link rateLimitedWarning}. */
export type RateLimitedWarn = (subject: object, message: string) => void;

/**
 * A warning that cannot flood the console: the first problem of each subject (a log sink, a
 * listener) is printed at once, later ones at most once per interval, each saying how many were
 * held back since the last one printed. Nothing is printed from a timer, so a burst followed by
 * silence prints only its first warning: the warning says where the exact counts are kept.
 */
export function rateLimitedWarning(options: RateLimitedWarningOptions = {}): RateLimitedWarn {
  const {
    intervalMs = 60_000,
    warn = (message) => console.warn(message),
    now = Date.now,
  } = options;
  const state = new WeakMap<object, { lastWarnedAt: number; heldBack: number }>();
  return (subject, message) => {
    const time = now();
    const seen = state.get(subject);
    if (seen && time - seen.lastWarnedAt < intervalMs) {
      seen.heldBack += 1;
      return;
    }
    const heldBack = seen?.heldBack ?? 0;
    state.set(subject, { lastWarnedAt: time, heldBack: 0 });
    try {
      warn(heldBack > 0 ? `${message} (${heldBack} similar warnings held back)` : message);
    } catch {
      // A broken console must not turn a logging problem into a failed exchange.
    }
  };
}

/** One line describing an error for a warning: `Name: message`, cut to 300 characters. */
export function describeError(error: unknown): string {
  const text =
    error instanceof Error ? `${error.name}: ${error.message}` : `non-error ${typeof error} thrown`;
  return text.length > 300 ? `${text.slice(0, 299)}…` : text;
}
