/** A role: a named set of permissions that users are assigned (Auth0's role). */
export interface Role {
  /** `rol_` and 16 letters or digits. */
  id: string;
  /** Unique among roles. */
  name: string;
  description?: string;
}

/** One permission: a scope of one API (Auth0's `permission_name` of a resource server). */
export interface Permission {
  /** The API's `identifier` (its `audience`). */
  resource_server_identifier: string;
  /** The scope this permission grants, e.g. `read:reports`. */
  permission_name: string;
}

/** The changes `updateRole` applies; `description: null` removes it. */
export interface RoleChanges {
  name?: string;
  description?: string | null;
}

/** Thrown by a store when another role already has the name. */
export class RoleNameConflictError extends Error {
  constructor() {
    super('a role with this name already exists');
    this.name = 'RoleNameConflictError';
  }
}

/**
 * Roles with their permissions per API, users' role assignments and users' direct permissions:
 * what a host without its own roles keeps for role-based access control. The store keeps data
 * and nothing else: ids, argument checks and error codes are the `permissions` handle's. A user
 * is named by `user_id` only, so the store does not depend on where users live.
 */
export interface PermissionStore {
  /** @throws RoleNameConflictError when the name is taken */
  createRole(role: Role): Promise<Role>;
  getRole(id: string): Promise<Role | undefined>;
  listRoles(): Promise<Role[]>;
  /** `undefined` when no role has the id. @throws RoleNameConflictError when the name is taken */
  updateRole(id: string, changes: RoleChanges): Promise<Role | undefined>;
  /** Also removes the role from every user. `false` when no role had the id. */
  deleteRole(id: string): Promise<boolean>;
  /** `false` when no role has the id. Adding a permission the role has is no change. */
  addRolePermissions(roleId: string, permissions: readonly Permission[]): Promise<boolean>;
  /** `false` when no role has the id. */
  removeRolePermissions(roleId: string, permissions: readonly Permission[]): Promise<boolean>;
  /** `undefined` when no role has the id. */
  listRolePermissions(roleId: string): Promise<Permission[] | undefined>;
  /** Roles the store does not know are ignored (the handle checks them first). */
  assignUserRoles(userId: string, roleIds: readonly string[]): Promise<void>;
  removeUserRoles(userId: string, roleIds: readonly string[]): Promise<void>;
  listUserRoles(userId: string): Promise<Role[]>;
  /**
   * The ids of the users assigned the role, each once, ordered by id (so that pages of the list
   * stay stable); `undefined` when no role has the id.
   */
  listRoleUsers(roleId: string): Promise<string[] | undefined>;
  addUserPermissions(userId: string, permissions: readonly Permission[]): Promise<void>;
  removeUserPermissions(userId: string, permissions: readonly Permission[]): Promise<void>;
  /**
   * The user's effective permissions, direct and through roles, each once; only those of
   * `audience` when given.
   */
  listUserPermissions(userId: string, audience?: string): Promise<Permission[]>;
}
