import { expect } from 'chai';
import type { JWK } from 'jose';
import { ClientRegistry, parseClient } from '../../lib/registry/clients.js';
import type { Client, ClientDefinition } from '../../lib/registry/clients.js';
import {
  expectThrownManagementError as expectManagementError,
  thrownBy as thrown,
} from '../support/rejections.js';
import {
  REFRESH_TOKEN_DEFAULTS,
  CLIENT_DEFAULTS,
  STORED_CLIENT_DEFAULTS,
} from '../support/auth0-defaults.js';

const SECRET = 'app-secret-0123456789abcdef';
const PUBLIC_JWK: JWK = {
  kty: 'EC',
  crv: 'P-256',
  x: 'f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU',
  y: 'x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0',
  kid: 'client-key',
};

function expectFrozenClient(client: Client): void {
  expect(Object.isFrozen(client), 'client').to.equal(true);
  expect(Object.isFrozen(client.allow_any_profile_of_type), 'allow_any_profile_of_type').to.equal(
    true,
  );
  expect(Object.isFrozen(client.client_metadata), 'client_metadata').to.equal(true);
  if (client.jwks) {
    expect(Object.isFrozen(client.jwks), 'jwks').to.equal(true);
    expect(Object.isFrozen(client.jwks.keys), 'jwks.keys').to.equal(true);
    client.jwks.keys.forEach((key, i) => expect(Object.isFrozen(key), `key ${i}`).to.equal(true));
  }
}

const app = (fields: Partial<ClientDefinition> = {}): ClientDefinition => ({
  client_id: 'app',
  client_secret: SECRET,
  name: 'App',
  token_exchange: { allow_any_profile_of_type: ['custom_authentication'] },
  ...fields,
});

