import { ManagementError } from '../errors.js';
import type { ClientDefinition } from './clients.js';
import {
  checkClientDefinition,
  patchClientDefinition,
  type ManagedClientStore,
} from './managed-client-store.js';

/**
 * A {@link ManagedClientStore} in this process: client definitions by id, each checked when it is
 * written and handed out as a copy. For tests, and for a single process whose clients change at
 * run time; to share clients between instances use `PostgresClientStore`, or your own registry
 * behind a `ClientStore`.
 */
export class MemoryClientStore implements ManagedClientStore {
  readonly #rows = new Map<string, string>();

  /** Starts with `definitions`, each checked. */
  constructor(definitions: readonly ClientDefinition[] = []) {
    for (const definition of definitions) {
      const checked = checkClientDefinition(definition);
      if (this.#rows.has(checked.client_id)) {
        throw new ManagementError('conflict', `client ${checked.client_id} already exists`);
      }
      this.#rows.set(checked.client_id, JSON.stringify(checked));
    }
  }

  /** Always resolves: memory is always reachable. */
  ping(): Promise<void> {
    return Promise.resolve();
  }

  /** {@inheritDoc ClientStore.get} */
  get(clientId: string): Promise<ClientDefinition | undefined> {
    const row = this.#rows.get(clientId);
    return Promise.resolve(row === undefined ? undefined : (JSON.parse(row) as ClientDefinition));
  }

  /** {@inheritDoc ManagedClientStore.create} */
  async create(definition: ClientDefinition): Promise<ClientDefinition> {
    const checked = checkClientDefinition(definition);
    if (this.#rows.has(checked.client_id)) {
      throw new ManagementError('conflict', `client ${checked.client_id} already exists`);
    }
    this.#rows.set(checked.client_id, JSON.stringify(checked));
    return checked;
  }

  /** {@inheritDoc ManagedClientStore.update} */
  async update(
    clientId: string,
    patch: Parameters<ManagedClientStore['update']>[1],
  ): Promise<ClientDefinition> {
    const row = this.#rows.get(clientId);
    if (row === undefined) {
      throw new ManagementError('not_found', `client ${clientId} does not exist`);
    }
    const updated = patchClientDefinition(JSON.parse(row) as ClientDefinition, patch);
    this.#rows.set(clientId, JSON.stringify(updated));
    return updated;
  }

  /** {@inheritDoc ManagedClientStore.delete} */
  async delete(clientId: string): Promise<boolean> {
    return this.#rows.delete(clientId);
  }
}
