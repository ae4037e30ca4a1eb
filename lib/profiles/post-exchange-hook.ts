import { ManagementError } from '../errors.js';
import type { ActionVersion } from '../sandbox/action-runner.js';
import { POST_EXCHANGE_TRIGGER } from './action-definition.js';
import type { ActionRegistry } from './action-registry.js';

/** What `postExchange.get()` and `set()` answer: the action the hook runs. */
export interface PostExchangeHookState {
  action_id: string;
}

/**
 * The handle of the router's optional post-exchange action (`cte.postExchange`): one action,
 * declared with `supported_triggers: [{ id: 'post-exchange', version: 'v1' }]` and deployed, runs
 * after the profile's action has set the user and before the tokens are signed, and may add
 * custom claims to them or deny the exchange. Like a profile, the hook always runs the action's
 * live version, so a deploy takes effect at once; while the hook holds an action, the action can
 * be neither deleted nor stripped of its trigger.
 */
export interface PostExchangeHookHandle {
  /**
   * Runs `actionId` after every exchange from now on (replacing any previous action).
   *
   * @throws ManagementError `not_found` (no such action), `invalid_body` (the action does not
   *   declare the `post-exchange` trigger), `action_not_deployed`.
   */
  set(actionId: string): Promise<PostExchangeHookState>;
  /** Stops running a post-exchange action; resolves `true` when one was set. */
  clear(): Promise<boolean>;
  /** The action the hook runs, or `undefined` when none is set. */
  get(): Promise<PostExchangeHookState | undefined>;
}

/** The router's post-exchange hook: the handle, plus the live version for the token endpoint. */
export class PostExchangeHook implements PostExchangeHookHandle {
  readonly #actions: ActionRegistry;
  #actionId: string | undefined;

  constructor(actions: ActionRegistry) {
    this.#actions = actions;
    actions.addBindingCheck((actionId) => actionId === this.#actionId, {
      trigger: POST_EXCHANGE_TRIGGER.id,
      holder: "the router's post-exchange hook",
      release: 'clear it first with postExchange.clear()',
    });
  }

  async set(actionId: string): Promise<PostExchangeHookState> {
    if (typeof actionId !== 'string' || actionId.length === 0) {
      throw new ManagementError('invalid_body', 'action_id must be a non-empty string');
    }
    const action = await this.#actions.get(actionId);
    if (!action.supported_triggers.some((trigger) => trigger.id === POST_EXCHANGE_TRIGGER.id)) {
      throw new ManagementError(
        'invalid_body',
        `Action must have supported_triggers: ${POST_EXCHANGE_TRIGGER.id}`,
      );
    }
    // Checked on the registry itself, synchronously before the change: no await in between.
    if (this.#actions.deployed(actionId) === undefined) {
      throw new ManagementError('action_not_deployed', 'Action is not deployed');
    }
    this.#actionId = actionId;
    return { action_id: actionId };
  }

  async clear(): Promise<boolean> {
    const wasSet = this.#actionId !== undefined;
    this.#actionId = undefined;
    return wasSet;
  }

  async get(): Promise<PostExchangeHookState | undefined> {
    return this.#actionId === undefined ? undefined : { action_id: this.#actionId };
  }

  /**
   * The live version the token endpoint runs, or `undefined` when no action is set. Synchronous:
   * the hot path. The action cannot be deleted while set, so a set hook always has a version.
   */
  deployed(): ActionVersion | undefined {
    return this.#actionId === undefined ? undefined : this.#actions.deployed(this.#actionId);
  }

  /** The id of the action the hook runs, for logs. */
  get actionId(): string | undefined {
    return this.#actionId;
  }
}
