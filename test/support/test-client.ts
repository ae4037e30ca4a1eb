import type { Client } from '../../lib/registry/clients.js';
import { DEFAULT_REFRESH_TOKEN_SETTINGS } from '../../lib/registry/refresh-token-settings.js';

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
    is_first_party: true,
    oidc_conformant: true,
    token_endpoint_auth_method: 'client_secret_post',
    jwks: undefined,
    id_token_alg: 'RS256',
    id_token_lifetime: 36000,
    allow_any_profile_of_type: ['custom_authentication'],
    client_metadata: {},
    organization_usage: 'deny',
    mfa_policy: 'never',
    is_token_endpoint_ip_header_trusted: false,
    refresh_token: DEFAULT_REFRESH_TOKEN_SETTINGS,
    dpop_bound_access_tokens: false,
    allowed_origins: [],
    web_origins: [],
    ...fields,
  });
}
