import {
  checkArray,
  checkKnownKeys,
  checkObject,
  checkOneOf,
  checkOptionalBoolean,
  checkOptionalInteger,
  checkOptionalString,
  checkString,
  fail,
} from '../definition-checks.js';
import { ManagementError } from '../errors.js';
import type { JWK } from 'jose';
import type { Client, DefinitionCheck } from './clients.js';
import { parseClient } from './clients.js';
import { asManagementError, deepFreeze } from './registry-support.js';

/** Algorithms for access tokens (`signing_alg`). */
export type AccessTokenSigningAlg = 'RS256' | 'PS256' | 'ES256' | 'EdDSA';

/** An API, with Auth0's Management API field names. */
export interface ResourceServerDefinition {
  /** The `audience` value clients ask for; becomes the access token's `aud`. */
  identifier: string;
  name?: string;
  scopes?: Array<{ value: string; description?: string }>;
  /** Default `RS256` (Auth0's); ES256 signs about ten times cheaper. */
  signing_alg?: AccessTokenSigningAlg;
  /** Default `false`. */
  allow_offline_access?: boolean;
  /** Default `true`. Token exchange needs it: consent cannot be collected. */
  skip_consent_for_verifiable_first_party_clients?: boolean;
  /** Access token lifetime in seconds; default 86400. */
  token_lifetime?: number;
  /**
   * Credentials of the API's own with which it calls `POST /oauth/introspect` (RFC 7662 §2.1):
   * it may then introspect the access tokens issued for it, whichever client they were issued
   * to. Absent: the API cannot introspect. Not a client: these credentials get no token.
   */
  introspection?: IntrospectionCredentials;
  /**
   * Role-based access control: an API scope is granted only when the user holds the permission
   * of that name (see `options.permissions`). Default `false`.
   */
  enforce_policies?: boolean;
  /**
   * `access_token_authz` and `rfc9068_profile_authz` add the `permissions` claim (every
   * permission the user holds for the API) to the access token; the access tokens of all four
   * follow RFC 9068. Default `access_token`.
   */
  token_dialect?: TokenDialect;
}

/** Auth0's token dialects. */
export type TokenDialect =
  'access_token' | 'access_token_authz' | 'rfc9068_profile' | 'rfc9068_profile_authz';
const TOKEN_DIALECTS: readonly TokenDialect[] = [
  'access_token',
  'access_token_authz',
  'rfc9068_profile',
  'rfc9068_profile_authz',
];

/**
 * How a resource server authenticates at the introspection endpoint, with the fields and methods
 * of a client's credentials. The `client_id` must differ from every client's.
 */
export interface IntrospectionCredentials {
  client_id: string;
  /** Required for the secret methods (at least 16 characters). */
  client_secret?: string;
  /** Default `client_secret_basic`. */
  token_endpoint_auth_method?: 'client_secret_basic' | 'client_secret_post' | 'private_key_jwt';
  /** Public keys for `private_key_jwt`. */
  jwks?: { keys: JWK[] };
}

/** A resource server as the router uses it: every default applied, frozen. */
export interface ResourceServer {
  readonly identifier: string;
  readonly name: string;
  readonly scopes: readonly string[];
  readonly signing_alg: AccessTokenSigningAlg;
  readonly allow_offline_access: boolean;
  readonly skip_consent_for_verifiable_first_party_clients: boolean;
  readonly token_lifetime: number;
  readonly introspection: Readonly<IntrospectionCredentials> | undefined;
  readonly enforce_policies: boolean;
  readonly token_dialect: TokenDialect;
}

/** Which APIs and scopes a client may request (Auth0's client grant). */
export interface ClientGrantDefinition {
  client_id: string;
  audience: string;
  scope: string[];
}

const RESOURCE_SERVER_KEYS = [
  'identifier',
  'name',
  'scopes',
  'signing_alg',
  'allow_offline_access',
  'skip_consent_for_verifiable_first_party_clients',
  'token_lifetime',
  'introspection',
  'enforce_policies',
  'token_dialect',
  // Auth0 fields a pasted definition may carry; accepted and ignored.
  'id',
  'is_system',
  'token_lifetime_for_web',
  'signing_secret',
] as const;
const ACCESS_TOKEN_ALGS: readonly AccessTokenSigningAlg[] = ['RS256', 'PS256', 'ES256', 'EdDSA'];
/** RFC 6749 §3.3 scope-token characters. */
const SCOPE_TOKEN = /^[\x21\x23-\x5B\x5D-\x7E]+$/;

