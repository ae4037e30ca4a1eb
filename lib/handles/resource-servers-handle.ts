import type {
  ResourceServerDefinition,
  ResourceServerRegistry,
  ResourceServerView,
} from '../registry/resource-servers.js';
import { resourceServerView } from '../registry/resource-servers.js';
import type { ManagementHandle } from './management-handle.js';
import { inProcessRegistryHandle } from './management-handle.js';

/**
 * APIs at run time (`cte.resourceServers`), by `identifier`; a change applies to the next
 * request. `create` rejects with `conflict` for an identifier that exists, `delete` with
 * `conflict` for the `defaultAudience`, `create` and `update` with `invalid_body` when no signing
 * key of the API's `signing_alg` is configured.
 */
export type ResourceServersHandle = ManagementHandle<
  ResourceServerView,
  ResourceServerDefinition,
  Partial<ResourceServerDefinition>
>;

/** The `resourceServers` handle over the router's registry. */
export function resourceServersHandle(registry: ResourceServerRegistry): ResourceServersHandle {
  return inProcessRegistryHandle(
    registry,
    resourceServerView,
    (identifier) => `resource server ${identifier} does not exist`,
  );
}
