/**
 * The host's `clients` table behind the router's `ClientStore` interface: the router asks for
 * one client at a time, when a request names it, and caches the answer (`clientCache`), so a
 * client added to the table later is served without restarting anything.
 */
import type { ClientDefinition, ClientStore } from '../../lib/index.js';
import { TOKEN_EXCHANGE_GRANT } from './host-db.js';
import type { HostClient } from './host-db.js';

export class HostClientStore implements ClientStore {
  readonly #clients: Map<string, HostClient>;

  constructor(clients: Map<string, HostClient>) {
    this.#clients = clients;
  }

  /**
   * A row as the router's definition: allowed token exchange when its `grant_types` list it. The
   * host's passport strategies authenticate clients (`clientAuthentication`), so the definition
   * carries no secret: the router only looks the authenticated id up.
   */
  async get(clientId: string): Promise<ClientDefinition | undefined> {
    const row = this.#clients.get(clientId);
    if (row === undefined) return undefined;
    return {
      client_id: row.client_id,
      name: row.name,
      // Nominal with `clientAuthentication`: the host's strategies accept Basic and the form body.
      token_endpoint_auth_method: 'client_secret_basic',
      jwt_configuration: { alg: 'ES256' },
      ...(row.grant_types.includes(TOKEN_EXCHANGE_GRANT)
        ? { token_exchange: { allow_any_profile_of_type: ['custom_authentication'] } }
        : {}),
    };
  }
}