describe('parseClient', () => {
  it('applies Auth0’s defaults to a minimal definition', () => {
    expect(
      parseClient({ client_id: 'app', client_secret: SECRET, name: 'App' }, 'c'),
    ).to.deep.equal({
      client_id: 'app',
      client_secret: SECRET,
      client_secrets: [SECRET],
      client_secret_hashes: [],
      name: 'App',
      ...STORED_CLIENT_DEFAULTS,
      allow_any_profile_of_type: [],
      ...CLIENT_DEFAULTS,
    });
  });

  it('keeps every given field and ignores the Auth0 fields it does not use', () => {
    const client = parseClient(
      {
        client_id: 'jwt-app',
        name: 'JWT app',
        is_first_party: false,
        oidc_conformant: false,
        token_endpoint_auth_method: 'private_key_jwt',
        jwks: { keys: [PUBLIC_JWK] },
        jwt_configuration: { alg: 'EdDSA', lifetime_in_seconds: 600 },
        token_exchange: { allow_any_profile_of_type: ['custom_authentication'] },
        client_metadata: { team: 'checkout', empty: '' },
        organization_usage: 'require',
        dpop_bound_access_tokens: true,
        allowed_origins: ['https://Shop.example.com', 'http://localhost:5173'],
        web_origins: ['https://*.example.com:8443'],
        app_type: 'regular_web',
        callbacks: ['https://app.example.com/callback'],
        description: 'pasted from Auth0',
      },
      'c',
    );
    expect(client).to.deep.equal({
      client_id: 'jwt-app',
      client_secret: undefined,
      client_secrets: [],
      client_secret_hashes: [],
      name: 'JWT app',
      is_first_party: false,
      oidc_conformant: false,
      token_endpoint_auth_method: 'private_key_jwt',
      jwks: { keys: [PUBLIC_JWK] },
      id_token_alg: 'EdDSA',
      id_token_lifetime: 600,
      allow_any_profile_of_type: ['custom_authentication'],
      client_metadata: { team: 'checkout', empty: '' },
      organization_usage: 'require',
      mfa_policy: 'never',
      is_token_endpoint_ip_header_trusted: false,
      refresh_token: REFRESH_TOKEN_DEFAULTS,
      dpop_bound_access_tokens: true,
      allowed_origins: ['https://shop.example.com', 'http://localhost:5173'],
      web_origins: ['https://*.example.com:8443'],
    });
  });

  it('accepts a public client without a secret, and HS256 ID tokens with one', () => {
    expect(
      parseClient({ client_id: 'spa', name: 'SPA', token_endpoint_auth_method: 'none' }, 'c'),
    ).to.include({ token_endpoint_auth_method: 'none', client_secret: undefined });
    expect(parseClient(app({ jwt_configuration: { alg: 'HS256' } }), 'c')).to.include({
      id_token_alg: 'HS256',
    });
  });

  it('takes two secrets during a rotation, in clear or hashed, and gives them back on update', () => {
    const hash = `$scrypt$ln=10,r=8,p=1$c2FsdHNhbHRzYWx0c2FsdA$${'A'.repeat(43)}`;
    const rotating = parseClient(app({ client_secret: [SECRET, `${SECRET}-old`] }), 'c');
    expect(rotating).to.deep.include({
      client_secret: SECRET,
      client_secrets: [SECRET, `${SECRET}-old`],
      client_secret_hashes: [],
    });
    const hashedOnly = parseClient(
      {
        ...app(),
        client_secret: undefined,
        client_secret_hash: [hash, hash.replace('ln=10', 'ln=11')],
      },
      'c',
    );
    expect(hashedOnly).to.deep.include({
      client_secret: undefined,
      client_secrets: [],
      client_secret_hashes: [hash, hash.replace('ln=10', 'ln=11')],
    });
    const registry = new ClientRegistry([rotating, { ...hashedOnly, client_id: 'other' }]);
    expect(registry.update('app', { name: 'Renamed' })).to.deep.include({
      client_secrets: [SECRET, `${SECRET}-old`],
    });
    expect(
      registry.update('app', { client_secret: SECRET, client_secret_hash: hash }),
    ).to.deep.include({
      client_secret: SECRET,
      client_secrets: [SECRET],
      client_secret_hashes: [hash],
    });
    expect(registry.update('other', { name: 'Renamed' }).client_secret_hashes).to.have.length(2);
  });

  it('returns a deeply frozen copy and leaves the input alone', () => {
    const definition = app({
      token_endpoint_auth_method: 'client_secret_basic',
      jwks: { keys: [{ ...PUBLIC_JWK }] },
      client_metadata: { team: 'checkout' },
    });
    const client = parseClient(definition, 'c');
    expectFrozenClient(client);
    expect(Object.isFrozen(definition.jwks!.keys[0])).to.equal(false);
    definition.jwks!.keys[0]!.x = 'changed';
    definition.client_metadata!.team = 'changed';
    definition.token_exchange!.allow_any_profile_of_type!.push('other');
    expect(client.jwks!.keys[0]).to.deep.equal(PUBLIC_JWK);
    expect(client.client_metadata).to.deep.equal({ team: 'checkout' });
    expect(client.allow_any_profile_of_type).to.deep.equal(['custom_authentication']);
  });

  const refusals: Array<[string, unknown, string]> = [
    ['not an object', 'app', 'client must be a plain object'],
    ['an unknown property', { ...app(), colour: 'red' }, 'client.colour is not a known property'],
    ['no client_id', { name: 'App' }, 'client.client_id must be a string'],
    [
      'a client_id over 128 characters',
      app({ client_id: 'x'.repeat(129) }),
      'client.client_id must be 1–128 characters long',
    ],
    [
      'an unknown auth method',
      app({ token_endpoint_auth_method: 'tls_client_auth' as never }),
      'client.token_endpoint_auth_method must be one of client_secret_basic, client_secret_post, private_key_jwt, none',
    ],
    [
      'client_secret_basic without a secret',
      { client_id: 'app', name: 'App', token_endpoint_auth_method: 'client_secret_basic' },
      'client.client_secret (or client_secret_hash) is required for token_endpoint_auth_method client_secret_basic',
    ],
    [
      'three secrets',
      app({
        client_secret: [SECRET, `${SECRET}2`],
        client_secret_hash: `$scrypt$ln=10,r=8,p=1$c2FsdHNhbHRzYWx0c2FsdA$${'A'.repeat(43)}`,
      }),
      'client.client_secret and client_secret_hash hold 3 secrets; at most 2 (the current one and the previous one during a rotation)',
    ],
    [
      'an empty list of secrets',
      app({ client_secret: [] }),
      'client.client_secret must not be an empty array',
    ],
    [
      'a short secret in a list',
      app({ client_secret: [SECRET, 'short'] }),
      'client.client_secret[1] must be 16–512 characters long',
    ],
    [
      'a hash in another format',
      app({ client_secret_hash: 'sha256:abcdef' }),
      'client.client_secret_hash must be a scrypt hash "$scrypt$ln=<log2 N>,r=<r>,p=<p>$<salt>$<key>" (base64 without padding), as hashClientSecret() makes',
    ],
    [
      'HS256 with a hashed secret only',
      {
        client_id: 'app',
        name: 'App',
        client_secret_hash: `$scrypt$ln=10,r=8,p=1$c2FsdHNhbHRzYWx0c2FsdA$${'A'.repeat(43)}`,
        jwt_configuration: { alg: 'HS256' },
      },
      'client.jwt_configuration.alg HS256 needs a client_secret in clear to sign with (a client_secret_hash cannot sign)',
    ],
    [
      'private_key_jwt without jwks',
      { client_id: 'app', name: 'App', token_endpoint_auth_method: 'private_key_jwt' },
      'client.jwks must hold at least one public key for private_key_jwt',
    ],
    [
      'a private key in jwks',
      {
        client_id: 'app',
        name: 'App',
        token_endpoint_auth_method: 'private_key_jwt',
        jwks: { keys: [{ ...PUBLIC_JWK, d: 'private' }] },
      },
      'client.jwks.keys[0] must be a public key (it has private members)',
    ],
    ['jwks without keys', app({ jwks: {} as never }), 'client.jwks.keys must be an array'],
    [
      'HS256 without a secret',
      {
        client_id: 'spa',
        name: 'SPA',
        token_endpoint_auth_method: 'none',
        jwt_configuration: { alg: 'HS256' },
      },
      'client.jwt_configuration.alg HS256 needs a client_secret in clear to sign with (a client_secret_hash cannot sign)',
    ],
    [
      'an ID token lifetime over 30 days',
      app({ jwt_configuration: { lifetime_in_seconds: 2592001 } }),
      'client.jwt_configuration.lifetime_in_seconds must be an integer from 1 to 2592000',
    ],
    [
      'a profile type that is not a string',
      app({ token_exchange: { allow_any_profile_of_type: [1 as never] } }),
      'client.token_exchange.allow_any_profile_of_type[0] must be a string',
    ],
    [
      'a metadata value that is not a string',
      app({ client_metadata: { tier: true as never } }),
      'client.client_metadata.tier must be a string',
    ],
    [
      'a name over 255 characters',
      app({ name: 'n'.repeat(256) }),
      'client.name must be 1–255 characters long',
    ],
    [
      'an allowed origin with a path',
      app({ allowed_origins: ['https://app.example.com/'] }),
      'client.allowed_origins[0] must be an origin such as https://app.example.com',
    ],
    [
      'an allowed origin that is a bare wildcard',
      app({ allowed_origins: ['*'] }),
      'client.allowed_origins[0] must be an origin such as https://app.example.com',
    ],
    [
      'a web origin over plain http',
      app({ web_origins: ['https://ok.example.com', 'http://app.example.com'] }),
      'client.web_origins[1] must be https (http for localhost only)',
    ],
    [
      'allowed_origins that is not an array',
      app({ allowed_origins: 'https://app.example.com' as never }),
      'client.allowed_origins must be an array',
    ],
    [
      'a dpop_bound_access_tokens that is not a boolean',
      app({ dpop_bound_access_tokens: 'yes' as never }),
      'client.dpop_bound_access_tokens must be a boolean',
    ],
  ];
  for (const [title, input, message] of refusals) {
    it(`refuses ${title} with a TypeError naming the path`, () => {
      const err = thrown(() => parseClient(input, 'client'));
      expect(err).to.be.instanceOf(TypeError);
      expect((err as TypeError).message).to.equal(`customTokenExchange: ${message}`);
    });
  }
});

