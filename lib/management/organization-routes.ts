import type { Request } from 'express';
import { ManagementError } from '../errors.js';
import type { UserStore } from '../users/user-store.js';
import type { ManagementRouteGroup } from './management-route.js';
import { param, recordChange } from './management-route.js';
import { pagedList } from './paging.js';

const TARGET = 'organization';

/** A member as Auth0 lists it: the user id, and the user's name, email and picture when known. */
interface Member {
  user_id: string;
  email?: string;
  name?: string;
  picture?: string;
}

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

  routes.post('/organizations', 'create:organizations', async (req, res) => {
    const organization = await organizations.create(req.body as never);
    recordChange(req, {
      description: 'Create an organization',
      target: { type: TARGET, id: organization.id },
      after: organization,
    });
    res.status(201).json(organization);
  });

  routes.get('/organizations/name/:name', 'read:organizations', async (req, res) => {
    res.json(await organizations.getByName(param(req, 'name')));
  });

  routes.get('/organizations/:id', 'read:organizations', async (req, res) => {
    res.json(await organizations.get(param(req, 'id')));
  });

  routes.patch('/organizations/:id', 'update:organizations', async (req, res) => {
    const id = param(req, 'id');
    const before = await organizations.get(id);
    const after = await organizations.update(id, req.body as never);
    recordChange(req, {
      description: 'Update an organization',
      target: { type: TARGET, id },
      before,
      after,
    });
    res.json(after);
  });

  routes.delete('/organizations/:id', 'delete:organizations', async (req, res) => {
    const id = param(req, 'id');
    const before = await organizations.get(id);
    await organizations.delete(id);
    recordChange(req, {
      description: 'Delete an organization',
      target: { type: TARGET, id },
      before,
    });
    res.status(204).end();
  });

  routes.get('/organizations/:id/members', 'read:organization_members', async (req, res) => {
    const ids = await organizations.members.list(param(req, 'id'));
    const page = pagedList(req, 'members', ids, (id) => id);
    res.json(await withProfiles(page, users));
  });

  routes.post('/organizations/:id/members', 'create:organization_members', async (req, res) => {
    const id = param(req, 'id');
    const members = membersOf(req);
    await organizations.members.add(id, members);
    recordChange(req, {
      description: 'Add members to an organization',
      target: { type: TARGET, id },
      after: { members },
    });
    res.status(204).end();
  });

  routes.delete('/organizations/:id/members', 'delete:organization_members', async (req, res) => {
    const id = param(req, 'id');
    const members = membersOf(req);
    await organizations.members.remove(id, members);
    recordChange(req, {
      description: 'Delete members from an organization',
      target: { type: TARGET, id },
      before: { members },
    });
    res.status(204).end();
  });
};

/** The `members` of a `{ members: [...] }` body; the handle checks the ids themselves. */
function membersOf(req: Request): string[] {
  const body: unknown = req.body;
  const keys = typeof body === 'object' && body !== null ? Object.keys(body) : [];
  if (keys.length !== 1 || keys[0] !== 'members') {
    throw new ManagementError('invalid_body', 'Invalid request body: expected { members: [...] }.');
  }
  return (body as { members: string[] }).members;
}

/** A page of member ids (bare, or inside `members`) turned into Auth0's member objects. */
async function withProfiles(page: unknown, users: UserStore): Promise<unknown> {
  if (Array.isArray(page)) return membersWithProfiles(page as string[], users);
  const wrapped = page as { members: string[] };
  return { ...wrapped, members: await membersWithProfiles(wrapped.members, users) };
}

function membersWithProfiles(ids: readonly string[], users: UserStore): Promise<Member[]> {
  return Promise.all(
    ids.map(async (userId): Promise<Member> => {
      const user = await users.getById(userId);
      return {
        user_id: userId,
        ...(user?.email === undefined ? {} : { email: user.email }),
        ...(user?.name === undefined ? {} : { name: user.name }),
        ...(user?.picture === undefined ? {} : { picture: user.picture }),
      };
    }),
  );
}