/** Validates one API definition and applies the defaults; throws a TypeError naming `path`. */
export function parseResourceServer(input: unknown, path: string): ResourceServer {
  const def = checkObject(input, path);
  checkKnownKeys(def, RESOURCE_SERVER_KEYS, path);
  const identifier = checkString(def.identifier, `${path}.identifier`, { max: 600 });
  const scopes = (def.scopes === undefined ? [] : checkArray(def.scopes, `${path}.scopes`)).map(
    (scope, i) => {
      const entry = checkObject(scope, `${path}.scopes[${i}]`);
      checkKnownKeys(entry, ['value', 'description'], `${path}.scopes[${i}]`);
      const value = checkString(entry.value, `${path}.scopes[${i}].value`, { max: 280 });
      if (!SCOPE_TOKEN.test(value))
        fail(`${path}.scopes[${i}].value`, 'is not a valid scope token');
      checkOptionalString(entry.description, `${path}.scopes[${i}].description`, { min: 0 });
      return value;
    },
  );
  return deepFreeze({
    identifier,
    name: checkOptionalString(def.name, `${path}.name`, { max: 255 }) ?? identifier,
    scopes: [...new Set(scopes)],
    signing_alg: checkOneOf(def.signing_alg, `${path}.signing_alg`, ACCESS_TOKEN_ALGS, 'RS256'),
    allow_offline_access: checkOptionalBoolean(
      def.allow_offline_access,
      `${path}.allow_offline_access`,
      false,
    ),
    skip_consent_for_verifiable_first_party_clients: checkOptionalBoolean(
      def.skip_consent_for_verifiable_first_party_clients,
      `${path}.skip_consent_for_verifiable_first_party_clients`,
      true,
    ),
    token_lifetime: checkOptionalInteger(def.token_lifetime, `${path}.token_lifetime`, 86400, {
      min: 1,
      max: 2592000,
    }),
    introspection: parseIntrospectionCredentials(def.introspection, `${path}.introspection`),
    enforce_policies: checkOptionalBoolean(def.enforce_policies, `${path}.enforce_policies`, false),
    token_dialect: checkOneOf(
      def.token_dialect,
      `${path}.token_dialect`,
      TOKEN_DIALECTS,
      'access_token',
    ),
  });
}

const INTROSPECTION_METHODS = [
  'client_secret_basic',
  'client_secret_post',
  'private_key_jwt',
] as const;

/** Checks a resource server's introspection credentials as a client's would be checked. */
function parseIntrospectionCredentials(
  input: unknown,
  path: string,
): IntrospectionCredentials | undefined {
  if (input === undefined) return undefined;
  const def = checkObject(input, path);
  checkKnownKeys(def, ['client_id', 'client_secret', 'token_endpoint_auth_method', 'jwks'], path);
  const method = checkOneOf(
    def.token_endpoint_auth_method,
    `${path}.token_endpoint_auth_method`,
    INTROSPECTION_METHODS,
    'client_secret_basic',
  );
  const client = parseClient({ ...def, token_endpoint_auth_method: method, name: 'api' }, path);
  return {
    client_id: client.client_id,
    ...(client.client_secret === undefined ? {} : { client_secret: client.client_secret }),
    token_endpoint_auth_method: method,
    ...(client.jwks === undefined ? {} : { jwks: structuredClone(client.jwks) as { keys: JWK[] } }),
  };
}

/** Resource servers' introspection clients, made once per frozen resource server record. */
const introspectionClients = new WeakMap<ResourceServer, Client>();

/**
 * The client a resource server authenticates as at the introspection endpoint: its credentials,
 * and nothing else (no token exchange, no refresh tokens).
 */
export function introspectionClient(server: ResourceServer): Client | undefined {
  if (server.introspection === undefined) return undefined;
  let client = introspectionClients.get(server);
  if (client === undefined) {
    client = parseClient(
      { ...server.introspection, name: server.name },
      `resourceServers[${server.identifier}].introspection`,
    );
    introspectionClients.set(server, client);
  }
  return client;
}

/** Validates one client grant; throws a TypeError naming `path`. */
export function parseClientGrant(input: unknown, path: string): ClientGrantDefinition {
  const def = checkObject(input, path);
  checkKnownKeys(def, ['client_id', 'audience', 'scope', 'id'], path);
  return deepFreeze({
    client_id: checkString(def.client_id, `${path}.client_id`, { max: 128 }),
    audience: checkString(def.audience, `${path}.audience`, { max: 600 }),
    scope: checkArray(def.scope, `${path}.scope`).map((s, i) =>
      checkString(s, `${path}.scope[${i}]`, { max: 280 }),
    ),
  });
}

