import crypto from 'node:crypto';
import type { JWK } from 'jose';
import {
  checkArray,
  checkKnownKeys,
  checkObject,
  checkOneOf,
  checkOptionalBoolean,
  checkOptionalInteger,
  checkString,
  fail,
} from '../definition-checks.js';
import { parseRefreshTokenSettings } from './refresh-token-settings.js';
import { parseClientSecretHash } from './client-secret-hash.js';
import { deepFreeze } from './registry-support.js';
import type {
  Client,
  IdTokenSigningAlg,
  MfaPolicy,
  OrganizationUsage,
  TokenEndpointAuthMethod,
} from './client.js';

const CLIENT_KEYS = [
  'client_id',
  'client_secret',
  'client_secret_hash',
  'name',
  'is_first_party',
  'oidc_conformant',
  'token_endpoint_auth_method',
  'jwks',
  'jwt_configuration',
  'token_exchange',
  'client_metadata',
  'organization_usage',
  'mfa_policy',
  'is_token_endpoint_ip_header_trusted',
  'refresh_token',
  'dpop_bound_access_tokens',
  'allowed_origins',
  'web_origins',
  // Auth0 fields a pasted definition may carry; accepted and ignored.
  'description',
  'app_type',
  'logo_uri',
  'callbacks',
  'grant_types',
  'tenant',
  'global',
  'custom_login_page_on',
] as const;

const ORGANIZATION_USAGES: readonly OrganizationUsage[] = ['deny', 'allow', 'require'];
const MFA_POLICIES: readonly MfaPolicy[] = ['never', 'always'];

/** Auth0's limit on `client_metadata`. */
const MAX_CLIENT_METADATA_KEYS = 10;
const PRIVATE_JWK_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'];

/** A check run on each definition before it is stored; throws a TypeError naming `path`. */
export type DefinitionCheck<T> = (definition: T, path: string) => void;

/** An asymmetric public JWK that node:crypto can import, so a bad key fails here, not at 401. */
function checkPublicJwk(value: unknown, path: string): void {
  const jwk = checkObject(value, path);
  checkOneOf(jwk.kty, `${path}.kty`, ['RSA', 'EC', 'OKP']);
  for (const member of PRIVATE_JWK_MEMBERS) {
    if (member in jwk) fail(path, 'must be a public key (it has private members)');
  }
  try {
    crypto.createPublicKey({ key: jwk as crypto.JsonWebKey, format: 'jwk' });
  } catch {
    fail(path, 'is not a valid public JWK');
  }
}

/** Secrets a client may hold at once: the current one and, during a rotation, the previous one. */
const MAX_SECRETS = 2;

/** A field holding one string or a list of them; each checked by `check`. */
function oneOrMore<T>(
  value: unknown,
  path: string,
  check: (item: unknown, path: string) => T,
): T[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) return [check(value, path)];
  if (value.length === 0) fail(path, 'must not be an empty array');
  return value.map((item, i) => check(item, `${path}[${i}]`));
}

const AUTH_METHODS: readonly TokenEndpointAuthMethod[] = [
  'client_secret_basic',
  'client_secret_post',
  'private_key_jwt',
  'none',
];
const ID_TOKEN_ALGS: readonly IdTokenSigningAlg[] = ['RS256', 'PS256', 'ES256', 'EdDSA', 'HS256'];

/** Validates one client definition and applies the defaults; throws a TypeError naming `path`. */
/**
 * Validates a client definition. With `hostAuthenticates` (the router's `clientAuthentication`:
 * the host's own passport strategies check the credentials), a secret method needs no
 * `client_secret` and `private_key_jwt` no `jwks`: the router never checks them itself.
 */
