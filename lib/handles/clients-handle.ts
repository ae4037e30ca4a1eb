import { ManagementError } from '../errors.js';
import type { ClientDefinition, ClientRegistry, ClientView } from '../registry/clients.js';
import { clientView } from '../registry/clients.js';
import { isManagedClientStore } from '../registry/managed-client-store.js';
import type { ManagedClientStore } from '../registry/managed-client-store.js';
import type { ManagementHandle } from './management-handle.js';
import { inProcessRegistryHandle } from './management-handle.js';

/**
 * Applications at run time (`cte.clients`), by `client_id`; a change applies to the next request.
 * Views never carry `client_secret` (nor `client_secret_hash`). `create` rejects with `conflict`
 * for a `client_id` that exists, `update` with `invalid_body` when the patch changes the
 * `client_id`.
 *
 * With a `ClientStore` in `options.clients`, `get` reads through the router's cache, `list`
 * rejects with `unsupported` (a store is read one client at a time), and `create`, `update` and
 * `delete` write through the store when it has them (`PostgresClientStore`,
 * `MemoryClientStore`), then forget this instance's cached copy; other instances see the change
 * after their `clientCache.ttlMs`, or once `invalidate` ran there.
 */
export type ClientsHandle = ManagementHandle<
  ClientView,
  ClientDefinition,
  Partial<ClientDefinition>
> & {
  /**
   * Forgets what this instance cached of a `ClientStore`'s client (or of every client, without
   * an id), so the next request reads it again: call it on every instance after changing a client
   * in your registry, or wait for `clientCache.ttlMs`. Nothing to do for clients given as an
   * array.
   */
  invalidate(clientId?: string): Promise<void>;
};

/** The `clients` handle over the router's registry. */
export function clientsHandle(registry: ClientRegistry): ClientsHandle {
  const missing = (id: string) => `client ${id} does not exist`;
  const base =
    registry.store === undefined
      ? inProcessRegistryHandle(registry, clientView, missing)
      : storeHandle(registry, missing);
  return Object.freeze({
    ...base,
    invalidate: async (clientId?: string) => registry.invalidate(clientId),
  });
}

function storeHandle(
  registry: ClientRegistry,
  missing: (id: string) => string,
): ManagementHandle<ClientView, ClientDefinition, Partial<ClientDefinition>> {
  const read = async (clientId: string): Promise<ClientView> => {
    const client = await registry.find(clientId);
    if (client === undefined) throw new ManagementError('not_found', missing(clientId));
    return clientView(client);
  };
  const writable = (): ManagedClientStore => {
    if (registry.store !== undefined && isManagedClientStore(registry.store)) return registry.store;
    throw new ManagementError(
      'unsupported',
      'the clients come from a ClientStore without create, update and delete: change them in ' +
        'your registry, then call clients.invalidate(client_id)',
    );
  };
  return Object.freeze({
    get: read,
    list: () =>
      Promise.reject(
        new ManagementError(
          'unsupported',
          'the clients come from a ClientStore, which is read one client at a time: list them in your registry',
        ),
      ),
    create: async (definition: ClientDefinition) => {
      const created = await writable().create(definition);
      registry.invalidate(created.client_id);
      return read(created.client_id);
    },
    update: async (clientId: string, patch: Partial<ClientDefinition>) => {
      await writable().update(clientId, patch);
      registry.invalidate(clientId);
      return read(clientId);
    },
    delete: async (clientId: string) => {
      const deleted = await writable().delete(clientId);
      registry.invalidate(clientId);
      if (!deleted) throw new ManagementError('not_found', missing(clientId));
    },
  });
}