/** APIs by identifier, changeable at run time through the router's `resourceServers` handle. */
export class ResourceServerRegistry {
  readonly #servers = new Map<string, ResourceServer>();
  readonly #onChange: DefinitionCheck<ResourceServer>;
  readonly #isDefault: (identifier: string) => boolean;

  /** `onChange` sees every API before it is stored (the router ensures its signing key). */
  constructor(
    initial: readonly ResourceServer[] = [],
    onChange: DefinitionCheck<ResourceServer> = () => {},
    isDefault: (identifier: string) => boolean = () => false,
  ) {
    this.#onChange = onChange;
    this.#isDefault = isDefault;
    initial.forEach((server, i) => {
      onChange(server, `options.resourceServers[${i}]`);
      this.#servers.set(server.identifier, server);
    });
  }

  add(definition: ResourceServerDefinition): ResourceServer {
    const server = asManagementError(() => parseResourceServer(definition, 'resourceServer'));
    if (this.#servers.has(server.identifier)) {
      throw new ManagementError('conflict', `resource server ${server.identifier} already exists`);
    }
    asManagementError(() => this.#onChange(server, 'resourceServer'));
    this.#servers.set(server.identifier, server);
    return server;
  }

  update(identifier: string, patch: Partial<ResourceServerDefinition>): ResourceServer {
    const current = this.#require(identifier);
    if (patch.identifier !== undefined && patch.identifier !== identifier) {
      throw new ManagementError('invalid_body', 'resourceServer.identifier cannot change');
    }
    const server = asManagementError(() =>
      parseResourceServer({ ...toDefinition(current), ...patch, identifier }, 'resourceServer'),
    );
    asManagementError(() => this.#onChange(server, 'resourceServer'));
    this.#servers.set(identifier, server);
    return server;
  }

  remove(identifier: string): void {
    this.#require(identifier);
    if (this.#isDefault(identifier)) {
      throw new ManagementError('conflict', `resource server ${identifier} is the defaultAudience`);
    }
    this.#servers.delete(identifier);
  }

  get(identifier: string): ResourceServer | undefined {
    return this.#servers.get(identifier);
  }

  /** The resource server whose introspection credentials have this `client_id`. */
  byIntrospectionClientId(clientId: string): ResourceServer | undefined {
    for (const server of this.#servers.values()) {
      if (server.introspection?.client_id === clientId) return server;
    }
    return undefined;
  }

  list(): ResourceServer[] {
    return [...this.#servers.values()];
  }

  #require(identifier: string): ResourceServer {
    const server = this.#servers.get(identifier);
    if (!server) {
      throw new ManagementError('not_found', `resource server ${identifier} does not exist`);
    }
    return server;
  }
}

/**
 * An API as the `resourceServers` handle shows it: Auth0's shape, every default applied, its
 * introspection credentials without `client_secret` (secrets are write-only).
 */
export interface ResourceServerView {
  identifier: string;
  name: string;
  scopes: Array<{ value: string }>;
  signing_alg: AccessTokenSigningAlg;
  allow_offline_access: boolean;
  skip_consent_for_verifiable_first_party_clients: boolean;
  token_lifetime: number;
  introspection?: Omit<IntrospectionCredentials, 'client_secret'>;
  /** Present when `true`. */
  enforce_policies?: boolean;
  /** Present when not the default `access_token`. */
  token_dialect?: TokenDialect;
}

/** A fresh copy of `server` in the shape definitions are written in. */
export function resourceServerView(server: ResourceServer): ResourceServerView {
  return {
    identifier: server.identifier,
    name: server.name,
    scopes: server.scopes.map((value) => ({ value })),
    signing_alg: server.signing_alg,
    allow_offline_access: server.allow_offline_access,
    skip_consent_for_verifiable_first_party_clients:
      server.skip_consent_for_verifiable_first_party_clients,
    token_lifetime: server.token_lifetime,
    ...(server.introspection === undefined
      ? {}
      : { introspection: introspectionView(server.introspection) }),
    ...(server.enforce_policies ? { enforce_policies: true } : {}),
    ...(server.token_dialect === 'access_token' ? {} : { token_dialect: server.token_dialect }),
  };
}

function introspectionView(
  credentials: Readonly<IntrospectionCredentials>,
): Omit<IntrospectionCredentials, 'client_secret'> {
  const { client_secret: _secret, jwks, ...rest } = credentials;
  return { ...rest, ...(jwks === undefined ? {} : { jwks: structuredClone(jwks) }) };
}

/** The definition `server` was made from, secrets included: what an update starts from. */
function toDefinition(server: ResourceServer): ResourceServerDefinition {
  return {
    ...resourceServerView(server),
    ...(server.introspection === undefined ? {} : { introspection: { ...server.introspection } }),
  };
}
