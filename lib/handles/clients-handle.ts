import type { ClientDefinition, ClientRegistry, ClientView } from '../registry/clients.js';
import { clientView } from '../registry/clients.js';
import { ManagementError } from '../errors.js';
import type { ManagementHandle } from './management-handle.js';

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
  return Object.freeze({
    create: async (definition: ClientDefinition) => clientView(registry.add(definition)),
    get: async (clientId: string) => {
      const client = registry.get(clientId);
      if (client === undefined) {
        throw new ManagementError('not_found', `client ${clientId} does not exist`);
      }
      return clientView(client);
    },
    list: async () => registry.list().map(clientView),
    update: async (clientId: string, patch: Partial<ClientDefinition>) =>
      clientView(registry.update(clientId, patch)),
    delete: async (clientId: string) => registry.remove(clientId),
  });
}
