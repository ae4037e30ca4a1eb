import type { Profile } from '../profiles/profile.js';
import { invalidQuery } from './management-errors.js';
import { entityRoutes } from './entity-routes.js';
import type { ManagementRouteGroup } from './management-route.js';
import { apiChange, queryInteger, queryValue, setEntityTag } from './management-route.js';

const TARGET = 'token_exchange_profile';

/**
 * `/token-exchange-profiles`: list (checkpoint paging with `from`, `take` and `next`), create,
 * get, update and delete, with Auth0's scopes `read:`, `create:`, `update:` and
 * `delete:token_exchange_profiles`.
 */
export const profileRoutes: ManagementRouteGroup = (routes, { profiles }) => {
  routes.get('/token-exchange-profiles', 'read:token_exchange_profiles', async (req, res) => {
    const take = queryInteger(req, 'take', 50, 1, 100);
    const from = queryValue(req, 'from');
    const all = await profiles.list();
    const start = from === undefined ? 0 : all.findIndex((profile) => profile.id === from);
    if (start < 0) throw invalidQuery('Query validation error: from is not a valid checkpoint.');
    const page = all.slice(start, start + take);
    const next = all[start + take];
    res.json({ token_exchange_profiles: page, ...(next ? { next: next.id } : {}) });
  });

  entityRoutes(
    routes,
    {
      path: '/token-exchange-profiles',
      scope: 'token_exchange_profiles',
      type: TARGET,
      name: 'a token exchange profile',
      createdStatus: 201,
      deletedStatus: 204,
      send,
    },
    {
      create: (req) => profiles.create(req.body as never, apiChange(req)),
      get: (id) => profiles.get(id),
      update: (id, req) => profiles.update(id, req.body as never, apiChange(req)),
      delete: (id, req) => profiles.delete(id, apiChange(req)),
    },
  );

  function send(res: Parameters<Parameters<typeof routes.get>[2]>[1], profile: Profile): void {
    setEntityTag(res, profiles.entityTag(profile));
    res.json(profile);
  }
};
