import { ManagementError } from '../errors.js';
import type { ClientStore } from './client-store.js';
import type { ClientDefinition } from './clients.js';
import { parseClient } from './clients.js';
import { asManagementError } from './registry-support.js';

/**
 * A {@link ClientStore} the host also writes through: `MemoryClientStore` and
 * `PostgresClientStore` are two. Definitions are checked as the router checks them (with the
 * secret and `jwks` left optional, since a host may authenticate its clients with its own
 * passport strategies), so a typo is refused when it is written, not on a request.
 */
export interface ManagedClientStore extends ClientStore {
  /**
   * Adds a client.
   * @throws ManagementError `invalid_body` for an invalid definition, `conflict` when the id exists
   */
  create(definition: ClientDefinition): Promise<ClientDefinition>;
  /**
   * Changes the fields `patch` names; a field set to `null` is removed (the previous secret's
   * hash once a rotation is over, say). The id cannot change.
   * @throws ManagementError `invalid_body`, or `not_found` when there is no such client
   */
  update(
    clientId: string,
    patch: { [K in keyof ClientDefinition]?: ClientDefinition[K] | null },
  ): Promise<ClientDefinition>;
  /** Removes a client; `false` when there was none. */
  delete(clientId: string): Promise<boolean>;
}

/** Whether a `ClientStore` also writes (`create`, `update`, `delete`). */
export function isManagedClientStore(store: ClientStore): store is ManagedClientStore {
  const candidate = store as Partial<ManagedClientStore>;
  return (
    typeof candidate.create === 'function' &&
    typeof candidate.update === 'function' &&
    typeof candidate.delete === 'function'
  );
}

/**
 * `definition` checked and copied as plain JSON data (what a store keeps).
 * @throws ManagementError `invalid_body` naming what is wrong
 */
export function checkClientDefinition(definition: unknown): ClientDefinition {
  asManagementError(() => parseClient(definition, 'client', { hostAuthenticates: true }));
  return JSON.parse(JSON.stringify(definition)) as ClientDefinition;
}

/**
 * `stored` with `patch` applied: fields given replace, fields set to `null` go, the id stays.
 * @throws ManagementError `invalid_body` when the patch changes the id or the result is invalid
 */
export function patchClientDefinition(
  stored: ClientDefinition,
  patch: Record<string, unknown>,
): ClientDefinition {
  if (typeof patch !== 'object' || patch === null || Array.isArray(patch)) {
    throw new ManagementError('invalid_body', 'client patch must be a plain object');
  }
  if (patch.client_id !== undefined && patch.client_id !== stored.client_id) {
    throw new ManagementError('invalid_body', 'client.client_id cannot change');
  }
  const merged: Record<string, unknown> = { ...stored };
  for (const [name, value] of Object.entries(patch)) {
    if (value === null) delete merged[name];
    else if (value !== undefined) merged[name] = value;
  }
  return checkClientDefinition(merged);
}
