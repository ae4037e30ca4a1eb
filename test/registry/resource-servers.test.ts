import { expect } from 'chai';
import {
  ResourceServerRegistry,
  introspectionClient,
  parseClientGrant,
  parseResourceServer,
} from '../../lib/registry/resource-servers.js';
import type {
  ResourceServer,
  ResourceServerDefinition,
} from '../../lib/registry/resource-servers.js';
import {
  expectThrownManagementError as expectManagementError,
  thrownBy as thrown,
} from '../support/rejections.js';
import { RESOURCE_SERVER_DEFAULTS } from '../support/auth0-defaults.js';

const API = 'https://api.example.com/';
const OTHER = 'https://other.example.com/';

function expectTypeError(run: () => unknown, message: string): void {
  const err = thrown(run);
  expect(err).to.be.instanceOf(TypeError);
  expect((err as TypeError).message).to.equal(`customTokenExchange: ${message}`);
}

const orders = (fields: Partial<ResourceServerDefinition> = {}): ResourceServerDefinition => ({
  identifier: API,
  name: 'Orders API',
  scopes: [{ value: 'read:orders' }, { value: 'write:orders' }],
  ...fields,
});

describe('parseResourceServer', () => {
  it('applies Auth0’s defaults to a bare identifier', () => {
    expect(parseResourceServer({ identifier: API }, 'rs')).to.deep.equal({
      identifier: API,
      name: API,
      ...RESOURCE_SERVER_DEFAULTS,
      introspection: undefined,
      enforce_policies: false,
      token_dialect: 'access_token',
    });
  });

  it('keeps the given fields, scope values only (deduplicated), and ignores Auth0-only fields (id, is_system)', () => {
    expect(
      parseResourceServer(
        {
          identifier: API,
          name: 'Orders API',
          scopes: [
            { value: 'read:orders', description: 'Read orders' },
            { value: 'write:orders' },
            { value: 'read:orders' },
          ],
          signing_alg: 'ES256',
          allow_offline_access: true,
          skip_consent_for_verifiable_first_party_clients: false,
          token_lifetime: 60,
          id: '5f1c...',
          is_system: false,
          enforce_policies: true,
          token_dialect: 'rfc9068_profile_authz',
        },
        'rs',
      ),
    ).to.deep.equal({
      identifier: API,
      name: 'Orders API',
      scopes: ['read:orders', 'write:orders'],
      signing_alg: 'ES256',
      allow_offline_access: true,
      skip_consent_for_verifiable_first_party_clients: false,
      token_lifetime: 60,
      introspection: undefined,
      enforce_policies: true,
      token_dialect: 'rfc9068_profile_authz',
    });
  });

  it('returns a frozen copy', () => {
    const definition = orders();
    const server = parseResourceServer(definition, 'rs');
    expect(Object.isFrozen(server)).to.equal(true);
    expect(Object.isFrozen(server.scopes)).to.equal(true);
    expect(Object.isFrozen(definition.scopes)).to.equal(false);
    definition.scopes!.push({ value: 'admin' });
    expect(server.scopes).to.deep.equal(['read:orders', 'write:orders']);
  });

  const refusals: Array<[string, unknown, string]> = [
    ['not an object', API, 'rs must be a plain object'],
    [
      'an unknown property',
      { identifier: API, audience: API },
      'rs.audience is not a known property',
    ],
    ['no identifier', { name: 'x' }, 'rs.identifier must be a string'],
    [
      'scopes that are not an array',
      { identifier: API, scopes: 'read' },
      'rs.scopes must be an array',
    ],
    [
      'a scope token with a space',
      { identifier: API, scopes: [{ value: 'ok' }, { value: 'read orders' }] },
      'rs.scopes[1].value is not a valid scope token',
    ],
    [
      'a scope token with a backslash',
      { identifier: API, scopes: [{ value: 'a\\b' }] },
      'rs.scopes[0].value is not a valid scope token',
    ],
    [
      'an empty scope',
      { identifier: API, scopes: [{ value: '' }] },
      'rs.scopes[0].value must be 1–280 characters long',
    ],
    [
      'a scope description that is not a string',
      { identifier: API, scopes: [{ value: 'a', description: 1 }] },
      'rs.scopes[0].description must be a string',
    ],
    [
      'an HMAC signing_alg',
      { identifier: API, signing_alg: 'HS256' },
      'rs.signing_alg must be one of RS256, PS256, ES256, EdDSA',
    ],
    [
      'a token lifetime over 30 days',
      { identifier: API, token_lifetime: 2592001 },
      'rs.token_lifetime must be an integer from 1 to 2592000',
    ],
    [
      'a non-boolean skip_consent',
      { identifier: API, skip_consent_for_verifiable_first_party_clients: 1 },
      'rs.skip_consent_for_verifiable_first_party_clients must be a boolean',
    ],
    [
      'introspection credentials without a secret',
      { identifier: API, introspection: { client_id: 'orders-api' } },
      'rs.introspection.client_secret (or client_secret_hash) is required for token_endpoint_auth_method client_secret_basic',
    ],
    [
      'introspection credentials of a public client',
      {
        identifier: API,
        introspection: { client_id: 'orders-api', token_endpoint_auth_method: 'none' },
      },
      'rs.introspection.token_endpoint_auth_method must be one of client_secret_basic, client_secret_post, private_key_jwt',
    ],
    [
      'introspection credentials with a short secret',
      { identifier: API, introspection: { client_id: 'orders-api', client_secret: 'short' } },
      'rs.introspection.client_secret must be 16–512 characters long',
    ],
    [
      'introspection credentials with an unknown property',
      {
        identifier: API,
        introspection: { client_id: 'orders-api', client_secret: 'x'.repeat(16), name: 'x' },
      },
      'rs.introspection.name is not a known property',
    ],
  ];
  for (const [title, input, message] of refusals) {
    it(`refuses ${title} with a TypeError naming the path`, () => {
      expectTypeError(() => parseResourceServer(input, 'rs'), message);
    });
  }
});

