import { checkKnownKeys, checkObject, checkOptionalBoolean, fail } from '../definition-checks.js';
import { MemoryOrganizationStore } from './memory-organization-store.js';
import type { OrganizationStore } from './organization-store.js';

/** `options.organizations`. */
export interface OrganizationsOptions {
  /** Where organizations are kept; a `MemoryOrganizationStore` when absent. */
  store?: OrganizationStore;
  /**
   * Auth0's "Use Organization Names in Authentication API": `true` lets the `organization`
   * parameter and `setOrganization` name an organization by its `name` as well as its id, and
   * puts `org_name` beside `org_id` in the tokens. Default `false`.
   */
  allowNameInAuthenticationApi?: boolean;
}

/** {@link OrganizationsOptions} checked, with the default store. */
export interface OrganizationsConfig {
  store: OrganizationStore;
  allowNames: boolean;
}

const STORE_METHODS = [
  'create',
  'get',
  'getByName',
  'list',
  'update',
  'delete',
  'addMembers',
  'removeMembers',
  'listMembers',
  'isMember',
  'setConnection',
  'removeConnection',
  'listConnections',
  'getConnection',
];

/** @throws TypeError naming the path of a mistake */
export function parseOrganizationsOptions(value: unknown): OrganizationsConfig {
  const path = 'options.organizations';
  const options = value === undefined ? {} : checkObject(value, path);
  checkKnownKeys(options, ['store', 'allowNameInAuthenticationApi'], path);
  const store = options.store;
  if (store !== undefined) {
    if (typeof store !== 'object' || store === null) {
      fail(`${path}.store`, 'must be an OrganizationStore');
    }
    for (const method of STORE_METHODS) {
      if (typeof (store as Record<string, unknown>)[method] !== 'function') {
        fail(`${path}.store.${method}`, 'must be a function (see the OrganizationStore interface)');
      }
    }
  }
  return {
    store: (store as OrganizationStore | undefined) ?? new MemoryOrganizationStore(),
    allowNames: checkOptionalBoolean(
      options.allowNameInAuthenticationApi,
      `${path}.allowNameInAuthenticationApi`,
      false,
    ),
  };
}