describe('ClientRegistry', () => {
  let seen: Client[];
  let registry: ClientRegistry;
  beforeEach(() => {
    seen = [];
    registry = new ClientRegistry([parseClient(app(), 'options.clients[0]')], (client) => {
      seen.push(client);
    });
  });

  it('starts with the initial clients, each shown to onChange', () => {
    expect(registry.list().map((c) => c.client_id)).to.deep.equal(['app']);
    expect(seen).to.deep.equal([registry.get('app')]);
    expect(registry.get('nobody')).to.equal(undefined);
    expect(new ClientRegistry().list()).to.deep.equal([]);
  });

  it('adds a client: parsed with defaults, frozen, shown to onChange before it is stored', () => {
    let storedWhenSeen: Client | undefined | null = null;
    const shown: Client[] = [];
    const watched = new ClientRegistry([], (client) => {
      storedWhenSeen = watched.get(client.client_id);
      shown.push(client);
    });
    const definition = app({ client_id: 'new-app', jwks: { keys: [{ ...PUBLIC_JWK }] } });
    const client = watched.add(definition);
    expect(storedWhenSeen).to.equal(undefined);
    expect(shown).to.deep.equal([client]);
    expect(watched.get('new-app')).to.equal(client);
    expect(watched.list()).to.deep.equal([client]);
    expect(client).to.deep.include({
      client_id: 'new-app',
      token_endpoint_auth_method: 'client_secret_post',
      id_token_alg: 'RS256',
      is_first_party: true,
    });
    expectFrozenClient(client);
    definition.jwks!.keys[0]!.kid = 'changed';
    expect(watched.get('new-app')!.jwks!.keys[0]!.kid).to.equal('client-key');
  });

  it('refuses a duplicate client_id with conflict and keeps the first', () => {
    const before = registry.get('app');
    expectManagementError(
      () => registry.add(app({ name: 'Impostor' })),
      'conflict',
      'client app already exists',
    );
    expect(registry.get('app')).to.equal(before);
    expect(seen).to.have.length(1);
  });

  it('refuses an invalid definition with invalid_body and a path-relative message', () => {
    expectManagementError(
      () => registry.add(app({ client_id: 'bad', token_endpoint_auth_method: 'basic' as never })),
      'invalid_body',
      'client.token_endpoint_auth_method must be one of client_secret_basic, client_secret_post, private_key_jwt, none',
    );
    expectManagementError(
      () => registry.add({ client_id: 'bad', name: 'Bad' }),
      'invalid_body',
      'client.client_secret (or client_secret_hash) is required for token_endpoint_auth_method client_secret_post',
    );
    expect(registry.get('bad')).to.equal(undefined);
    expect(seen).to.have.length(1);
  });

  it('stores nothing when onChange throws, and lets its error through', () => {
    class KeyMissing extends Error {}
    const refusing = new ClientRegistry([], (client) => {
      if (client.id_token_alg === 'PS256') throw new KeyMissing('no PS256 key');
    });
    const err = thrown(() => refusing.add(app({ jwt_configuration: { alg: 'PS256' } })));
    expect(err).to.be.instanceOf(KeyMissing);
    expect(refusing.get('app')).to.equal(undefined);
    refusing.add(app());
    expect(
      thrown(() => refusing.update('app', { jwt_configuration: { alg: 'PS256' } })),
    ).to.be.instanceOf(KeyMissing);
    expect(refusing.get('app')!.id_token_alg).to.equal('RS256');
  });

  it('updates the given fields, keeps the others, and shows the result to onChange', () => {
    const before = registry.add(
      app({
        client_id: 'jwt-app',
        token_endpoint_auth_method: 'private_key_jwt',
        jwks: { keys: [PUBLIC_JWK] },
        jwt_configuration: { alg: 'ES256', lifetime_in_seconds: 600 },
        client_metadata: { team: 'checkout' },
      }),
    );
    const updated = registry.update('jwt-app', { name: 'Renamed', client_secret: 'x'.repeat(16) });
    expect(updated).to.deep.equal({
      ...before,
      name: 'Renamed',
      client_secret: 'x'.repeat(16),
      client_secrets: ['x'.repeat(16)],
    });
    expect(registry.get('jwt-app')).to.equal(updated);
    expect(seen.at(-1)).to.equal(updated);
    expectFrozenClient(updated);
    // The earlier snapshot is untouched: handles hand out immutable values.
    expect(before.name).to.equal('App');
  });

  it('validates an update as a whole client, keeping the old one when it is refused', () => {
    const before = registry.get('app');
    expectManagementError(
      () => registry.update('app', { token_endpoint_auth_method: 'private_key_jwt' }),
      'invalid_body',
      'client.jwks must hold at least one public key for private_key_jwt',
    );
    expectManagementError(
      () => registry.update('app', { unknown: true } as never),
      'invalid_body',
      'client.unknown is not a known property',
    );
    expect(registry.get('app')).to.equal(before);
    expect(seen).to.have.length(1);
  });

  it('answers not_found for an unknown client on update and remove', () => {
    expectManagementError(
      () => registry.update('nobody', { name: 'x' }),
      'not_found',
      'client nobody does not exist',
    );
    expectManagementError(
      () => registry.remove('nobody'),
      'not_found',
      'client nobody does not exist',
    );
  });

  it('removes a client', () => {
    registry.add(app({ client_id: 'other' }));
    registry.remove('app');
    expect(registry.get('app')).to.equal(undefined);
    expect(registry.list().map((c) => c.client_id)).to.deep.equal(['other']);
    expectManagementError(() => registry.remove('app'), 'not_found', 'client app does not exist');
    // The id is free again.
    expect(registry.add(app()).client_id).to.equal('app');
  });

  it('lists copies of its index: changing the returned array changes nothing', () => {
    const list = registry.list();
    list.pop();
    expect(registry.list()).to.have.length(1);
    expect(Object.isFrozen(registry.list()[0])).to.equal(true);
  });
});
