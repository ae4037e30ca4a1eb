import type { Client } from '../../lib/registry/clients.js';
import { CLIENT_DEFAULTS, STORED_CLIENT_DEFAULTS } from './auth0-defaults.js';

/**
 * A frozen {@link Client} as the registry would hold it, built directly (no definition checks):
 * a first-party, OIDC-conformant `client_secret_post` client allowed custom token exchange, with
 * the registry's defaults, `fields` over them. A `client_secret` also fills `client_secrets`.
 */
export function testClient(fields: Partial<Client> & Pick<Client, 'client_id'>): Client {
  const { client_secret } = fields;
  return Object.freeze({
    client_secret: undefined,
    client_secrets: client_secret === undefined ? [] : [client_secret],
    client_secret_hashes: [],
    name: fields.client_id,
    ...STORED_CLIENT_DEFAULTS,
    allow_any_profile_of_type: ['custom_authentication'],
    ...CLIENT_DEFAULTS,
    ...fields,
  });
}
