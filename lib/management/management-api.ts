import express from 'express';
import type { NextFunction, Request, Response, Router } from 'express';
import { rateLimit } from 'express-rate-limit';
import { ManagementError } from '../errors.js';
import type { KeySet } from '../tokens/key-set.js';
import { accessTokenVerifier } from './access-token.js';
import { actionRoutes } from './action-routes.js';
import { attackProtectionRoutes } from './attack-protection-routes.js';
import { auditEntry } from './audit.js';
import { AuditBudget } from './audit-budget.js';
import { logRoutes } from './log-routes.js';
import { ManagementApiError, sendError } from './management-errors.js';
import { parseManagementApiOptions } from './management-options.js';
import type { ManagementApiOptions } from './management-options.js';
import { callerOf, changeOf, managementRoutes, setCaller } from './management-route.js';
import type { ManagementRouteGroup, ManagementServices } from './management-route.js';
import { organizationRoutes } from './organization-routes.js';
import { profileRoutes } from './profile-routes.js';
import { roleRoutes } from './role-routes.js';

/** The route groups of the API, each in its own file. */
const ROUTE_GROUPS: readonly ManagementRouteGroup[] = [
  profileRoutes,
  actionRoutes,
  attackProtectionRoutes,
  logRoutes,
  organizationRoutes,
  roleRoutes,
];

/** Largest JSON body: an action's code (100 KiB) with its secrets and settings. */
const MAX_BODY_BYTES = 512 * 1024;

/** Requests refused for their token (401) logged per minute, whatever their number. */
const UNAUTHENTICATED_ENTRIES_PER_MINUTE = 10;

/** Methods that change something: each writes an audit entry. */
const CHANGES = new Set(['POST', 'PATCH', 'PUT', 'DELETE']);

/**
 * The Management API's router (`cte.managementApi(options)`): Auth0's paths under the host's
 * mount, every request authenticated with a bearer JWT, authorized per route by Auth0's scope,
 * rate-limited per token subject, and every change audited in the tenant log.
 */
export function createManagementApi(
  services: ManagementServices,
  keys: KeySet,
  routerIssuer: string,
  options?: ManagementApiOptions,
): Router {
  const config = parseManagementApiOptions(options, routerIssuer);
  const verify = accessTokenVerifier(config, keys);
  const router = express.Router();
  const unauthenticated = new AuditBudget(UNAUTHENTICATED_ENTRIES_PER_MINUTE, 60_000);

  router.use((req: Request, res: Response, next: NextFunction) => {
    res.set('Cache-Control', 'no-store');
    verify(req.get('Authorization')).then((caller) => {
      setCaller(req, caller);
      next();
    }, next);
  });
  if (config.rateLimit !== undefined) {
    const { windowMs, limit, store } = config.rateLimit;
    router.use(
      rateLimit({
        windowMs,
        limit,
        // Auth0's headers, which its SDKs read to back off.
        standardHeaders: false,
        legacyHeaders: true,
        ...(store === undefined ? {} : { store }),
        keyGenerator: (req) => `sub:${callerOf(req)!.subject}`,
        handler: (_req, _res, next) => {
          next(new ManagementApiError(429, 'too_many_requests', 'Global limit has been reached'));
        },
        validate: { ip: false, trustProxy: false, xForwardedForHeader: false },
      }),
    );
  }
  router.use(express.json({ limit: MAX_BODY_BYTES, strict: true }));
  router.use((req: Request, res: Response, next: NextFunction) => {
    if (CHANGES.has(req.method)) {
      res.on('finish', () => {
        const caller = callerOf(req);
        const change = changeOf(req);
        if (caller !== undefined && change !== undefined && res.statusCode < 400) {
          services.log.write(auditEntry(req, caller, res.statusCode, { change }));
        }
      });
    }
    next();
  });

  const routes = managementRoutes(router);
  for (const group of ROUTE_GROUPS) group(routes, services);

  router.use((req: Request, _res: Response, next: NextFunction) => {
    next(new ManagementApiError(404, 'not_found', `Not Found: ${req.method} ${req.path}`));
  });
  router.use((err: unknown, req: Request, res: Response, next: NextFunction) => {
    if (res.headersSent) {
      next(err);
      return;
    }
    const error = asApiError(err);
    // A route's own 5xx (501 unsupported) is an answer, not a failure worth a stack trace.
    if (error.status >= 500 && !(err instanceof ManagementApiError)) services.reportError(err);
    const caller = callerOf(req);
    const failure = { status: error.status, error: error.errorCode, message: error.message };
    const description = `Failed ${req.method} ${req.path}`;
    if (caller !== undefined && CHANGES.has(req.method)) {
      services.log.write(auditEntry(req, caller, error.status, { description, failure }));
    } else if (caller === undefined && error.status === 401) {
      // Every method: a bad token is worth knowing about whatever it asked for.
      const suppressed = unauthenticated.admit();
      if (suppressed !== undefined) {
        services.log.write(auditEntry(req, undefined, 401, { description, failure, suppressed }));
      }
    }
    sendError(res, error);
  });
  return router;
}

function asApiError(err: unknown): ManagementApiError {
  if (err instanceof ManagementApiError) return err;
  if (err instanceof ManagementError)
    return new ManagementApiError(err.status, err.code, err.message);
  const status = (err as { status?: unknown; type?: unknown } | null)?.status;
  if (typeof status === 'number' && status >= 400 && status < 500) {
    // body-parser's errors: malformed JSON, too large, wrong charset.
    return new ManagementApiError(
      status,
      status === 413 ? 'payload_too_large' : 'invalid_body',
      status === 413 ? 'Payload too large' : 'Invalid request body: not valid JSON.',
    );
  }
  return new ManagementApiError(500, 'server_error', 'Internal Server Error');
}
