import type {
  ActionApiRecorder,
  ActionEvent,
  ActionRunner,
  ActionVersion,
} from './action-runner.js';
import { ActionFailure } from './action-runner.js';

/**
 * Sends each version to the runner that executes it: trusted `handler`s in process, `code` to the
 * sandbox (when the router has one).
 */
export class RunnerSelector implements ActionRunner {
  readonly #inProcess: ActionRunner;
  readonly #sandbox: ActionRunner | undefined;
  readonly validate?: (code: string) => void | Promise<void>;

  constructor(inProcess: ActionRunner, sandbox: ActionRunner | undefined) {
    this.#inProcess = inProcess;
    this.#sandbox = sandbox;
    if (sandbox?.validate) this.validate = (code) => sandbox.validate!(code);
  }

  run(version: ActionVersion, event: ActionEvent, recorder: ActionApiRecorder): Promise<void> {
    if (version.handler) return this.#inProcess.run(version, event, recorder);
    if (!this.#sandbox) {
      return Promise.reject(
        new ActionFailure('invalid', 'code actions need the sandbox (options.sandbox is false)'),
      );
    }
    return this.#sandbox.run(version, event, recorder);
  }

  release(version: ActionVersion): void {
    (version.handler ? this.#inProcess : this.#sandbox)?.release?.(version);
  }

  async close(): Promise<void> {
    await Promise.all([this.#inProcess.close(), this.#sandbox?.close()]);
  }
}
