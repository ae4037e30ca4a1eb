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
import { ManagementError } from '../errors.js';
import type {
  RefreshTokenSettings,
  RefreshTokenSettingsDefinition,
} from '../refresh-tokens/refresh-token-settings.js';
import { parseRefreshTokenSettings } from '../refresh-tokens/refresh-token-settings.js';
import { parseClientSecretHash } from './client-secret-hash.js';
import { ClientCache } from './client-store.js';
import type { ClientCacheConfig, ClientStore } from './client-store.js';
import { asManagementError, deepFreeze } from './registry-support.js';

/** How a client authenticates at the token endpoint (Auth0's `token_endpoint_auth_method`). */
export type TokenEndpointAuthMethod =
  'client_secret_basic' | 'client_secret_post' | 'private_key_jwt' | 'none';

/** Algorithms for ID tokens (`jwt_configuration.alg`); HS256 signs with the client secret. */
export type IdTokenSigningAlg = 'RS256' | 'PS256' | 'ES256' | 'EdDSA' | 'HS256';

/**
 * An application, with Auth0's Management API field names so existing definitions paste in.
 * Defaults are Auth0's where Auth0 has one.
 */
export interface ClientDefinition {
  client_id: string;
  /**
   * The secret in clear (at least 16 characters), for `client_secret_basic`/`client_secret_post`
   * and HS256 ID tokens; or two during a rotation, `[current, previous]` (either is accepted;
   * HS256 ID tokens are signed with the first). A secret method needs one secret at least, in
   * clear or as a hash, and at most two in all.
   */
  client_secret?: string | string[];
  /**
   * The secret as a scrypt hash instead of in clear (`$scrypt$ln=…,r=…,p=…$salt$key`, made by
   * `hashClientSecret`), or two during a rotation. A hashed secret authenticates the client but
   * cannot sign HS256 ID tokens.
   */
  client_secret_hash?: string | string[];
  name: string;
  /** Default `true`. Third-party clients cannot use token exchange. */
  is_first_party?: boolean;
  /** Default `true`. Clients that are not OIDC conformant cannot use token exchange. */
  oidc_conformant?: boolean;
  /** Default `client_secret_post` (Auth0's default); the only method the client may use. */
  token_endpoint_auth_method?: TokenEndpointAuthMethod;
  /** Public keys for `private_key_jwt` client assertions. */
  jwks?: { keys: JWK[] };
  /** ID-token signing; default `{ alg: 'RS256' }`. */
  jwt_configuration?: { alg?: IdTokenSigningAlg; lifetime_in_seconds?: number };
  /** Must contain `custom_authentication` for the client to use token exchange. */
  token_exchange?: { allow_any_profile_of_type?: string[] };
  /** Up to 10 string values, passed to actions as `event.client.metadata`. */
  client_metadata?: Record<string, string>;
  /**
   * Whether the client's exchanges may (`allow`) or must (`require`) name an organization
   * (Auth0's field). Default `deny`: the `organization` parameter and `setOrganization` are
   * refused.
   */
  organization_usage?: OrganizationUsage;
  /**
   * Whether the client's exchanges need a second factor: `always` answers every exchange with
   * `403 mfa_required` and an `mfa_token` (redeemed through the `mfa-otp` or `mfa-oob` grant,
   * checked by `options.mfa.verify`), `never` (the default) leaves it to the post-exchange action's
   * `api.multifactor.enable`. The names of Auth0's "Require Multi-factor Auth" setting, per
   * client. `always` needs `options.mfa` and cannot go with an `organization_usage` other than
   * `deny` (Auth0 has no MFA policies with organizations).
   */
  mfa_policy?: MfaPolicy;
  /**
   * Default `false`. A server-side client that exchanges tokens on behalf of its users may name
   * the end user's IP in `attackProtection.forwardedIpHeader` (Auth0's `auth0-forwarded-for`):
   * that IP is then throttled, logged and shown to the action. Ignored for every other client.
   */
  is_token_endpoint_ip_header_trusted?: boolean;
  /**
   * Default `false`. `true`: every token request of the client must carry a DPoP proof (RFC 9449
   * §5.2's client metadata), so its access tokens are always bound to its key.
   */
  dpop_bound_access_tokens?: boolean;
  /**
   * Origins (`https://app.example.com`, or `https://*.example.com` for its subdomains) whose
   * browser code may call the token, revocation and introspection endpoints as this client:
   * Auth0's "Allowed Origins (CORS)".
   */
  allowed_origins?: string[];
  /** Auth0's "Allowed Web Origins"; allowed for CORS like `allowed_origins`. */
  web_origins?: string[];
  /**
   * Refresh tokens issued to the client (when `offline_access` is granted): Auth0's fields
   * `rotation_type` (default `rotating` here), `leeway` (0), `token_lifetime` (2592000),
   * `idle_token_lifetime` (1296000), `infinite_token_lifetime`, `infinite_idle_token_lifetime`.
   */
  refresh_token?: RefreshTokenSettingsDefinition;
}

