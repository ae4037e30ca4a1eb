import type {
  Organization,
  OrganizationChanges,
  OrganizationConnection,
  OrganizationStore,
} from './organization-store.js';
import { OrganizationConflictError } from './organization-store.js';

interface Entry {
  organization: Organization;
  members: Set<string>;
  connections: Map<string, OrganizationConnection>;
}

/** The default {@link OrganizationStore}: this process only, gone on restart. */
export class MemoryOrganizationStore implements OrganizationStore {
  readonly #byId = new Map<string, Entry>();
  readonly #idByName = new Map<string, string>();

  async create(organization: Organization): Promise<Organization> {
    if (this.#byId.has(organization.id)) throw new OrganizationConflictError('id');
    if (this.#idByName.has(organization.name)) throw new OrganizationConflictError('name');
    const stored = structuredClone(organization);
    this.#byId.set(stored.id, { organization: stored, members: new Set(), connections: new Map() });
    this.#idByName.set(stored.name, stored.id);
    return structuredClone(stored);
  }

  async get(id: string): Promise<Organization | undefined> {
    const entry = this.#byId.get(id);
    return entry && structuredClone(entry.organization);
  }

  async getByName(name: string): Promise<Organization | undefined> {
    const id = this.#idByName.get(name);
    return id === undefined ? undefined : this.get(id);
  }

  async list(): Promise<Organization[]> {
    return [...this.#byId.values()].map((entry) => structuredClone(entry.organization));
  }

  async update(id: string, changes: OrganizationChanges): Promise<Organization | undefined> {
    const entry = this.#byId.get(id);
    if (entry === undefined) return undefined;
    const { name, display_name: displayName, metadata } = changes;
    if (name !== undefined && name !== entry.organization.name) {
      if (this.#idByName.has(name)) throw new OrganizationConflictError('name');
      this.#idByName.delete(entry.organization.name);
      this.#idByName.set(name, id);
    }
    const { display_name: current, ...rest } = entry.organization;
    const kept = displayName === undefined ? current : (displayName ?? undefined);
    entry.organization = {
      ...rest,
      ...(name === undefined ? {} : { name }),
      ...(kept === undefined ? {} : { display_name: kept }),
      ...(metadata === undefined ? {} : { metadata: { ...metadata } }),
    };
    return structuredClone(entry.organization);
  }

  async delete(id: string): Promise<boolean> {
    const entry = this.#byId.get(id);
    if (entry === undefined) return false;
    this.#byId.delete(id);
    this.#idByName.delete(entry.organization.name);
    return true;
  }

  async addMembers(id: string, userIds: readonly string[]): Promise<boolean> {
    const entry = this.#byId.get(id);
    if (entry === undefined) return false;
    for (const userId of userIds) entry.members.add(userId);
    return true;
  }

  async removeMembers(id: string, userIds: readonly string[]): Promise<boolean> {
    const entry = this.#byId.get(id);
    if (entry === undefined) return false;
    for (const userId of userIds) entry.members.delete(userId);
    return true;
  }

  async listMembers(id: string): Promise<string[] | undefined> {
    const entry = this.#byId.get(id);
    return entry && [...entry.members].sort();
  }

  async isMember(id: string, userId: string): Promise<boolean> {
    return this.#byId.get(id)?.members.has(userId) ?? false;
  }

  async setConnection(id: string, connection: OrganizationConnection): Promise<boolean> {
    const entry = this.#byId.get(id);
    if (entry === undefined) return false;
    entry.connections.set(connection.connection, { ...connection });
    return true;
  }

  async removeConnection(id: string, connection: string): Promise<boolean> {
    return this.#byId.get(id)?.connections.delete(connection) ?? false;
  }

  async listConnections(id: string): Promise<OrganizationConnection[] | undefined> {
    const entry = this.#byId.get(id);
    if (entry === undefined) return undefined;
    return [...entry.connections.values()]
      .map((connection) => ({ ...connection }))
      .sort((a, b) => (a.connection < b.connection ? -1 : a.connection > b.connection ? 1 : 0));
  }

  async getConnection(id: string, connection: string): Promise<OrganizationConnection | undefined> {
    const found = this.#byId.get(id)?.connections.get(connection);
    return found && { ...found };
  }
}
