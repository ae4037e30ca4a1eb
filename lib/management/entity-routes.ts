import type { Request, Response } from 'express';
import type { ManagementRouteHandler, ManagementRoutes } from './management-route.js';
import { param, recordChange } from './management-route.js';

/** How a route group makes, reads, changes and deletes its entities for a request. */
export interface EntityOperations<T> {
  /** Creates the entity the request's body describes. */
  create(req: Request): Promise<T>;
  get(id: string): Promise<T>;
  /** Applies the request's body to entity `id`. */
  update(id: string, req: Request): Promise<T>;
  delete(id: string, req: Request): Promise<void>;
}

/** What a group's entity routes are called and how they answer. */
export interface EntityRoutesOptions<T> {
  /** The collection's path (`/roles`); an entity is `{path}/:id`. */
  path: string;
  /** The resource of Auth0's scopes: `roles` for `read:roles`, `create:roles`, ... */
  scope: string;
  /** The audit entries' target type. */
  type: string;
  /** The entity in the audit entries' descriptions: `a role` for `Create a role`. */
  name: string;
  /** The status of a creation's answer. */
  createdStatus: 200 | 201;
  /** The status of a deletion's answer, which has no body. */
  deletedStatus: 200 | 204;
  /** Writes an entity as the answer (with its `ETag`, say); `res.json` by default. */
  send?: (res: Response, entity: T) => void;
  /** Wraps each route (a check every route of the group runs first); none by default. */
  wrap?: (handler: ManagementRouteHandler) => ManagementRouteHandler;
}

/**
 * `POST {path}` (create), `GET`, `PATCH` (update) and `DELETE {path}/:id`, each with Auth0's scope
 * for it. Every change is recorded for the audit log: a creation with the entity as `after`, an
 * update with `before` and `after`, a deletion with `before`.
 */
export function entityRoutes<T extends { id: string }>(
  routes: ManagementRoutes,
  options: EntityRoutesOptions<T>,
  entities: EntityOperations<T>,
): void {
  const { path, scope, type, name, createdStatus, deletedStatus } = options;
  const { send = (res, entity) => void res.json(entity), wrap = (handler) => handler } = options;
  const one = `${path}/:id`;

  routes.post(
    path,
    `create:${scope}`,
    wrap(async (req, res) => {
      const created = await entities.create(req);
      const target = { type, id: created.id };
      recordChange(req, { description: `Create ${name}`, target, after: created });
      send(res.status(createdStatus), created);
    }),
  );

  routes.get(
    one,
    `read:${scope}`,
    wrap(async (req, res) => {
      send(res, await entities.get(param(req, 'id')));
    }),
  );

  routes.patch(
    one,
    `update:${scope}`,
    wrap(async (req, res) => {
      const id = param(req, 'id');
      const before = await entities.get(id);
      const after = await entities.update(id, req);
      recordChange(req, { description: `Update ${name}`, target: { type, id }, before, after });
      send(res, after);
    }),
  );

  routes.delete(
    one,
    `delete:${scope}`,
    wrap(async (req, res) => {
      const id = param(req, 'id');
      const before = await entities.get(id);
      await entities.delete(id, req);
      recordChange(req, { description: `Delete ${name}`, target: { type, id }, before });
      res.status(deletedStatus).end();
    }),
  );
}
