import { ManagementError } from '../errors.js';
import type { ActionRunner } from '../sandbox/action-runner.js';
import { ActionFailure } from '../sandbox/action-runner.js';
import type { ActionSource } from './action-definition.js';

/**
 * Has the runner check an action's code before the registry keeps it: code it cannot compile is
 * `invalid_body` with the runner's message; code on a router without a sandbox is `unsupported`.
 * A handler needs no check.
 */
export async function checkActionSource(
  runner: ActionRunner,
  source: ActionSource | undefined,
): Promise<void> {
  if (!source || !('code' in source)) return;
  if (!runner.validate) {
    throw new ManagementError(
      'unsupported',
      'This router runs actions without a sandbox: give a handler instead of code, or enable the sandbox.',
    );
  }
  try {
    await runner.validate(source.code);
  } catch (err) {
    if (err instanceof ActionFailure && err.kind === 'invalid') {
      throw new ManagementError('invalid_body', err.message);
    }
    throw err;
  }
}
