/**
 * Organizations (Auth0's B2B tenants of a tenant): each has members (user ids) and the
 * connections its members sign in through. The router reads them for exchanges that name an
 * organization; `cte.organizations` changes them.
 */

/** An organization, as stored and as the handle shows it. */
export interface Organization {
  /** `org_` and 16 letters or digits. */
  id: string;
  /** Unique, lower case: letters, digits, `-` and `_`, 1 to 50 characters. */
  name: string;
  /** 1 to 255 characters; absent when none was given. */
  display_name?: string;
  /** Up to 25 string values. */
  metadata: Record<string, string>;
}

/** A connection enabled for an organization. */
export interface OrganizationConnection {
  /** The connection's name (a user's `identities[].connection`). */
  connection: string;
  /**
   * `true`: a user who signs in through this connection (`setUserByConnection`) and is not a
   * member yet is added as one (Auth0's "auto-membership"). Default `false`.
   */
  assign_membership_on_login: boolean;
}

/** What {@link OrganizationStore.update} changes; `display_name: null` removes it. */
export interface OrganizationChanges {
  name?: string;
  display_name?: string | null;
  metadata?: Record<string, string>;
}

/**
 * Where organizations, their members and their connections are kept. The store stores: the
 * handle validates every field before it calls it. Every answer is a fresh copy. Shared by the
 * instances of a deployment when it is a database (`PostgresOrganizationStore`).
 */
export interface OrganizationStore {
  /** @throws OrganizationConflictError when the id or the name is taken */
  create(organization: Organization): Promise<Organization>;
  get(id: string): Promise<Organization | undefined>;
  getByName(name: string): Promise<Organization | undefined>;
  /** Every organization, in creation order. */
  list(): Promise<Organization[]>;
  /**
   * `undefined` when there is no such organization.
   * @throws OrganizationConflictError when the new name is another organization's
   */
  update(id: string, changes: OrganizationChanges): Promise<Organization | undefined>;
  /** Deletes it with its members and connections; `false` when there was none. */
  delete(id: string): Promise<boolean>;
  /** Adds members (present ones stay); `false` when there is no such organization. */
  addMembers(id: string, userIds: readonly string[]): Promise<boolean>;
  /** Removes members (absent ones are ignored); `false` when there is no such organization. */
  removeMembers(id: string, userIds: readonly string[]): Promise<boolean>;
  /** The members' user ids, sorted; `undefined` when there is no such organization. */
  listMembers(id: string): Promise<string[] | undefined>;
  isMember(id: string, userId: string): Promise<boolean>;
  /**
   * Enables a connection, or changes its settings when it is enabled already; `false` when there
   * is no such organization.
   */
  setConnection(id: string, connection: OrganizationConnection): Promise<boolean>;
  /** Disables a connection; `false` when it was not enabled. */
  removeConnection(id: string, connection: string): Promise<boolean>;
  /** The enabled connections by name; `undefined` when there is no such organization. */
  listConnections(id: string): Promise<OrganizationConnection[] | undefined>;
  /** One enabled connection, `undefined` when it is not enabled. */
  getConnection(id: string, connection: string): Promise<OrganizationConnection | undefined>;
}

/** A store's refusal of an id or name that another organization has. */
export class OrganizationConflictError extends Error {
  constructor(readonly field: 'id' | 'name') {
    super(`an organization with this ${field} exists`);
    this.name = 'OrganizationConflictError';
  }
}
