import type { ActionApiMethod } from '../sandbox/action-runner.js';

/**
 * Thrown inside the action when an `api.*` call breaks a documented limit. The message names the
 * method and the problem (`api.access.deny: code must not be empty`) because it is written for the
 * action's author, who sees it in the execution's error or in the tenant log.
 */
export class ActionApiError extends Error {
  /** The api method that was refused, without the `api.` prefix. */
  readonly method: ActionApiMethod;
  /** What was wrong with the call, without the method prefix. */
  readonly problem: string;

  constructor(method: ActionApiMethod, problem: string) {
    super(`api.${method}: ${problem}`);
    this.name = 'ActionApiError';
    this.method = method;
    this.problem = problem;
  }
}

/**
 * Thrown by the argument validators, which do not know which api method they serve; the recorder
 * turns it into an {@link ActionApiError} naming the method.
 */
export class InvalidArgument extends Error {
  constructor(problem: string) {
    super(problem);
    this.name = 'InvalidArgument';
  }
}
