import type { Logger } from '../../lib/index.js';

/** One call a {@link recordingLogger} received. */
export interface LoggedRecord {
  level: 'info' | 'warn' | 'error';
  fields: object;
  message: string;
}

/** A pino-shaped logger that keeps every call, for the `logger` option of a test router. */
export function recordingLogger(): { logger: Logger; records: LoggedRecord[] } {
  const records: LoggedRecord[] = [];
  const at =
    (level: LoggedRecord['level']) =>
    (fields: object, message: string): void => {
      records.push({ level, fields, message });
    };
  return { logger: { info: at('info'), warn: at('warn'), error: at('error') }, records };
}

/** The record of a warning `component` logged through a {@link recordingLogger}. */
export function warned(component: string, message: string): LoggedRecord {
  return { level: 'warn', fields: { component }, message };
}