/** A client as the router uses it: every default applied, frozen. */
export interface Client {
  readonly client_id: string;
  /** The first secret in clear: what HS256 ID tokens are signed with. */
  readonly client_secret: string | undefined;
  /** Every secret in clear (at most two). */
  readonly client_secrets: readonly string[];
  /** Every hashed secret (at most two in all with {@link client_secrets}), checked as given. */
  readonly client_secret_hashes: readonly string[];
  readonly name: string;
  readonly is_first_party: boolean;
  readonly oidc_conformant: boolean;
  readonly token_endpoint_auth_method: TokenEndpointAuthMethod;
  readonly jwks: { readonly keys: readonly JWK[] } | undefined;
  readonly id_token_alg: IdTokenSigningAlg;
  /** ID token lifetime in seconds; default 36000 (Auth0's). */
  readonly id_token_lifetime: number;
  readonly allow_any_profile_of_type: readonly string[];
  readonly client_metadata: Readonly<Record<string, string>>;
  readonly organization_usage: OrganizationUsage;
  readonly mfa_policy: MfaPolicy;
  readonly is_token_endpoint_ip_header_trusted: boolean;
  readonly refresh_token: RefreshTokenSettings;
  readonly dpop_bound_access_tokens: boolean;
  readonly allowed_origins: readonly string[];
  readonly web_origins: readonly string[];
}

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

/** Auth0's `organization_usage` values. */
export type OrganizationUsage = 'deny' | 'allow' | 'require';
const ORGANIZATION_USAGES: readonly OrganizationUsage[] = ['deny', 'allow', 'require'];

/** Values of a client's `mfa_policy`. */
export type MfaPolicy = 'never' | 'always';
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

/** Where a {@link ClientRegistry} reads its clients when they live in the host's registry. */
export interface ClientRegistrySource {
  store: ClientStore;
  cache: ClientCacheConfig;
  /** The cache's clock in ms since the epoch; default `Date.now`. */
  now?: () => number;
}

/**
 * The router's clients: a map changeable at run time through the `clients` handle, or, given a
 * {@link ClientStore}, the host's own registry behind a {@link ClientCache} (then the handle
 * only invalidates: clients change in the host's registry).
 */
export class ClientRegistry {
  readonly #clients = new Map<string, Client>();
  readonly #onChange: DefinitionCheck<Client>;
  readonly #parsing: { hostAuthenticates: boolean };
  readonly #cache: ClientCache | undefined;
  /** The host's registry the clients are read from, if they are. */
  readonly store: ClientStore | undefined;

