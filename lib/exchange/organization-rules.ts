import { InvalidRequest, OAuthError } from '../errors.js';
import type { OrganizationsConfig } from '../organizations/organization-options.js';
import type { Organization, OrganizationConnection } from '../organizations/organization-store.js';
import type { Client } from '../registry/clients.js';
import type { UserSelection } from '../users/user-selection.js';
import type { User } from '../users/user-store.js';

/** The public answer to an organization the request or the action names but none has. */
export const INVALID_ORGANIZATION = 'organization is not valid';

/**
 * The organization the request's `organization` parameter names, resolved before the action runs
 * (the action sees it as `event.organization`); `undefined` without the parameter.
 *
 * @throws InvalidRequest `400` when the client's `organization_usage` is `deny`, or when no
 *   organization has that id (or name, when names are allowed)
 */
export async function requestedOrganization(
  organizations: OrganizationsConfig,
  client: Client,
  value: string | undefined,
): Promise<Organization | undefined> {
  if (value === undefined) return undefined;
  checkUsage(client, 'the organization parameter');
  return find(organizations, value, 'the organization parameter');
}

/**
 * The exchange's organization once the action ran: the one it set (`setOrganization`), which must
 * be the request's when both name one, else the request's.
 *
 * @throws InvalidRequest `400` when they differ, when the action's names none, when the client's
 *   `organization_usage` is `deny` and the action set one, or is `require` and there is none
 */
export async function exchangeOrganization(
  organizations: OrganizationsConfig,
  client: Client,
  requested: Organization | undefined,
  setByAction: string | undefined,
): Promise<Organization | undefined> {
  let organization = requested;
  if (setByAction !== undefined) {
    checkUsage(client, 'setOrganization');
    const set = await find(organizations, setByAction, 'setOrganization');
    if (requested !== undefined && requested.id !== set.id) {
      throw new InvalidRequest('the organization set by the action does not match the request', {
        privateCause: `setOrganization named ${set.id}, the organization parameter ${requested.id}`,
      });
    }
    organization = set;
  }
  if (organization === undefined && client.organization_usage === 'require') {
    throw new InvalidRequest('the client requires an organization', {
      privateCause: `client ${client.client_id} has organization_usage require`,
    });
  }
  return organization;
}

/**
 * For `setUserByConnection`, before any user is created: the connection must be enabled for the
 * organization. Resolves to its settings (whether it adds members).
 *
 * @throws OAuthError `403 access_denied` when it is not
 */
export async function enabledConnection(
  organizations: OrganizationsConfig,
  organization: Organization,
  connection: string,
): Promise<OrganizationConnection> {
  const enabled = await organizations.store.getConnection(organization.id, connection);
  if (enabled === undefined) {
    throw accessDenied(
      'the connection is not enabled for the organization',
      `connection ${JSON.stringify(connection)} is not enabled for ${organization.id}`,
    );
  }
  return enabled;
}

/**
 * Auth0's membership rules once the user is known: a user set by id must be a member, and its
 * primary connection (its first identity's) enabled for the organization; a user set by
 * connection who is not a member is added when that connection assigns membership on login,
 * refused otherwise.
 *
 * @throws OAuthError `403 access_denied` when the user may not use the organization
 */
export async function checkMembership(
  organizations: OrganizationsConfig,
  organization: Organization,
  user: User,
  selection: UserSelection,
  connection: OrganizationConnection | undefined,
): Promise<void> {
  const { store } = organizations;
  let settings = connection;
  if (selection.type === 'id') {
    const primary = user.identities[0]?.connection;
    settings =
      primary === undefined ? undefined : await store.getConnection(organization.id, primary);
    if (settings === undefined) {
      throw accessDenied(
        'the connection is not enabled for the organization',
        `the primary connection ${JSON.stringify(primary ?? null)} of ${user.user_id} is not enabled for ${organization.id}`,
      );
    }
  }
  if (await store.isMember(organization.id, user.user_id)) return;
  if (selection.type === 'connection' && settings?.assign_membership_on_login === true) {
    await store.addMembers(organization.id, [user.user_id]);
    return;
  }
  throw accessDenied(
    'the user is not a member of the organization',
    `${user.user_id} is not a member of ${organization.id}`,
  );
}

function checkUsage(client: Client, source: string): void {
  if (client.organization_usage === 'deny') {
    throw new InvalidRequest('the client does not use organizations', {
      privateCause: `${source}, and client ${client.client_id} has organization_usage deny`,
    });
  }
}

async function find(
  organizations: OrganizationsConfig,
  value: string,
  source: string,
): Promise<Organization> {
  const { store, allowNames } = organizations;
  const found =
    (value.startsWith('org_') ? await store.get(value) : undefined) ??
    (allowNames ? await store.getByName(value) : undefined);
  if (found === undefined) {
    throw new InvalidRequest(INVALID_ORGANIZATION, {
      privateCause: `${source}: no organization has the id${allowNames ? ' or name' : ''} ${JSON.stringify(value)}`,
    });
  }
  return found;
}

function accessDenied(description: string, privateCause: string): OAuthError {
  return new OAuthError(403, 'access_denied', description, { privateCause });
}
