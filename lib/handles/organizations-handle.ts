import { randomBytes } from 'node:crypto';
import { ManagementError } from '../errors.js';
import type {
  Organization,
  OrganizationConnection,
  OrganizationStore,
} from '../organizations/organization-store.js';
import { OrganizationConflictError } from '../organizations/organization-store.js';
import type { ManagementHandle } from './management-handle.js';

/** What `cte.organizations.create()` takes (Auth0's `POST /api/v2/organizations` body). */
export interface OrganizationDefinition {
  /** Not an Auth0 field: `org_` and 16 letters or digits; random when absent. */
  id?: string;
  name: string;
  display_name?: string;
  metadata?: Record<string, string>;
}

/** What `cte.organizations.update()` takes; `display_name: null` removes it. */
export interface OrganizationPatch {
  name?: string;
  display_name?: string | null;
  metadata?: Record<string, string>;
}

/** What `connections.set()` takes; `assign_membership_on_login` defaults to `false`. */
export interface OrganizationConnectionDefinition {
  connection: string;
  assign_membership_on_login?: boolean;
}

/** `cte.organizations`: organizations, their members and their enabled connections. */
export interface OrganizationsHandle extends ManagementHandle<
  Organization,
  OrganizationDefinition,
  OrganizationPatch
> {
  /** One organization by its name; rejects with `not_found` when there is none. */
  getByName(name: string): Promise<Organization>;
  members: {
    /** Adds up to 10 user ids (Auth0's limit per call); members already there stay. */
    add(organizationId: string, userIds: string[]): Promise<void>;
    /** Removes up to 10 user ids; ids that are not members are ignored. */
    remove(organizationId: string, userIds: string[]): Promise<void>;
    /** The members' user ids, sorted. */
    list(organizationId: string): Promise<string[]>;
  };
  connections: {
    /** Enables a connection, or changes the settings of one that is. */
    set(
      organizationId: string,
      connection: OrganizationConnectionDefinition,
    ): Promise<OrganizationConnection>;
    /** Disables a connection; `not_found` when it was not enabled. */
    remove(organizationId: string, connection: string): Promise<void>;
    /** The enabled connections, by name. */
    list(organizationId: string): Promise<OrganizationConnection[]>;
  };
}

const ORGANIZATION_ID = /^org_[A-Za-z0-9]{16}$/;
/** Auth0's rule: lower case letters, digits, `-` and `_`, starting with a letter or digit. */
const ORGANIZATION_NAME = /^[a-z0-9][a-z0-9_-]{0,49}$/;
const MAX_METADATA_KEYS = 25;
const MAX_MEMBERS_PER_CALL = 10;
const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const NOT_FOUND = 'No organization found by that id or name';

/** The handle over `store`: every argument checked before the store is called. */
export function organizationsHandle(store: OrganizationStore): OrganizationsHandle {
  async function existing(id: string): Promise<Organization> {
    const organization = typeof id === 'string' ? await store.get(id) : undefined;
    if (organization === undefined) throw new ManagementError('not_found', NOT_FOUND);
    return organization;
  }
  return Object.freeze({
    async create(definition: OrganizationDefinition): Promise<Organization> {
      const body = checkBody(definition, ['id', 'name', 'display_name', 'metadata']);
      if (body.name === undefined) invalid('name is required');
      const organization: Organization = {
        id: body.id === undefined ? newOrganizationId() : checkId(body.id),
        name: checkName(body.name),
        ...(body.display_name === undefined
          ? {}
          : { display_name: checkDisplayName(body.display_name) }),
        metadata: body.metadata === undefined ? {} : checkMetadata(body.metadata),
      };
      return conflictsAnswered(() => store.create(organization));
    },
    get: existing,
    async getByName(name: string): Promise<Organization> {
      const organization = typeof name === 'string' ? await store.getByName(name) : undefined;
      if (organization === undefined) throw new ManagementError('not_found', NOT_FOUND);
      return organization;
    },
    list: () => store.list(),
    async update(id: string, patch: OrganizationPatch): Promise<Organization> {
      const body = checkBody(patch, ['name', 'display_name', 'metadata']);
      if (Object.keys(body).length === 0) {
        invalid('at least one of name, display_name, metadata is required');
      }
      const changes = {
        ...(body.name === undefined ? {} : { name: checkName(body.name) }),
        ...(body.display_name === undefined
          ? {}
          : {
              display_name: body.display_name === null ? null : checkDisplayName(body.display_name),
            }),
        ...(body.metadata === undefined ? {} : { metadata: checkMetadata(body.metadata) }),
      };
      const updated = await conflictsAnswered(() => store.update(id, changes));
      if (updated === undefined) throw new ManagementError('not_found', NOT_FOUND);
      return updated;
    },
    async delete(id: string): Promise<void> {
      if (!(await store.delete(id))) throw new ManagementError('not_found', NOT_FOUND);
    },
    members: Object.freeze({
      async add(id: string, userIds: string[]): Promise<void> {
        if (!(await store.addMembers(id, checkUserIds(userIds)))) {
          throw new ManagementError('not_found', NOT_FOUND);
        }
      },
      async remove(id: string, userIds: string[]): Promise<void> {
        if (!(await store.removeMembers(id, checkUserIds(userIds)))) {
          throw new ManagementError('not_found', NOT_FOUND);
        }
      },
      async list(id: string): Promise<string[]> {
        const members = await store.listMembers(id);
        if (members === undefined) throw new ManagementError('not_found', NOT_FOUND);
        return members;
      },
    }),
    connections: Object.freeze({
      async set(
        id: string,
        definition: OrganizationConnectionDefinition,
      ): Promise<OrganizationConnection> {
        const body = checkBody(definition, ['connection', 'assign_membership_on_login']);
        const connection: OrganizationConnection = {
          connection: checkText(body.connection, 'connection', 128),
          assign_membership_on_login: checkFlag(body.assign_membership_on_login),
        };
        if (!(await store.setConnection(id, connection))) {
          throw new ManagementError('not_found', NOT_FOUND);
        }
        return connection;
      },
      async remove(id: string, connection: string): Promise<void> {
        await existing(id);
        if (!(await store.removeConnection(id, connection))) {
          throw new ManagementError(
            'not_found',
            'The connection is not enabled for the organization',
          );
        }
      },
      async list(id: string): Promise<OrganizationConnection[]> {
        const connections = await store.listConnections(id);
        if (connections === undefined) throw new ManagementError('not_found', NOT_FOUND);
        return connections;
      },
    }),
  });
}

