import type { Permission, PermissionStore, Role, RoleChanges } from './permission-store.js';
import { RoleNameConflictError } from './permission-store.js';

/** One key per permission: a NUL cannot occur in an API identifier nor in a scope token. */
function keyOf(permission: Permission): string {
  return `${permission.resource_server_identifier}\u0000${permission.permission_name}`;
}

function permissionOf(key: string): Permission {
  const at = key.indexOf('\u0000');
  return { resource_server_identifier: key.slice(0, at), permission_name: key.slice(at + 1) };
}

/**
 * By UTF-16 code unit, the order PostgreSQL's `COLLATE "C"` gives the same ids (the two differ
 * only for ids mixing characters past U+FFFF with ones from U+E000).
 */
function byCodePoint(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The default {@link PermissionStore}: this process only, gone on restart. */
export class MemoryPermissionStore implements PermissionStore {
  readonly #roles = new Map<string, { role: Role; permissions: Set<string> }>();
  readonly #userRoles = new Map<string, Set<string>>();
  readonly #userPermissions = new Map<string, Set<string>>();

  async createRole(role: Role): Promise<Role> {
    this.#checkNameFree(role.name, undefined);
    const stored = structuredClone(role);
    this.#roles.set(stored.id, { role: stored, permissions: new Set() });
    return structuredClone(stored);
  }

  async getRole(id: string): Promise<Role | undefined> {
    const entry = this.#roles.get(id);
    return entry && structuredClone(entry.role);
  }

  async listRoles(): Promise<Role[]> {
    return [...this.#roles.values()].map((entry) => structuredClone(entry.role));
  }

  async updateRole(id: string, changes: RoleChanges): Promise<Role | undefined> {
    const entry = this.#roles.get(id);
    if (!entry) return undefined;
    if (changes.name !== undefined) this.#checkNameFree(changes.name, id);
    const role: Role = { ...entry.role };
    if (changes.name !== undefined) role.name = changes.name;
    if (changes.description === null) delete role.description;
    else if (changes.description !== undefined) role.description = changes.description;
    entry.role = role;
    return structuredClone(role);
  }

  async deleteRole(id: string): Promise<boolean> {
    if (!this.#roles.delete(id)) return false;
    for (const roles of this.#userRoles.values()) roles.delete(id);
    return true;
  }

  async addRolePermissions(roleId: string, permissions: readonly Permission[]): Promise<boolean> {
    const entry = this.#roles.get(roleId);
    if (!entry) return false;
    for (const permission of permissions) entry.permissions.add(keyOf(permission));
    return true;
  }

  async removeRolePermissions(
    roleId: string,
    permissions: readonly Permission[],
  ): Promise<boolean> {
    const entry = this.#roles.get(roleId);
    if (!entry) return false;
    for (const permission of permissions) entry.permissions.delete(keyOf(permission));
    return true;
  }

  async listRolePermissions(roleId: string): Promise<Permission[] | undefined> {
    const entry = this.#roles.get(roleId);
    return entry && [...entry.permissions].map(permissionOf);
  }

  async assignUserRoles(userId: string, roleIds: readonly string[]): Promise<void> {
    const roles = this.#userRoles.get(userId) ?? new Set<string>();
    for (const id of roleIds) if (this.#roles.has(id)) roles.add(id);
    this.#userRoles.set(userId, roles);
  }

  async removeUserRoles(userId: string, roleIds: readonly string[]): Promise<void> {
    const roles = this.#userRoles.get(userId);
    for (const id of roleIds) roles?.delete(id);
  }

  async listUserRoles(userId: string): Promise<Role[]> {
    const ids = this.#userRoles.get(userId) ?? new Set<string>();
    return [...ids].flatMap((id) => {
      const entry = this.#roles.get(id);
      return entry ? [structuredClone(entry.role)] : [];
    });
  }

  async listRoleUsers(roleId: string): Promise<string[] | undefined> {
    if (!this.#roles.has(roleId)) return undefined;
    const users = [...this.#userRoles].filter(([, roles]) => roles.has(roleId));
    return users.map(([userId]) => userId).sort(byCodePoint);
  }

  async addUserPermissions(userId: string, permissions: readonly Permission[]): Promise<void> {
    const direct = this.#userPermissions.get(userId) ?? new Set<string>();
    for (const permission of permissions) direct.add(keyOf(permission));
    this.#userPermissions.set(userId, direct);
  }

  async removeUserPermissions(userId: string, permissions: readonly Permission[]): Promise<void> {
    const direct = this.#userPermissions.get(userId);
    for (const permission of permissions) direct?.delete(keyOf(permission));
  }

  async listUserPermissions(userId: string, audience?: string): Promise<Permission[]> {
    const keys = new Set(this.#userPermissions.get(userId));
    for (const id of this.#userRoles.get(userId) ?? []) {
      for (const key of this.#roles.get(id)?.permissions ?? []) keys.add(key);
    }
    const all = [...keys].map(permissionOf);
    return audience === undefined
      ? all
      : all.filter((permission) => permission.resource_server_identifier === audience);
  }

  #checkNameFree(name: string, exceptId: string | undefined): void {
    for (const [id, entry] of this.#roles) {
      if (id !== exceptId && entry.role.name === name) throw new RoleNameConflictError();
    }
  }
}
