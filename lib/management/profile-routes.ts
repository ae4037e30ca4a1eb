import type { Profile } from '../profiles/profile.js';
import { invalidQuery } from './management-errors.js';
import type { ManagementRouteGroup } from './management-route.js';
import {
  apiChange,
  param,
  queryInteger,
  queryValue,
  recordChange,
  setEntityTag,
} from './management-route.js';

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

  routes.post('/token-exchange-profiles', 'create:token_exchange_profiles', async (req, res) => {
    const profile = await profiles.create(req.body as never, apiChange(req));
    recordChange(req, {
      description: 'Create a token exchange profile',
      target: { type: TARGET, id: profile.id },
      after: profile,
    });
    send(res.status(201), profile);
  });

  routes.get('/token-exchange-profiles/:id', 'read:token_exchange_profiles', async (req, res) => {
    send(res, await profiles.get(param(req, 'id')));
  });

  routes.patch(
    '/token-exchange-profiles/:id',
    'update:token_exchange_profiles',
    async (req, res) => {
      const id = param(req, 'id');
      const before = await profiles.get(id);
      const after = await profiles.update(id, req.body as never, apiChange(req));
      recordChange(req, {
        description: 'Update a token exchange profile',
        target: { type: TARGET, id },
        before,
        after,
      });
      send(res, after);
    },
  );

  routes.delete(
    '/token-exchange-profiles/:id',
    'delete:token_exchange_profiles',
    async (req, res) => {
      const id = param(req, 'id');
      const before = await profiles.get(id);
      await profiles.delete(id, apiChange(req));
      recordChange(req, {
        description: 'Delete a token exchange profile',
        target: { type: TARGET, id },
        before,
      });
      res.status(204).end();
    },
  );

  function send(res: Parameters<Parameters<typeof routes.get>[2]>[1], profile: Profile): void {
    setEntityTag(res, profiles.entityTag(profile));
    res.json(profile);
  }
};
