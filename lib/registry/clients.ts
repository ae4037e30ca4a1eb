import type { JWK } from 'jose';
import { ManagementError } from '../errors.js';
import type { RefreshTokenSettings } from './refresh-token-settings.js';
import { ClientCache } from './client-store.js';
import type { ClientCacheConfig, ClientStore } from './client-store.js';
import { asManagementError } from './registry-support.js';
import { parseClient, type DefinitionCheck } from './client-definition.js';
import type {
  Client,
  ClientDefinition,
  IdTokenSigningAlg,
  MfaPolicy,
  OrganizationUsage,
  TokenEndpointAuthMethod,
} from './client.js';

export type {
  Client,
  ClientDefinition,
  IdTokenSigningAlg,
  MfaPolicy,
  OrganizationUsage,
  TokenEndpointAuthMethod,
} from './client.js';

export { parseClient } from './client-definition.js';
export type { DefinitionCheck } from './client-definition.js';

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
