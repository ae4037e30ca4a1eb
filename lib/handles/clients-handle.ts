import type { ClientDefinition, ClientRegistry, ClientView } from '../registry/clients.js';
import { clientView } from '../registry/clients.js';
import type { ManagementHandle } from './management-handle.js';
import { inProcessRegistryHandle } from './management-handle.js';

/**
 * Applications at run time (`cte.clients`), by `client_id`; a change applies to the next request.
 * Views never carry `client_secret`. `create` rejects with `conflict` for a `client_id` that
 * exists, `update` with `invalid_body` when the patch changes the `client_id`.
 */
export type ClientsHandle = ManagementHandle<
  ClientView,
  ClientDefinition,
  Partial<ClientDefinition>
>;

/** The `clients` handle over the router's registry. */
export function clientsHandle(registry: ClientRegistry): ClientsHandle {
  return inProcessRegistryHandle(registry, clientView, (id) => `client ${id} does not exist`);
}
