import type { Request } from 'express';
import { ManagementError } from '../errors.js';
import type { ManagementRouteGroup } from './management-route.js';
import { entityRoutes } from './entity-routes.js';
import { listChangeRoutes } from './list-routes.js';
import { param } from './management-route.js';
import { pagedList } from './paging.js';
import { withUserSummaries } from './user-summaries.js';

const TARGET = 'organization';

/**
 * `/organizations`: list (offset or checkpoint paging), create, get by id or by name, update,
 * delete, and the members (list, add, remove; bodies `{ members: [user ids] }`), with Auth0's
 * scopes `read:`, `create:`, `update:`, `delete:organizations` and `read:`, `create:`,
 * `delete:organization_members`. Organizations live in the organization store, not in the shared
 * configuration: every instance sharing that store sees a change at once.
 */
export const organizationRoutes: ManagementRouteGroup = (routes, { organizations, users }) => {
  routes.get('/organizations', 'read:organizations', async (req, res) => {
    res.json(pagedList(req, 'organizations', await organizations.list(), (o) => o.id));
  });

  routes.get('/organizations/name/:name', 'read:organizations', async (req, res) => {
    res.json(await organizations.getByName(param(req, 'name')));
  });

  entityRoutes(
    routes,
    {
      path: '/organizations',
      scope: 'organizations',
      type: TARGET,
      name: 'an organization',
      createdStatus: 201,
      deletedStatus: 204,
    },
    {
      create: (req) => organizations.create(req.body as never),
      get: (id) => organizations.get(id),
      update: (id, req) => organizations.update(id, req.body as never),
      delete: (id) => organizations.delete(id),
    },
  );

  routes.get('/organizations/:id/members', 'read:organization_members', async (req, res) => {
    const ids = await organizations.members.list(param(req, 'id'));
    const page = pagedList(req, 'members', ids, (id) => id);
    res.json(await withUserSummaries(page, 'members', users));
  });

  listChangeRoutes(
    routes,
    { path: '/organizations/:id/members', field: 'members', type: TARGET, read: onlyField },
    {
      add: {
        scope: 'create:organization_members',
        description: 'Add members to an organization',
        status: 204,
        change: (id, members) => organizations.members.add(id, members as string[]),
      },
      remove: {
        scope: 'delete:organization_members',
        description: 'Delete members from an organization',
        status: 204,
        change: (id, members) => organizations.members.remove(id, members as string[]),
      },
    },
  );
};

/**
 * The value under `field` of a body that has that one field (`{ members: [...] }`); the handle
 * checks the list itself.
 */
function onlyField(req: Request, field: string): unknown[] {
  const body: unknown = req.body;
  const keys = typeof body === 'object' && body !== null ? Object.keys(body) : [];
  if (keys.length !== 1 || keys[0] !== field) {
    throw new ManagementError(
      'invalid_body',
      `Invalid request body: expected { ${field}: [...] }.`,
    );
  }
  return (body as Record<string, unknown[]>)[field] as unknown[];
}
