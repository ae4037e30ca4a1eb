import { expect } from 'chai';
import type { LogEntry } from '../../lib/index.js';
import { API } from './fixtures.js';

/**
 * The fields every tenant-log entry of a request by `app` for the default API shares, the entry's
 * own id, date and address taken as written once the address is checked to be the loopback one.
 * Spread it into the whole expected entry, then the entry's type, description and the rest.
 */
export function appEntryFields(entry: LogEntry, userAgent = 'cte-tests/1.0') {
  expect(entry.ip).to.match(/127\.0\.0\.1$/);
  return {
    log_id: entry.log_id,
    date: entry.date,
    client_id: 'app',
    client_name: 'First-party app',
    ip: entry.ip,
    user_agent: userAgent,
    hostname: '127.0.0.1',
    audience: API,
  };
}

/** The user fields of an entry about alice, the test user most exchanges set. */
export const ALICE_ENTRY = { user_id: 'auth0|alice', user_name: 'alice@example.com' };

/** The type and description of a successful custom token exchange's entry. */
export const SECTE = {
  type: 'secte',
  description: 'Successful Exchange via Custom Token Exchange',
};

/**
 * The whole `fecte` entry of a request by `app` for the default API that was refused with `error`
 * (its description the entry's): {@link appEntryFields} sent as `userAgent`, then `details`
 * (`subject_token_type`, `profile_id`, `action_id`, `cause`, ...) and the error.
 */
export function appFailureEntry(
  entry: LogEntry,
  { error, error_description }: { error: string; error_description: string },
  details: Record<string, unknown>,
  userAgent?: string,
) {
  return {
    ...appEntryFields(entry, userAgent),
    type: 'fecte',
    description: error_description,
    details: { ...details, error, error_description },
  };
}