describe('parseResourceServer: introspection credentials', () => {
  it('keeps them with client_secret_basic by default, and makes the client they authenticate as', () => {
    const server = parseResourceServer(
      {
        identifier: API,
        name: 'Orders API',
        introspection: { client_id: 'orders-api', client_secret: 'orders-api-secret-123' },
      },
      'rs',
    );
    expect(server.introspection).to.deep.equal({
      client_id: 'orders-api',
      client_secret: 'orders-api-secret-123',
      token_endpoint_auth_method: 'client_secret_basic',
    });
    expect(Object.isFrozen(server.introspection)).to.equal(true);
    const client = introspectionClient(server)!;
    expect(client).to.include({
      client_id: 'orders-api',
      client_secret: 'orders-api-secret-123',
      name: 'Orders API',
      token_endpoint_auth_method: 'client_secret_basic',
    });
    // Only credentials: the client can neither exchange nor refresh.
    expect(client.allow_any_profile_of_type).to.deep.equal([]);
    expect(introspectionClient(server)).to.equal(client);
    expect(introspectionClient(parseResourceServer({ identifier: API }, 'rs'))).to.equal(undefined);
  });

  it('survives an update of the API’s other fields', () => {
    const registry = new ResourceServerRegistry([
      parseResourceServer(
        {
          identifier: API,
          introspection: { client_id: 'orders-api', client_secret: 'x'.repeat(16) },
        },
        'rs',
      ),
    ]);
    const updated = registry.update(API, { token_lifetime: 60 });
    expect(updated.introspection).to.deep.equal({
      client_id: 'orders-api',
      client_secret: 'x'.repeat(16),
      token_endpoint_auth_method: 'client_secret_basic',
    });
    expect(registry.byIntrospectionClientId('orders-api')).to.equal(updated);
    expect(registry.byIntrospectionClientId('other')).to.equal(undefined);
  });
});

