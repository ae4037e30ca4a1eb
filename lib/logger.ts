/** The levels of {@link Logger} the router uses. */
export const LOG_LEVELS = ['info', 'warn', 'error'] as const;

/** A level of {@link Logger}. */
export type LogLevel = (typeof LOG_LEVELS)[number];

/**
 * Where the router's operational messages go: pino's calling convention, so a pino logger (or a
 * child of one) fits as it is. `fields` holds structured context (always a `component`: `keys`,
 * `registration`, `tenant-log`, `attack-protection`, `sandbox` or `shutdown`); `message` is a complete sentence
 * on its own, so a logger that prints only messages loses nothing.
 */
export interface Logger {
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
  error(fields: object, message: string): void;
}

/** The default logger: the message on the console, at its level. */
export const consoleLogger: Logger = Object.freeze({
  // eslint-disable-next-line no-console -- the default logger's info level is the console's.
  info: (_fields: object, message: string) => console.info(message),
  warn: (_fields: object, message: string) => console.warn(message),
  error: (_fields: object, message: string) => console.error(message),
});

/**
 * `logger` with every call guarded: a logger that throws must never turn an operational message
 * into a failed request or a failed shutdown.
 */
export function guardedLogger(logger: Logger): Logger {
  const guard =
    (level: LogLevel) =>
    (fields: object, message: string): void => {
      try {
        logger[level](fields, message);
      } catch {
        // Nothing is left to report a broken logger to.
      }
    };
  return Object.freeze({ info: guard('info'), warn: guard('warn'), error: guard('error') });
}

/**
 * What the router does when V8 loses control of an isolate (isolated-vm's catastrophic error):
 * tells the logger, then aborts, since the process can no longer be trusted.
 */
export function abortOnCatastrophicError(
  logger: Logger,
  abort: () => void = () => process.abort(),
): (message: string) => void {
  return (message) => {
    logger.error(
      { component: 'sandbox' },
      `isolated-vm: catastrophic error, aborting the process: ${message}`,
    );
    abort();
  };
}
