import { checkKnownKeys, checkObject, checkOptionalInteger, fail } from '../definition-checks.js';
import type { User } from '../users/user-store.js';
import type { PermissionStore } from './permission-store.js';

/**
 * The host's own roles: the names of the permissions (scopes) `user` holds for the API whose
 * identifier is `audience`. Asked on every exchange and every refresh for an API with
 * `enforce_policies` or an `_authz` token dialect.
 */
export type PermissionResolver = (user: User, audience: string) => Promise<readonly string[]>;

/** `options.permissions`: where users' permissions come from; exactly one of the two. */
export interface PermissionsOptions {
  /** The host's resolver. */
  resolve?: PermissionResolver;
  /** Roles and permissions kept by the router (e.g. a `MemoryPermissionStore`). */
  store?: PermissionStore;
  /**
   * Milliseconds a resolution may take; later, the request is refused with
   * `503 temporarily_unavailable`. Default 2000.
   */
  timeoutMs?: number;
}

/** {@link PermissionsOptions} checked: one resolver, whichever way it was given. */
export interface PermissionsConfig {
  resolve: PermissionResolver;
  /** The store behind `resolve`, for the `permissions` handle; absent with a host resolver. */
  store: PermissionStore | undefined;
  timeoutMs: number;
}

const STORE_METHODS = [
  'createRole',
  'getRole',
  'listRoles',
  'updateRole',
  'deleteRole',
  'addRolePermissions',
  'removeRolePermissions',
  'listRolePermissions',
  'assignUserRoles',
  'removeUserRoles',
  'listUserRoles',
  'addUserPermissions',
  'removeUserPermissions',
  'listUserPermissions',
];

/**
 * `undefined` when RBAC is not configured: an API that asks for it is then refused.
 * @throws TypeError naming the path of a mistake
 */
export function parsePermissionsOptions(value: unknown): PermissionsConfig | undefined {
  if (value === undefined) return undefined;
  const path = 'options.permissions';
  const options = checkObject(value, path);
  checkKnownKeys(options, ['resolve', 'store', 'timeoutMs'], path);
  const { resolve, store } = options;
  const timeoutMs = checkOptionalInteger(options.timeoutMs, `${path}.timeoutMs`, 2000, {
    min: 1,
    max: 600_000,
  });
  if ((resolve === undefined) === (store === undefined)) {
    fail(path, 'needs exactly one of resolve (a PermissionResolver) and store (a PermissionStore)');
  }
  if (resolve !== undefined) {
    if (typeof resolve !== 'function') fail(`${path}.resolve`, 'must be a function');
    return { resolve: resolve as PermissionResolver, store: undefined, timeoutMs };
  }
  if (typeof store !== 'object' || store === null)
    fail(`${path}.store`, 'must be a PermissionStore');
  for (const method of STORE_METHODS) {
    if (typeof (store as Record<string, unknown>)[method] !== 'function') {
      fail(`${path}.store.${method}`, 'must be a function (see the PermissionStore interface)');
    }
  }
  const permissionStore = store as PermissionStore;
  return {
    resolve: async (user, audience) =>
      (await permissionStore.listUserPermissions(user.user_id, audience)).map(
        (permission) => permission.permission_name,
      ),
    store: permissionStore,
    timeoutMs,
  };
}
