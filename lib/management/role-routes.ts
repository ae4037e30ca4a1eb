import type { Request } from 'express';
import { ManagementError } from '../errors.js';
import { ManagementApiError } from './management-errors.js';
import { entityRoutes } from './entity-routes.js';
import { listChangeRoutes } from './list-routes.js';
import type { ManagementRouteGroup, ManagementRouteHandler } from './management-route.js';
import { param, queryValue } from './management-route.js';
import { pagedList } from './paging.js';
import { withUserSummaries } from './user-summaries.js';

/**
 * `/roles` (list with `name_filter`, create, get, update, delete), `/roles/{id}/permissions`
 * (list, add, remove; bodies `{ permissions: [{ resource_server_identifier, permission_name }] }`),
 * `/roles/{id}/users` (list with the users' profiles, assign; bodies `{ users: [user ids] }`),
 * `/users/{id}/roles` (list, assign, remove; bodies `{ roles: [role ids] }`) and
 * `/users/{id}/permissions` (effective permissions), over `cte.permissions`, with Auth0's scopes.
 * Roles need a permission store (`options.permissions.store`): a router that takes permissions
 * from a host resolver has none to change, and answers these routes `501 unsupported`.
 */
export const roleRoutes: ManagementRouteGroup = (
  routes,
  { permissions, permissionStore, users },
) => {
  /** The route, answering 501 without a permission store. */
  const withStore =
    (handler: ManagementRouteHandler): ManagementRouteHandler =>
    async (req, res, caller) => {
      if (!permissionStore) throw NO_STORE;
      await handler(req, res, caller);
    };

  routes.get(
    '/roles',
    'read:roles',
    withStore(async (req, res) => {
      const filter = queryValue(req, 'name_filter')?.toLowerCase();
      const roles = (await permissions.list()).filter(
        (role) => filter === undefined || role.name.toLowerCase().includes(filter),
      );
      res.json(pagedList(req, 'roles', roles));
    }),
  );

  entityRoutes(
    routes,
    {
      path: '/roles',
      scope: 'roles',
      type: 'role',
      name: 'a role',
      createdStatus: 200,
      deletedStatus: 200,
      wrap: withStore,
    },
    {
      create: (req) => permissions.create(bodyObject(req) as never),
      get: (id) => permissions.get(id),
      update: (id, req) => permissions.update(id, bodyObject(req) as never),
      delete: (id) => permissions.delete(id),
    },
  );

  routes.get(
    '/roles/:id/permissions',
    'read:roles',
    withStore(async (req, res) => {
      const granted = await permissions.rolePermissions.list(param(req, 'id'));
      res.json(pagedList(req, 'permissions', granted));
    }),
  );

  listChangeRoutes(
    routes,
    {
      path: '/roles/:id/permissions',
      field: 'permissions',
      type: 'role',
      read: listIn,
      wrap: withStore,
    },
    {
      add: {
        scope: 'update:roles',
        description: 'Add permissions to a role',
        status: 201,
        change: (id, added) => permissions.rolePermissions.add(id, added as never),
      },
      remove: {
        scope: 'update:roles',
        description: 'Remove permissions from a role',
        status: 200,
        change: (id, removed) => permissions.rolePermissions.remove(id, removed as never),
      },
    },
  );

  routes.get(
    '/roles/:id/users',
    ['read:users', 'read:roles', 'read:role_members'],
    withStore(async (req, res) => {
      const ids = await permissions.roleUsers.list(param(req, 'id'));
      const page = pagedList(req, 'users', ids, (id) => id);
      res.json(await withUserSummaries(page, 'users', users));
    }),
  );

  listChangeRoutes(
    routes,
    { path: '/roles/:id/users', field: 'users', type: 'role', read: listIn, wrap: withStore },
    {
      add: {
        scope: ['update:roles', 'create:role_members'],
        description: 'Assign users to a role',
        status: 200,
        change: (roleId, userIds) => permissions.roleUsers.assign(roleId, userIds as never),
      },
    },
  );

  routes.get(
    '/users/:id/roles',
    ['read:users', 'read:roles', 'read:role_members'],
    withStore(async (req, res) => {
      res.json(pagedList(req, 'roles', await permissions.userRoles.list(param(req, 'id'))));
    }),
  );

  listChangeRoutes(
    routes,
    { path: '/users/:id/roles', field: 'roles', type: 'user', read: listIn, wrap: withStore },
    {
      add: {
        scope: ['update:users', 'create:role_members'],
        description: 'Assign roles to a user',
        status: 204,
        change: (userId, roles) => permissions.userRoles.assign(userId, roles as never),
      },
      remove: {
        scope: ['update:users', 'delete:role_members'],
        description: 'Remove roles from a user',
        status: 204,
        change: (userId, roles) => permissions.userRoles.remove(userId, roles as never),
      },
    },
  );

  routes.get(
    '/users/:id/permissions',
    'read:users',
    withStore(async (req, res) => {
      const effective = await permissions.userPermissions.list(param(req, 'id'));
      res.json(pagedList(req, 'permissions', effective));
    }),
  );
};

const NO_STORE = new ManagementApiError(
  501,
  'unsupported',
  'Roles and permissions are changed only on a router with options.permissions.store.',
);

function bodyObject(req: Request): unknown {
  return (req.body as unknown) ?? {};
}

/** The array under `field`, the body's only field (`{ roles: [...] }`, `{ permissions: [...] }`). */
function listIn(req: Request, field: string): unknown[] {
  const body: unknown = req.body;
  const keys = typeof body === 'object' && body !== null ? Object.keys(body) : [];
  const list: unknown = keys.length === 1 ? (body as Record<string, unknown>)[field] : undefined;
  if (!Array.isArray(list)) {
    throw new ManagementError(
      'invalid_body',
      `Invalid request body: expected { ${field}: [...] }.`,
    );
  }
  return list;
}
