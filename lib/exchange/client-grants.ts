import type { ClientGrantDefinition } from '../registry/resource-servers.js';

/**
 * Which APIs and scopes each client may request. When the router was given no client grants,
 * every first-party client may request every API (`restricted` is false).
 */
export class ClientGrantIndex {
  readonly restricted: boolean;
  readonly #grants = new Map<string, Set<string>>();

  constructor(grants: readonly ClientGrantDefinition[] | undefined) {
    this.restricted = grants !== undefined;
    for (const grant of grants ?? []) {
      const key = grantKey(grant.client_id, grant.audience);
      const scopes = this.#grants.get(key) ?? new Set<string>();
      for (const scope of grant.scope) scopes.add(scope);
      this.#grants.set(key, scopes);
    }
  }

  /**
   * The API scopes `clientId` may request for `audience`: `undefined` when unrestricted, `null`
   * when the client has no grant for that API.
   */
  scopesFor(clientId: string, audience: string): ReadonlySet<string> | undefined | null {
    if (!this.restricted) return undefined;
    return this.#grants.get(grantKey(clientId, audience)) ?? null;
  }
}

function grantKey(clientId: string, audience: string): string {
  return `${clientId}\u0000${audience}`;
}