describe('parseClientGrant', () => {
  it('keeps client_id, audience and scope, drops Auth0’s id, and freezes the copy', () => {
    const input = { id: 'cgr_1', client_id: 'app', audience: API, scope: ['read:orders'] };
    const grant = parseClientGrant(input, 'g');
    expect(grant).to.deep.equal({ client_id: 'app', audience: API, scope: ['read:orders'] });
    expect(Object.isFrozen(grant)).to.equal(true);
    expect(Object.isFrozen(grant.scope)).to.equal(true);
    expect(Object.isFrozen(input.scope)).to.equal(false);
    expect(
      parseClientGrant({ client_id: 'app', audience: API, scope: [] }, 'g').scope,
    ).to.deep.equal([]);
  });

  const refusals: Array<[string, unknown, string]> = [
    ['not an object', 'app', 'g must be a plain object'],
    [
      'an unknown property',
      { client_id: 'app', audience: API, scopes: [] },
      'g.scopes is not a known property',
    ],
    ['no client_id', { audience: API, scope: [] }, 'g.client_id must be a string'],
    ['no audience', { client_id: 'app', scope: [] }, 'g.audience must be a string'],
    ['no scope', { client_id: 'app', audience: API }, 'g.scope must be an array'],
    [
      'a scope that is not a string',
      { client_id: 'app', audience: API, scope: ['a', 2] },
      'g.scope[1] must be a string',
    ],
  ];
  for (const [title, input, message] of refusals) {
    it(`refuses ${title} with a TypeError naming the path`, () => {
      expectTypeError(() => parseClientGrant(input, 'g'), message);
    });
  }
});

