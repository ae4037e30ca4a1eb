import type { NextFunction, Request, Response, Router } from 'express';
import type { AttackProtectionHandle } from '../attack-protection/attack-protection.js';
import type { OrganizationsHandle } from '../handles/organizations-handle.js';
import type { PermissionsHandle } from '../handles/permissions-handle.js';
import type { TenantLog } from '../logs/tenant-log.js';
import type { TenantLogsHandle } from '../logs/tenant-logs.js';
import type { ActionRegistry } from '../profiles/action-registry.js';
import type { ProfileRegistry } from '../profiles/profile-registry.js';
import type { ChangeOptions } from '../profiles/shared-records.js';
import type { UserStore } from '../users/user-store.js';
import type { ManagementCaller } from './access-token.js';
import { ManagementApiError } from './management-errors.js';
import type { AuditChange } from './audit.js';

/** What the route groups of the Management API work on: the registries behind the handles. */
export interface ManagementServices {
  actions: ActionRegistry;
  profiles: ProfileRegistry;
  attackProtection: AttackProtectionHandle;
  logs: TenantLogsHandle;
  organizations: OrganizationsHandle;
  /** Roles and permissions; every call rejects with `unsupported` without a permission store. */
  permissions: PermissionsHandle;
  /** Whether `options.permissions.store` is configured: without it roles cannot change. */
  permissionStore: boolean;
  users: UserStore;
  log: TenantLog;
  /** Where an unexpected failure's cause goes (the router's logger); the caller gets a 500. */
  reportError: (error: unknown) => void;
}

/** A route's handler: the caller is verified and holds the route's scope. */
export type ManagementRouteHandler = (
  req: Request,
  res: Response,
  caller: ManagementCaller,
) => Promise<void>;

/** One group of routes (profiles, actions, ...): adds its routes to the API's router. */
export type ManagementRouteGroup = (routes: ManagementRoutes, services: ManagementServices) => void;

/**
 * Auth0's scope for a route, or the scopes of which the token must hold any one (Auth0 lets
 * `read:users` or `read:roles` read a user's roles).
 */
export type RouteScope = string | readonly string[];

/** How a route group declares its routes: method, path, Auth0's scope for it, handler. */
export interface ManagementRoutes {
  get(path: string, scope: RouteScope, handler: ManagementRouteHandler): void;
  post(path: string, scope: RouteScope, handler: ManagementRouteHandler): void;
  patch(path: string, scope: RouteScope, handler: ManagementRouteHandler): void;
  delete(path: string, scope: RouteScope, handler: ManagementRouteHandler): void;
}

/** The verified caller of a request (set by the API's authentication step). */
const callers = new WeakMap<Request, ManagementCaller>();

export function setCaller(req: Request, caller: ManagementCaller): void {
  callers.set(req, caller);
}

export function callerOf(req: Request): ManagementCaller | undefined {
  return callers.get(req);
}

/** What a change of a route group wrote, for the audit entry. */
const changes = new WeakMap<Request, AuditChange>();

/** Records what a route changed: the API writes the audit entry once the response is sent. */
export function recordChange(req: Request, change: AuditChange): void {
  changes.set(req, change);
}

export function changeOf(req: Request): AuditChange | undefined {
  return changes.get(req);
}

/**
 * {@link ManagementRoutes} over an Express router: each route checks its scope, then runs its
 * handler; a rejection goes to the API's error handler (Express 4 does not forward it).
 */
export function managementRoutes(router: Router): ManagementRoutes {
  const add =
    (method: 'get' | 'post' | 'patch' | 'delete') =>
    (path: string, scope: RouteScope, handler: ManagementRouteHandler) => {
      const anyOf = typeof scope === 'string' ? [scope] : scope;
      router[method](path, (req: Request, res: Response, next: NextFunction) => {
        const caller = callerOf(req);
        if (caller === undefined || !anyOf.some((one) => caller.scopes.has(one))) {
          next(insufficientScope(anyOf));
          return;
        }
        handler(req, res, caller).catch(next);
      });
    };
  return { get: add('get'), post: add('post'), patch: add('patch'), delete: add('delete') };
}

function insufficientScope(anyOf: readonly string[]): ManagementApiError {
  return new ManagementApiError(
    403,
    'insufficient_scope',
    `Insufficient scope, expected any of: ${anyOf.join(',')}`,
    { 'WWW-Authenticate': `Bearer error="insufficient_scope", scope="${anyOf.join(' ')}"` },
  );
}

/** The options of a change made for a Management API request: its caller and `If-Match`. */
export function apiChange(req: Request): ChangeOptions {
  const ifMatch = req.get('If-Match');
  return ifMatch === undefined ? { caller: 'api' } : { caller: 'api', ifMatch };
}

/** Sets `ETag` when the registry tagged the view. */
export function setEntityTag(res: Response, tag: string | undefined): void {
  if (tag !== undefined) res.set('ETag', tag);
}

/** A route parameter (Express 5 may leave an optional one undefined). */
export function param(req: Request, name: string): string {
  const value = (req.params as Record<string, string | undefined>)[name];
  return value ?? '';
}

/** A single-valued query parameter, or `undefined`; repeated parameters are refused. */
export function queryValue(req: Request, name: string): string | undefined {
  const value: unknown = (req.query as Record<string, unknown>)[name];
  if (value === undefined) return undefined;
  if (typeof value !== 'string') {
    throw new ManagementApiError(
      400,
      'invalid_query_string',
      `Query validation error: ${name} must be given once, as a string.`,
    );
  }
  return value;
}

/** An integer query parameter within `[min, max]`, or `fallback`. */
export function queryInteger(
  req: Request,
  name: string,
  fallback: number,
  min: number,
  max: number,
): number {
  const text = queryValue(req, name);
  if (text === undefined) return fallback;
  const value = /^\d{1,9}$/.test(text) ? Number(text) : NaN;
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new ManagementApiError(
      400,
      'invalid_query_string',
      `Query validation error: ${name} must be an integer from ${min} to ${max}.`,
    );
  }
  return value;
}