export function parseClient(
  input: unknown,
  path: string,
  { hostAuthenticates = false }: { hostAuthenticates?: boolean } = {},
): Client {
  const def = checkObject(input, path);
  checkKnownKeys(def, CLIENT_KEYS, path);
  const client_id = checkString(def.client_id, `${path}.client_id`, { max: 128 });
  const client_secrets = oneOrMore(def.client_secret, `${path}.client_secret`, (item, at) =>
    checkString(item, at, { min: 16, max: 512 }),
  );
  const client_secret_hashes = oneOrMore(
    def.client_secret_hash,
    `${path}.client_secret_hash`,
    (item, at) => {
      parseClientSecretHash(item, at);
      return item as string;
    },
  );
  if (client_secrets.length + client_secret_hashes.length > MAX_SECRETS) {
    fail(
      `${path}.client_secret`,
      `and client_secret_hash hold ${client_secrets.length + client_secret_hashes.length} secrets; at most ${MAX_SECRETS} (the current one and the previous one during a rotation)`,
    );
  }
  const client_secret = client_secrets[0];
  const method = checkOneOf(
    def.token_endpoint_auth_method,
    `${path}.token_endpoint_auth_method`,
    AUTH_METHODS,
    'client_secret_post',
  );
  const secretMethod = method === 'client_secret_basic' || method === 'client_secret_post';
  if (
    secretMethod &&
    client_secrets.length + client_secret_hashes.length === 0 &&
    !hostAuthenticates
  ) {
    fail(
      `${path}.client_secret`,
      `(or client_secret_hash) is required for token_endpoint_auth_method ${method}`,
    );
  }
  let jwks: Client['jwks'];
  if (def.jwks !== undefined) {
    const set = checkObject(def.jwks, `${path}.jwks`);
    const keys = checkArray(set.keys, `${path}.jwks.keys`);
    keys.forEach((key, i) => checkPublicJwk(key, `${path}.jwks.keys[${i}]`));
    jwks = deepFreeze({ keys: structuredClone(keys) as JWK[] });
  }
  if (method === 'private_key_jwt' && !jwks?.keys.length && !hostAuthenticates) {
    fail(`${path}.jwks`, 'must hold at least one public key for private_key_jwt');
  }
  const jwtConfiguration =
    def.jwt_configuration === undefined
      ? {}
      : checkObject(def.jwt_configuration, `${path}.jwt_configuration`);
  // secret_encoded and scopes are Auth0 fields a pasted definition may carry: ignored.
  checkKnownKeys(
    jwtConfiguration,
    ['alg', 'lifetime_in_seconds', 'secret_encoded', 'scopes'],
    `${path}.jwt_configuration`,
  );
  const id_token_alg = checkOneOf(
    jwtConfiguration.alg,
    `${path}.jwt_configuration.alg`,
    ID_TOKEN_ALGS,
    'RS256',
  );
  if (id_token_alg === 'HS256' && !client_secret) {
    fail(
      `${path}.jwt_configuration.alg`,
      'HS256 needs a client_secret in clear to sign with (a client_secret_hash cannot sign)',
    );
  }
  const tokenExchange =
    def.token_exchange === undefined
      ? {}
      : checkObject(def.token_exchange, `${path}.token_exchange`);
  checkKnownKeys(tokenExchange, ['allow_any_profile_of_type'], `${path}.token_exchange`);
  const profileTypes =
    tokenExchange.allow_any_profile_of_type === undefined
      ? []
      : checkArray(
          tokenExchange.allow_any_profile_of_type,
          `${path}.token_exchange.allow_any_profile_of_type`,
        ).map((type, i) =>
          checkString(type, `${path}.token_exchange.allow_any_profile_of_type[${i}]`),
        );
  const metadata =
    def.client_metadata === undefined
      ? {}
      : checkObject(def.client_metadata, `${path}.client_metadata`);
  if (Object.keys(metadata).length > MAX_CLIENT_METADATA_KEYS) {
    fail(`${path}.client_metadata`, `must have at most ${MAX_CLIENT_METADATA_KEYS} keys`);
  }
  for (const [key, value] of Object.entries(metadata)) {
    checkString(value, `${path}.client_metadata.${key}`, { min: 0, max: 255 });
  }
  const mfaPolicy =
    def.mfa_policy === undefined
      ? 'never'
      : checkOneOf(def.mfa_policy, `${path}.mfa_policy`, MFA_POLICIES);
  if (mfaPolicy === 'always' && (def.organization_usage ?? 'deny') !== 'deny') {
    fail(
      `${path}.mfa_policy`,
      'cannot be "always" with an organization_usage other than "deny": MFA is not available to exchanges with an organization',
    );
  }
  return deepFreeze({
    client_id,
    client_secret,
    client_secrets,
    client_secret_hashes,
    name: checkString(def.name, `${path}.name`, { max: 255 }),
    is_first_party: checkOptionalBoolean(def.is_first_party, `${path}.is_first_party`, true),
    oidc_conformant: checkOptionalBoolean(def.oidc_conformant, `${path}.oidc_conformant`, true),
    token_endpoint_auth_method: method,
    jwks,
    id_token_alg,
    id_token_lifetime: checkOptionalInteger(
      jwtConfiguration.lifetime_in_seconds,
      `${path}.jwt_configuration.lifetime_in_seconds`,
      36000,
      { min: 1, max: 2592000 },
    ),
    allow_any_profile_of_type: profileTypes,
    client_metadata: { ...(metadata as Record<string, string>) },
    organization_usage:
      def.organization_usage === undefined
        ? 'deny'
        : checkOneOf(def.organization_usage, `${path}.organization_usage`, ORGANIZATION_USAGES),
    mfa_policy: mfaPolicy,
    is_token_endpoint_ip_header_trusted: checkOptionalBoolean(
      def.is_token_endpoint_ip_header_trusted,
      `${path}.is_token_endpoint_ip_header_trusted`,
      false,
    ),
    refresh_token: parseRefreshTokenSettings(def.refresh_token, `${path}.refresh_token`),
    dpop_bound_access_tokens: checkOptionalBoolean(
      def.dpop_bound_access_tokens,
      `${path}.dpop_bound_access_tokens`,
      false,
    ),
    allowed_origins: parseOrigins(def.allowed_origins, `${path}.allowed_origins`),
    web_origins: parseOrigins(def.web_origins, `${path}.web_origins`),
  });
}

/**
 * A list of origins: `scheme://host[:port]`, the host possibly `*.` and a domain for its
 * subdomains (Auth0's wildcard), nothing after; `https` unless the host is localhost.
 */
function parseOrigins(input: unknown, path: string): string[] {
  if (input === undefined) return [];
  return checkArray(input, path).map((value, i) => {
    const origin = checkString(value, `${path}[${i}]`, { max: 512 });
    const match = ORIGIN.exec(origin);
    if (!match) fail(`${path}[${i}]`, 'must be an origin such as https://app.example.com');
    const [, scheme, host] = match as unknown as [string, string, string];
    const local = /^(localhost|127\.0\.0\.1|\[::1\])$/.test(host);
    if (scheme !== 'https' && !local)
      fail(`${path}[${i}]`, 'must be https (http for localhost only)');
    return origin.toLowerCase();
  });
}

/** An origin, possibly with a subdomain wildcard: scheme, host, optional port, no path. */
const ORIGIN = /^(https?):\/\/((?:\*\.)?[A-Za-z0-9.-]+|\[[0-9A-Fa-f:]+\])(?::\d{1,5})?$/;