/** A fresh organization id: `org_` and 16 uniformly random base62 characters. */
export function newOrganizationId(): string {
  let suffix = '';
  while (suffix.length < 16) {
    for (const byte of randomBytes(24)) {
      // 248 = 4 × 62: bytes above it are dropped so every character is equally likely.
      if (byte < 248 && suffix.length < 16) suffix += BASE62[byte % 62];
    }
  }
  return `org_${suffix}`;
}

async function conflictsAnswered<T>(write: () => Promise<T>): Promise<T> {
  try {
    return await write();
  } catch (error) {
    if (error instanceof OrganizationConflictError) {
      throw new ManagementError(
        'conflict',
        `An organization with this ${error.field} already exists.`,
      );
    }
    throw error;
  }
}

function invalid(problem: string): never {
  throw new ManagementError('invalid_body', `Invalid request body: ${problem}.`);
}

function checkBody(body: unknown, fields: readonly string[]): Record<string, unknown> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    invalid('expected an object');
  }
  for (const key of Object.keys(body)) {
    if (!fields.includes(key)) invalid(`unknown field "${key}"`);
  }
  return body as Record<string, unknown>;
}

function checkId(value: unknown): string {
  if (typeof value !== 'string' || !ORGANIZATION_ID.test(value)) {
    invalid('id must be org_ followed by 16 letters or digits');
  }
  return value;
}

function checkName(value: unknown): string {
  if (typeof value !== 'string' || !ORGANIZATION_NAME.test(value)) {
    invalid(
      'name must be 1 to 50 lower case letters, digits, - or _, starting with a letter or digit',
    );
  }
  return value;
}

function checkDisplayName(value: unknown): string {
  return checkText(value, 'display_name', 255);
}

function checkText(value: unknown, field: string, max: number): string {
  if (typeof value !== 'string' || value.length < 1 || value.length > max) {
    invalid(`${field} must be a string of 1 to ${max} characters`);
  }
  return value;
}

function checkFlag(value: unknown): boolean {
  if (value !== undefined && typeof value !== 'boolean') {
    invalid('assign_membership_on_login must be a boolean');
  }
  return value === true;
}

function checkMetadata(value: unknown): Record<string, string> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    invalid('metadata must be an object');
  }
  const entries = Object.entries(value);
  if (entries.length > MAX_METADATA_KEYS) {
    invalid(`metadata must have at most ${MAX_METADATA_KEYS} keys`);
  }
  const metadata: Record<string, string> = {};
  for (const [key, text] of entries) {
    if (key.length > 255 || key === '__proto__')
      invalid(`metadata key "${key.slice(0, 40)}" is not allowed`);
    metadata[key] = checkText(text, `metadata.${key}`, 255);
  }
  return metadata;
}

function checkUserIds(value: unknown): string[] {
  if (!Array.isArray(value) || value.length < 1 || value.length > MAX_MEMBERS_PER_CALL) {
    invalid(`members must be an array of 1 to ${MAX_MEMBERS_PER_CALL} user ids`);
  }
  return value.map((userId, i) => checkText(userId, `members[${i}]`, 512));
}
