import { ManagementError } from '../errors.js';

/** Runs a definition check for a handle: its TypeError becomes `ManagementError('invalid_body')`. */
export function asManagementError<T>(check: () => T): T {
  try {
    return check();
  } catch (err) {
    if (err instanceof TypeError) {
      throw new ManagementError('invalid_body', err.message.replace(/^customTokenExchange: /, ''));
    }
    throw err;
  }
}

/** Freezes a definition graph so the router's copy cannot be changed behind its back. */
export function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}
