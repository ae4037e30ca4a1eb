import { ManagementError } from '../errors.js';
import type { SupportedTrigger } from './action-definition.js';
import { CUSTOM_TOKEN_EXCHANGE_TRIGGER } from './action-definition.js';

/** Tells whether something (a token exchange profile) still uses an action. */
export type ActionBindingCheck = (actionId: string) => boolean;

/** What a binding check holds an action for, as the messages of refused changes say it. */
export interface ActionBinding {
  /** The trigger the action must keep while bound, e.g. `custom-token-exchange`. */
  trigger: string;
  /** Who holds the action: `a token exchange profile`. */
  holder: string;
  /** What frees it: `delete the profile first`. */
  release: string;
}

/** The binding of token exchange profiles, the default of {@link ActionRegistry.addBindingCheck}. */
const PROFILE_BINDING: Readonly<ActionBinding> = Object.freeze({
  trigger: CUSTOM_TOKEN_EXCHANGE_TRIGGER.id,
  holder: 'a token exchange profile',
  release: 'delete the profile first',
});

/**
 * What holds actions in place: each check (token exchange profiles, the post-exchange hook) says
 * whether it still uses an action, and for what trigger. A held action cannot be deleted nor lose
 * that trigger.
 */
export class ActionBindings {
  readonly #checks = new Map<ActionBindingCheck, Readonly<ActionBinding>>();

  /** Adds a check (the profiles' binding by default); returns the function that removes it. */
  add(check: ActionBindingCheck, binding: ActionBinding = PROFILE_BINDING): () => void {
    if (typeof check !== 'function') {
      throw new TypeError('ActionRegistry: a binding check must be a function');
    }
    this.#checks.set(check, Object.freeze({ ...binding }));
    return () => {
      this.#checks.delete(check);
    };
  }

  /** The binding holding action `id`, or `undefined` when nothing does. */
  of(id: string): Readonly<ActionBinding> | undefined {
    for (const [check, binding] of this.#checks) if (check(id)) return binding;
    return undefined;
  }

  /** @throws ManagementError `action_in_use` when `triggers` drop the trigger `id` is bound by. */
  checkKept(id: string, triggers: readonly SupportedTrigger[]): void {
    const binding = this.of(id);
    if (binding && !triggers.some((t) => t.id === binding.trigger)) {
      throw new ManagementError(
        'action_in_use',
        `Action is bound to ${binding.holder} and must keep the ${binding.trigger} trigger.`,
      );
    }
  }
}

/** `true` when the triggers include Auth0's Custom Token Exchange trigger. */
export function supportsCustomTokenExchange(triggers: readonly SupportedTrigger[]): boolean {
  return triggers.some((trigger) => trigger.id === CUSTOM_TOKEN_EXCHANGE_TRIGGER.id);
}
