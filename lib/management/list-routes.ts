import type { Request } from 'express';
import type { ManagementRouteHandler, ManagementRoutes, RouteScope } from './management-route.js';
import { param, recordChange } from './management-route.js';

/** A list the entity `:id` names holds (a role's permissions, a user's roles, members). */
export interface EntityList {
  /** The route, with `:id`: `/roles/:id/permissions`. */
  path: string;
  /** The body's one field, holding the list: `{ permissions: [...] }`. */
  field: string;
  /** The audit entry's target type. */
  type: string;
  /** The list under `field` in a request's body; throws the `invalid_body` error it is refused with. */
  read: (req: Request, field: string) => unknown[];
  /** Wraps each route (a check every route of the group runs first); none by default. */
  wrap?: (handler: ManagementRouteHandler) => ManagementRouteHandler;
}

/** One direction of a change of the list: how it is authorised, made, audited and answered. */
export interface ListChange {
  scope: RouteScope;
  /** The audit entry's description. */
  description: string;
  /** The answer's status; it has no body. */
  status: number;
  /** Makes the change; the handle checks the list's items. */
  change: (id: string, list: unknown[]) => Promise<void>;
}

/**
 * `POST {path}` adds the body's list to the entity `:id` names, `DELETE {path}` (when `remove` is
 * given) removes it. The audit entry holds the list as the change's `after` for an addition, as
 * its `before` for a removal.
 */
export function listChangeRoutes(
  routes: ManagementRoutes,
  list: EntityList,
  { add, remove }: { add: ListChange; remove?: ListChange },
): void {
  const { path, field, type, read, wrap = (handler) => handler } = list;
  const route = (method: 'post' | 'delete', side: 'after' | 'before', how: ListChange): void => {
    routes[method](
      path,
      how.scope,
      wrap(async (req, res) => {
        const id = param(req, 'id');
        const items = read(req, field);
        await how.change(id, items);
        recordChange(req, {
          description: how.description,
          target: { type, id },
          [side]: { [field]: items },
        });
        res.status(how.status).end();
      }),
    );
  };
  route('post', 'after', add);
  if (remove) route('delete', 'before', remove);
}
