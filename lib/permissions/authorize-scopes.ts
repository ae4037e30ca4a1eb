import { ServerError } from '../errors.js';
import { OFFLINE_ACCESS, OIDC_SCOPES } from '../exchange/scopes.js';
import type { ResourceServer } from '../registry/resource-servers.js';
import { StoreUnavailableError, withDeadline } from '../stores/store-deadline.js';
import type { User } from '../users/user-store.js';
import type { PermissionsConfig } from './permission-options.js';

/** The scopes tokens are issued with, and the `permissions` claim when the dialect has one. */
export interface AuthorizedScopes {
  scope: string[];
  permissions?: string[];
}

/** Whether an API's tokens carry the `permissions` claim. */
export function dialectHasPermissions(server: ResourceServer): boolean {
  return server.token_dialect.endsWith('_authz');
}

/** Whether an API needs the user's permissions at all: policies enforced, or a claim to fill. */
export function needsPermissions(server: ResourceServer): boolean {
  return server.enforce_policies || dialectHasPermissions(server);
}

/**
 * Role-based access control for one issuance. With `enforce_policies`, an API scope is granted
 * only when the user holds the permission of that name (OIDC scopes and `offline_access` are not
 * the API's and pass); with an `_authz` dialect the access token lists every permission the user
 * holds for the API, whichever scopes were asked for. Resolved anew on each call, so a refresh
 * sees the permissions of the moment.
 *
 * @throws StoreUnavailableError when the resolver does not answer within its deadline (the
 *   client gets `503 temporarily_unavailable`)
 * @throws ServerError when the resolver fails or answers with something other than strings
 */
export async function authorizeScopes(
  config: PermissionsConfig | undefined,
  server: ResourceServer,
  user: User,
  scope: readonly string[],
): Promise<AuthorizedScopes> {
  if (!needsPermissions(server)) return { scope: [...scope] };
  // The registry refuses such an API without a resolver; this keeps the rule at the point of use.
  if (config === undefined) {
    throw new ServerError(`API ${server.identifier} enforces policies without a resolver`);
  }
  const held = await resolvePermissions(config, server, user);
  const allowed = new Set(held);
  const result: AuthorizedScopes = {
    scope: server.enforce_policies
      ? scope.filter(
          (name) => name === OFFLINE_ACCESS || OIDC_SCOPES.has(name) || allowed.has(name),
        )
      : [...scope],
  };
  if (dialectHasPermissions(server)) result.permissions = [...allowed];
  return result;
}

async function resolvePermissions(
  config: PermissionsConfig,
  server: ResourceServer,
  user: User,
): Promise<readonly string[]> {
  let answer: unknown;
  try {
    answer = await withDeadline(
      Promise.resolve().then(() => config.resolve(user, server.identifier)),
      config.timeoutMs,
      'permission resolver',
    );
  } catch (err) {
    if (err instanceof StoreUnavailableError) throw err;
    const reason = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
    throw new ServerError(`permission resolver failed: ${reason}`);
  }
  if (!Array.isArray(answer) || !answer.every((name) => typeof name === 'string')) {
    throw new ServerError('permission resolver did not answer with an array of strings');
  }
  return answer as string[];
}
