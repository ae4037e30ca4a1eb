import type {
  Action,
  ActionDefinition,
  ActionPatch,
  PostExchangeActionDefinition,
  PostExchangeActionPatch,
} from '../profiles/action-definition.js';
import type { ActionRegistry } from '../profiles/action-registry.js';
import type { ManagementHandle } from './management-handle.js';

/**
 * Actions (`cte.actions`): an editable draft and at most one live version each. `update` changes
 * the draft only; `deploy` freezes it into a new live version, which the next exchange runs
 * (exchanges in flight finish on theirs). An action shows its secrets' names and dates, never
 * their values, and never a handler function. `delete` rejects with `action_in_use` while a
 * profile or the post-exchange hook holds the action; `create` and `update` with `invalid_body`
 * (a syntax error with its line and column) or `unsupported` (code without a sandbox).
 */
export interface ActionsHandle extends ManagementHandle<Action, ActionDefinition, ActionPatch> {
  /** A post-exchange action: its `handler` typed with the post-exchange `event` and `api`. */
  create(definition: PostExchangeActionDefinition): Promise<Action>;
  create(definition: ActionDefinition): Promise<Action>;
  /** A post-exchange action's draft: its `handler` typed with the post-exchange `event` and `api`. */
  update(id: string, patch: PostExchangeActionPatch): Promise<Action>;
  update(id: string, patch: ActionPatch): Promise<Action>;
  /** Makes the draft live as a new version (numbered one above the last). */
  deploy(id: string): Promise<Action>;
}

/** The `actions` handle over the router's registry: its management methods only. */
export function actionsHandle(registry: ActionRegistry): ActionsHandle {
  return Object.freeze({
    create: (definition: ActionDefinition | PostExchangeActionDefinition) =>
      registry.create(definition),
    get: (id: string) => registry.get(id),
    list: () => registry.list(),
    update: (id: string, patch: ActionPatch | PostExchangeActionPatch) =>
      registry.update(id, patch),
    delete: (id: string) => registry.delete(id),
    deploy: (id: string) => registry.deploy(id),
  });
}
