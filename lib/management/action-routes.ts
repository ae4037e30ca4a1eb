import type { Request, Response } from 'express';
import { ManagementError } from '../errors.js';
import type { Action } from '../profiles/action-definition.js';
import type { ActionRegistry } from '../profiles/action-registry.js';
import { testAction } from '../testing/test-action.js';
import { entityRoutes } from './entity-routes.js';
import type { ManagementRouteGroup } from './management-route.js';
import {
  apiChange,
  param,
  queryInteger,
  queryValue,
  recordChange,
  setEntityTag,
} from './management-route.js';
import { invalidQuery } from './management-errors.js';

const TARGET = 'action';

/**
 * `/actions/actions`: list (by trigger, name, deployed; `page`/`per_page`), create, get, update
 * (the draft), delete, deploy, list and get versions, deploy an earlier version (roll back) and
 * test, with Auth0's scopes `read:`, `create:`, `update:` and `delete:actions` (deploy, roll back
 * and test need `create:actions`, as in Auth0).
 */
export const actionRoutes: ManagementRouteGroup = (routes, { actions }) => {
  routes.get('/actions/actions', 'read:actions', async (req, res) => {
    const trigger = queryValue(req, 'triggerId');
    const name = queryValue(req, 'actionName');
    const deployed = queryBoolean(queryValue(req, 'deployed'), 'deployed');
    const matching = (await actions.list()).filter(
      (action) =>
        (trigger === undefined || action.supported_triggers.some((t) => t.id === trigger)) &&
        (name === undefined || action.name === name) &&
        (deployed === undefined || (action.deployed_version !== undefined) === deployed),
    );
    res.json(paged(req, 'actions', matching));
  });

  entityRoutes<Action>(
    routes,
    {
      path: '/actions/actions',
      scope: 'actions',
      type: TARGET,
      name: 'an action',
      createdStatus: 201,
      deletedStatus: 204,
      send: (res, action) => sendAction(res, actions, action),
    },
    {
      create: (req) => actions.create(actionBody(req.body, true) as never, apiChange(req)),
      get: (id) => actions.get(id),
      update: (id, req) => actions.update(id, actionBody(req.body, false) as never, apiChange(req)),
      delete: (id, req) => actions.delete(id, apiChange(req)),
    },
  );

  routes.post('/actions/actions/:id/deploy', 'create:actions', async (req, res) => {
    const id = param(req, 'id');
    const before = await actions.get(id);
    const after = await actions.deploy(id, apiChange(req));
    recordChange(req, {
      description: 'Deploy an action',
      target: { type: TARGET, id },
      before,
      after,
    });
    res.json(await actions.version(id, after.deployed_version!.id));
  });

  routes.get('/actions/actions/:id/versions', 'read:actions', async (req, res) => {
    res.json(paged(req, 'versions', await actions.versions(param(req, 'id'))));
  });

  routes.get('/actions/actions/:id/versions/:versionId', 'read:actions', async (req, res) => {
    res.json(await actions.version(param(req, 'id'), param(req, 'versionId')));
  });

  routes.post(
    '/actions/actions/:id/versions/:versionId/deploy',
    'create:actions',
    async (req, res) => {
      const id = param(req, 'id');
      const body: unknown = req.body ?? {};
      if (typeof body !== 'object' || body === null || Array.isArray(body)) {
        throw new ManagementError('invalid_body', 'Invalid request body: must be an object.');
      }
      const { update_draft: updateDraft, ...rest } = body as Record<string, unknown>;
      const unknown = Object.keys(rest)[0];
      if (unknown !== undefined) {
        throw new ManagementError(
          'invalid_body',
          `Invalid request body: ${unknown} is not allowed.`,
        );
      }
      const before = await actions.get(id);
      const version = await actions.deployVersion(id, param(req, 'versionId'), {
        ...apiChange(req),
        ...(updateDraft === undefined ? {} : { update_draft: updateDraft as boolean }),
      });
      recordChange(req, {
        description: 'Roll back an action to an earlier version',
        target: { type: TARGET, id },
        before,
        after: await actions.get(id),
      });
      res.json(version);
    },
  );

  routes.post('/actions/actions/:id/test', 'create:actions', async (req, res) => {
    const body: unknown = req.body;
    const payload = (body as { payload?: unknown } | undefined)?.payload;
    if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) {
      throw new ManagementError('invalid_body', 'Invalid request body: payload must be an object.');
    }
    const { source, version } = actions.draft(param(req, 'id'));
    if (!('code' in source)) {
      throw new ManagementError(
        'unsupported',
        'An action defined by a handler function in code cannot be tested over the Management API.',
      );
    }
    const result = await testAction(source.code, payload, {
      secrets: version.secrets,
      allowed_hosts: [...version.allowed_hosts],
      allowed_private_networks: [...version.allowed_private_networks],
      limits: version.limits,
      action_id: version.action_id,
    });
    res.json({ payload: result });
  });
};

/**
 * An Auth0 action body as the registry takes it: `secrets` from Auth0's `[{ name, value }]`,
 * `runtime` (a Node.js version) and empty `dependencies` accepted and dropped (the code runs in
 * the router's sandbox, without npm packages), `deploy: true` refused (deploy is its own call).
 */
function actionBody(body: unknown, creating: boolean): unknown {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return body;
  const { secrets, runtime, dependencies, deploy, ...rest } = body as Record<string, unknown>;
  if (runtime !== undefined && (typeof runtime !== 'string' || !/^node\d{1,3}$/.test(runtime))) {
    invalid('runtime must be a Node.js runtime such as node22 (the code runs in the sandbox)');
  }
  if (dependencies !== undefined && !(Array.isArray(dependencies) && dependencies.length === 0)) {
    invalid('dependencies are not supported: actions run without npm packages');
  }
  if (deploy !== undefined && deploy !== false) {
    invalid(`deploy is not supported on ${creating ? 'create' : 'update'}: call deploy after it`);
  }
  if (secrets === undefined) return rest;
  if (!Array.isArray(secrets)) invalid('secrets must be an array of { name, value }');
  const record: Record<string, unknown> = {};
  for (const secret of secrets as unknown[]) {
    const { name, value } = (secret ?? {}) as { name?: unknown; value?: unknown };
    if (typeof name !== 'string' || typeof value !== 'string' || Object.hasOwn(record, name)) {
      invalid('secrets must be an array of { name, value } with distinct string names and values');
    }
    Object.defineProperty(record, name, { value, enumerable: true });
  }
  return { ...rest, secrets: record };
}

/** Auth0's offset paging of a list: `{ [name]: items, total, page, per_page }`. */
function paged<T>(req: Request, name: string, items: readonly T[]): Record<string, unknown> {
  const page = queryInteger(req, 'page', 0, 0, 1_000_000);
  const perPage = queryInteger(req, 'per_page', 50, 1, 100);
  return {
    [name]: items.slice(page * perPage, (page + 1) * perPage),
    total: items.length,
    page,
    per_page: perPage,
  };
}

function invalid(message: string): never {
  throw new ManagementError('invalid_body', `Invalid request body: ${message}.`);
}

function queryBoolean(value: string | undefined, name: string): boolean | undefined {
  if (value === undefined) return undefined;
  if (value === 'true' || value === 'false') return value === 'true';
  throw invalidQuery(`Query validation error: ${name} must be true or false.`);
}

function sendAction(res: Response, actions: ActionRegistry, action: Action): void {
  setEntityTag(res, actions.entityTag(action));
  res.json(action);
}