describe('ResourceServerRegistry', () => {
  let seen: ResourceServer[];
  let registry: ResourceServerRegistry;
  beforeEach(() => {
    seen = [];
    registry = new ResourceServerRegistry(
      [parseResourceServer(orders(), 'options.resourceServers[0]')],
      (server) => {
        seen.push(server);
      },
      (identifier) => identifier === API,
    );
  });

  it('starts with the initial APIs, each shown to onChange', () => {
    expect(registry.list().map((s) => s.identifier)).to.deep.equal([API]);
    expect(seen).to.deep.equal([registry.get(API)]);
    expect(registry.get(OTHER)).to.equal(undefined);
    expect(new ResourceServerRegistry().list()).to.deep.equal([]);
  });

  it('adds an API: parsed with defaults, frozen, shown to onChange before it is stored', () => {
    let storedWhenSeen: ResourceServer | undefined | null = null;
    const shown: ResourceServer[] = [];
    const watched = new ResourceServerRegistry([], (server) => {
      storedWhenSeen = watched.get(server.identifier);
      shown.push(server);
    });
    const server = watched.add({ identifier: OTHER, signing_alg: 'PS256' });
    expect(storedWhenSeen).to.equal(undefined);
    expect(shown).to.deep.equal([server]);
    expect(server).to.deep.equal({
      identifier: OTHER,
      name: OTHER,
      scopes: [],
      signing_alg: 'PS256',
      allow_offline_access: false,
      skip_consent_for_verifiable_first_party_clients: true,
      token_lifetime: 86400,
      introspection: undefined,
      enforce_policies: false,
      token_dialect: 'access_token',
    });
    expect(Object.isFrozen(server)).to.equal(true);
    expect(Object.isFrozen(server.scopes)).to.equal(true);
    expect(watched.get(OTHER)).to.equal(server);
    expect(watched.list()).to.deep.equal([server]);
  });

  it('refuses a duplicate identifier with conflict and keeps the first', () => {
    const before = registry.get(API);
    expectManagementError(
      () => registry.add({ identifier: API }),
      'conflict',
      `resource server ${API} already exists`,
    );
    expect(registry.get(API)).to.equal(before);
    expect(seen).to.have.length(1);
  });

  it('refuses an invalid definition with invalid_body and a path-relative message', () => {
    expectManagementError(
      () => registry.add({ identifier: OTHER, signing_alg: 'HS256' as never }),
      'invalid_body',
      'resourceServer.signing_alg must be one of RS256, PS256, ES256, EdDSA',
    );
    expectManagementError(
      () => registry.add({ identifier: OTHER, scopes: [{ value: 'bad scope' }] }),
      'invalid_body',
      'resourceServer.scopes[0].value is not a valid scope token',
    );
    expect(registry.get(OTHER)).to.equal(undefined);
    expect(seen).to.have.length(1);
  });

  it('stores nothing when onChange throws', () => {
    class KeyMissing extends Error {}
    const refusing = new ResourceServerRegistry([], (server) => {
      if (server.signing_alg === 'EdDSA') throw new KeyMissing('no EdDSA key');
    });
    expect(
      thrown(() => refusing.add({ identifier: OTHER, signing_alg: 'EdDSA' })),
    ).to.be.instanceOf(KeyMissing);
    expect(refusing.get(OTHER)).to.equal(undefined);
    refusing.add({ identifier: OTHER });
    expect(thrown(() => refusing.update(OTHER, { signing_alg: 'EdDSA' }))).to.be.instanceOf(
      KeyMissing,
    );
    expect(refusing.get(OTHER)!.signing_alg).to.equal('RS256');
  });

  it('updates the given fields, keeps the others (scopes included), and shows it to onChange', () => {
    const before = registry.get(API)!;
    const updated = registry.update(API, { token_lifetime: 60, signing_alg: 'ES256' });
    expect(updated).to.deep.equal({ ...before, token_lifetime: 60, signing_alg: 'ES256' });
    expect(registry.get(API)).to.equal(updated);
    expect(seen.at(-1)).to.equal(updated);
    expect(Object.isFrozen(updated)).to.equal(true);
    expect(before.token_lifetime).to.equal(86400);

    const rescoped = registry.update(API, { scopes: [{ value: 'admin' }] });
    expect(rescoped.scopes).to.deep.equal(['admin']);
    expect(rescoped).to.include({ name: 'Orders API', token_lifetime: 60, signing_alg: 'ES256' });
    expect(seen).to.deep.equal([before, updated, rescoped]);
  });

  it('validates an update as a whole API, keeping the old one when it is refused', () => {
    const before = registry.get(API);
    expectManagementError(
      () => registry.update(API, { token_lifetime: 0 }),
      'invalid_body',
      'resourceServer.token_lifetime must be an integer from 1 to 2592000',
    );
    expectManagementError(
      () => registry.update(API, { audience: OTHER } as never),
      'invalid_body',
      'resourceServer.audience is not a known property',
    );
    expect(registry.get(API)).to.equal(before);
    expect(seen).to.have.length(1);
  });

  it('answers not_found for an unknown API on update and remove', () => {
    expectManagementError(
      () => registry.update(OTHER, { name: 'x' }),
      'not_found',
      `resource server ${OTHER} does not exist`,
    );
    expectManagementError(
      () => registry.remove(OTHER),
      'not_found',
      `resource server ${OTHER} does not exist`,
    );
  });

  it('removes an API, but refuses to remove the defaultAudience with conflict', () => {
    registry.add({ identifier: OTHER });
    registry.remove(OTHER);
    expect(registry.get(OTHER)).to.equal(undefined);
    expectManagementError(
      () => registry.remove(API),
      'conflict',
      `resource server ${API} is the defaultAudience`,
    );
    expect(registry.list().map((s) => s.identifier)).to.deep.equal([API]);
    // The defaultAudience can still change, just not go away.
    expect(registry.update(API, { name: 'Renamed' }).name).to.equal('Renamed');
  });

  it('lists copies of its index: changing the returned array changes nothing', () => {
    registry.list().pop();
    expect(registry.list()).to.have.length(1);
  });
});