  /**
   * `onChange` sees every client before it is stored (or, from a store, used), with the path to
   * name in a TypeError (the router checks that a signing key exists for its ID tokens).
   */
  constructor(
    initial: readonly Client[] = [],
    onChange: DefinitionCheck<Client> = () => {},
    {
      hostAuthenticates = false,
      source,
    }: { hostAuthenticates?: boolean; source?: ClientRegistrySource } = {},
  ) {
    this.#onChange = onChange;
    this.#parsing = { hostAuthenticates };
    this.store = source?.store;
    this.#cache =
      source === undefined
        ? undefined
        : new ClientCache(
            source.store,
            source.cache,
            (definition) => {
              const client = parseClient(definition, 'client', this.#parsing);
              onChange(client, 'client');
              return client;
            },
            source.now,
          );
    initial.forEach((client, i) => {
      onChange(client, `options.clients[${i}]`);
      this.#clients.set(client.client_id, client);
    });
  }

  /**
   * The client with this id, for a request: at once from the map (or the cache), else once the
   * store answered. Rejects with `503` when the store fails, `500` for an invalid definition.
   */
  find(clientId: string): Client | undefined | Promise<Client | undefined> {
    return this.#cache === undefined ? this.#clients.get(clientId) : this.#cache.find(clientId);
  }

  /** The clients given as definitions; none with a `ClientStore`, whose clients are not listed. */
  defined(): Client[] {
    return this.#cache === undefined ? [...this.#clients.values()] : [];
  }

  /** Adds a client; throws `ManagementError('conflict')` when the id exists. */
  add(definition: ClientDefinition): Client {
    this.#requireMap();
    const client = asManagementError(() => parseClient(definition, 'client', this.#parsing));
    if (this.#clients.has(client.client_id)) {
      throw new ManagementError('conflict', `client ${client.client_id} already exists`);
    }
    asManagementError(() => this.#onChange(client, 'client'));
    this.#clients.set(client.client_id, client);
    return client;
  }

  /** Replaces the fields given in `patch` (the id cannot change). */
  update(clientId: string, patch: Partial<ClientDefinition>): Client {
    const current = this.#require(clientId);
    if (patch.client_id !== undefined && patch.client_id !== clientId) {
      throw new ManagementError('invalid_body', 'client.client_id cannot change');
    }
    const client = asManagementError(() =>
      parseClient(
        { ...toDefinition(current), ...patch, client_id: clientId },
        'client',
        this.#parsing,
      ),
    );
    asManagementError(() => this.#onChange(client, 'client'));
    this.#clients.set(clientId, client);
    return client;
  }

  remove(clientId: string): void {
    this.#require(clientId);
    this.#clients.delete(clientId);
  }

  get(clientId: string): Client | undefined {
    this.#requireMap();
    return this.#clients.get(clientId);
  }

  list(): Client[] {
    this.#requireMap();
    return [...this.#clients.values()];
  }

  /**
   * Forgets what was cached of a `ClientStore`'s client (or of every client, without an id), so
   * the next request reads it again; nothing to do for clients given as definitions.
   */
  invalidate(clientId?: string): void {
    this.#cache?.invalidate(clientId);
  }

  #requireMap(): void {
    if (this.#cache !== undefined) {
      throw new ManagementError(
        'unsupported',
        'the clients come from a ClientStore: change them in your registry, then call ' +
          'clients.invalidate(client_id)',
      );
    }
  }

  #require(clientId: string): Client {
    this.#requireMap();
    const client = this.#clients.get(clientId);
    if (!client) throw new ManagementError('not_found', `client ${clientId} does not exist`);
    return client;
  }
}

/**
 * A client as the `clients` handle shows it: the definition's fields with every default applied,
 * in Auth0's shape (so it can be edited and given back), without `client_secret`: secrets are
 * write-only.
 */
export interface ClientView {
  client_id: string;
  name: string;
  is_first_party: boolean;
  oidc_conformant: boolean;
  token_endpoint_auth_method: TokenEndpointAuthMethod;
  /** Present when the client has public keys for `private_key_jwt`. */
  jwks?: { keys: JWK[] };
  jwt_configuration: { alg: IdTokenSigningAlg; lifetime_in_seconds: number };
  token_exchange: { allow_any_profile_of_type: string[] };
  client_metadata: Record<string, string>;
  organization_usage: OrganizationUsage;
  mfa_policy: MfaPolicy;
  is_token_endpoint_ip_header_trusted: boolean;
  refresh_token: { -readonly [Field in keyof RefreshTokenSettings]: RefreshTokenSettings[Field] };
  dpop_bound_access_tokens: boolean;
  allowed_origins: string[];
  web_origins: string[];
}

/** A fresh, secret-free copy of `client` for the handle. */
export function clientView(client: Client): ClientView {
  return {
    client_id: client.client_id,
    name: client.name,
    is_first_party: client.is_first_party,
    oidc_conformant: client.oidc_conformant,
    token_endpoint_auth_method: client.token_endpoint_auth_method,
    ...(client.jwks === undefined ? {} : { jwks: structuredClone(client.jwks) as { keys: JWK[] } }),
    jwt_configuration: { alg: client.id_token_alg, lifetime_in_seconds: client.id_token_lifetime },
    token_exchange: { allow_any_profile_of_type: [...client.allow_any_profile_of_type] },
    client_metadata: { ...client.client_metadata },
    organization_usage: client.organization_usage,
    mfa_policy: client.mfa_policy,
    is_token_endpoint_ip_header_trusted: client.is_token_endpoint_ip_header_trusted,
    refresh_token: { ...client.refresh_token },
    dpop_bound_access_tokens: client.dpop_bound_access_tokens,
    allowed_origins: [...client.allowed_origins],
    web_origins: [...client.web_origins],
  };
}

/** A secrets field as a definition spells it: absent, one string, or a list. */
function oneOrList<K extends 'client_secret' | 'client_secret_hash'>(
  name: K,
  values: readonly string[],
): Pick<ClientDefinition, K> {
  if (values.length === 0) return {} as Pick<ClientDefinition, K>;
  return { [name]: values.length === 1 ? values[0] : [...values] } as Pick<ClientDefinition, K>;
}

function toDefinition(client: Client): ClientDefinition {
  return {
    ...clientView(client),
    ...oneOrList('client_secret', client.client_secrets),
    ...oneOrList('client_secret_hash', client.client_secret_hashes),
  };
}
