import { ManagementError } from '../errors.js';
import type {
  Permission,
  PermissionStore,
  Role,
  RoleChanges,
} from '../permissions/permission-store.js';
import { RoleNameConflictError } from '../permissions/permission-store.js';
import type { ManagementHandle } from './management-handle.js';
import { newOrganizationId } from './organizations-handle.js';

/** What `cte.permissions.create()` takes (Auth0's `POST /api/v2/roles` body). */
export interface RoleDefinition {
  name: string;
  description?: string;
}

/**
 * `cte.permissions`: roles (`create`, `get`, `list`, `update`, `delete`), their permissions and
 * users, users' roles and direct permissions, over `options.permissions.store`. Without a store
 * (a host resolver, or no RBAC), every method rejects with `unsupported`.
 */
export interface PermissionsHandle extends ManagementHandle<Role, RoleDefinition, RoleChanges> {
  rolePermissions: {
    add(roleId: string, permissions: Permission[]): Promise<void>;
    remove(roleId: string, permissions: Permission[]): Promise<void>;
    list(roleId: string): Promise<Permission[]>;
  };
  userRoles: {
    /** Every role must exist (`not_found` otherwise); roles the user has stay. */
    assign(userId: string, roleIds: string[]): Promise<void>;
    remove(userId: string, roleIds: string[]): Promise<void>;
    list(userId: string): Promise<Role[]>;
  };
  roleUsers: {
    /** The role must exist (`not_found` otherwise); users who have it keep it. */
    assign(roleId: string, userIds: string[]): Promise<void>;
    /** The ids of the users assigned the role, ordered by id. */
    list(roleId: string): Promise<string[]>;
  };
  userPermissions: {
    /** Direct permissions, beside those of the user's roles. */
    add(userId: string, permissions: Permission[]): Promise<void>;
    remove(userId: string, permissions: Permission[]): Promise<void>;
    /** Effective permissions, direct and through roles; of one API when `audience` is given. */
    list(userId: string, audience?: string): Promise<Permission[]>;
  };
}

const NOT_FOUND = 'No role found by that id';
const SCOPE_TOKEN = /^[\x21\x23-\x5B\x5D-\x7E]+$/;

function invalid(problem: string): never {
  throw new ManagementError('invalid_body', problem);
}

function checkText(value: unknown, field: string, max: number): string {
  if (typeof value !== 'string' || value === '' || value.length > max) {
    invalid(`${field} must be a string of 1 to ${max} characters`);
  }
  return value;
}

function checkPermissions(value: unknown): Permission[] {
  if (!Array.isArray(value) || value.length === 0) invalid('permissions must be a non-empty array');
  return value.map((entry: unknown, i) => {
    const item = (typeof entry === 'object' && entry !== null ? entry : {}) as Record<
      string,
      unknown
    >;
    const api = checkText(
      item.resource_server_identifier,
      `permissions[${i}].resource_server_identifier`,
      600,
    );
    const name = checkText(item.permission_name, `permissions[${i}].permission_name`, 280);
    if (!SCOPE_TOKEN.test(name)) invalid(`permissions[${i}].permission_name is not a scope token`);
    return { resource_server_identifier: api, permission_name: name };
  });
}

function checkIds(value: unknown, field: string): string[] {
  if (!Array.isArray(value) || value.length === 0) invalid(`${field} must be a non-empty array`);
  return value.map((id: unknown, i) => checkText(id, `${field}[${i}]`, 300));
}

async function namesAnswered<T>(operation: () => Promise<T>): Promise<T> {
  try {
    return await operation();
  } catch (err) {
    if (err instanceof RoleNameConflictError) {
      throw new ManagementError('conflict', 'A role with the same name already exists');
    }
    throw err;
  }
}

/** A role id: `rol_` and 16 letters or digits, like an organization's. */
function newRoleId(): string {
  return `rol_${newOrganizationId().slice('org_'.length)}`;
}

/** The handle over `store` (absent: every method rejects with `unsupported`). */
export function permissionsHandle(store: PermissionStore | undefined): PermissionsHandle {
  function required(): PermissionStore {
    if (store === undefined) {
      throw new ManagementError('unsupported', 'options.permissions has no store');
    }
    return store;
  }
  async function found<T>(answer: Promise<T | undefined | false>): Promise<T> {
    const value = await answer;
    if (value === undefined || value === false) throw new ManagementError('not_found', NOT_FOUND);
    return value;
  }
  return Object.freeze({
    async create(definition: RoleDefinition): Promise<Role> {
      const roles = required();
      const body: Partial<RoleDefinition> = definition ?? {};
      const role: Role = { id: newRoleId(), name: checkText(body.name, 'name', 50) };
      if (body.description !== undefined) {
        role.description = checkText(body.description, 'description', 255);
      }
      return namesAnswered(() => roles.createRole(role));
    },
    get: async (id: string) => found(required().getRole(id)),
    list: async () => required().listRoles(),
    async update(id: string, patch: RoleChanges): Promise<Role> {
      const roles = required();
      const changes: RoleChanges = {};
      if (patch?.name !== undefined) changes.name = checkText(patch.name, 'name', 50);
      if (patch?.description === null) changes.description = null;
      else if (patch?.description !== undefined) {
        changes.description = checkText(patch.description, 'description', 255);
      }
      return namesAnswered(() => found(roles.updateRole(id, changes)));
    },
    async delete(id: string): Promise<void> {
      await found(required().deleteRole(id));
    },
    rolePermissions: Object.freeze({
      async add(roleId: string, permissions: Permission[]): Promise<void> {
        await found(required().addRolePermissions(roleId, checkPermissions(permissions)));
      },
      async remove(roleId: string, permissions: Permission[]): Promise<void> {
        await found(required().removeRolePermissions(roleId, checkPermissions(permissions)));
      },
      list: async (roleId: string) => found(required().listRolePermissions(roleId)),
    }),
    userRoles: Object.freeze({
      async assign(userId: string, roleIds: string[]): Promise<void> {
        const roles = required();
        const ids = checkIds(roleIds, 'roles');
        for (const id of ids) await found(roles.getRole(id));
        await roles.assignUserRoles(checkText(userId, 'user_id', 300), ids);
      },
      async remove(userId: string, roleIds: string[]): Promise<void> {
        await required().removeUserRoles(
          checkText(userId, 'user_id', 300),
          checkIds(roleIds, 'roles'),
        );
      },
      list: async (userId: string) => required().listUserRoles(checkText(userId, 'user_id', 300)),
    }),
    roleUsers: Object.freeze({
      async assign(roleId: string, userIds: string[]): Promise<void> {
        const roles = required();
        const ids = checkIds(userIds, 'users');
        await found(roles.getRole(roleId));
        for (const userId of ids) await roles.assignUserRoles(userId, [roleId]);
      },
      list: async (roleId: string) => found(required().listRoleUsers(roleId)),
    }),
    userPermissions: Object.freeze({
      async add(userId: string, permissions: Permission[]): Promise<void> {
        await required().addUserPermissions(
          checkText(userId, 'user_id', 300),
          checkPermissions(permissions),
        );
      },
      async remove(userId: string, permissions: Permission[]): Promise<void> {
        await required().removeUserPermissions(
          checkText(userId, 'user_id', 300),
          checkPermissions(permissions),
        );
      },
      list: async (userId: string, audience?: string) =>
        required().listUserPermissions(checkText(userId, 'user_id', 300), audience),
    }),
  });
}
