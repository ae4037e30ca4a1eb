import { expect } from 'chai';
import passport from 'passport';
import request from 'supertest';
import express from 'express';
import {
  ManagementError,
  MemoryKeyStore,
  MemoryLogSink,
  MemoryRefreshTokenStore,
  MemoryReplayStore,
  customTokenExchange,
} from '../lib/index.js';
import type {
  ClientDefinition,
  CustomTokenExchangeOptions,
  CustomTokenExchangeRouter,
  UserStore,
} from '../lib/index.js';
import type { SigningKeyInput } from '../lib/tokens/key-set.js';
import {
  API,
  ISSUER,
  RS_API,
  SECRET,
  clientAssertionKeys,
  testSigningKeys,
} from './support/fixtures.js';
import { RESOURCE_SERVER_DEFAULTS, CLIENT_DEFAULTS } from './support/auth0-defaults.js';

type Options = Record<string, unknown>;

/** What a wrong option must do: throw a TypeError whose whole message names the option path. */
function expectOptionError(options: unknown, message: string): void {
  let error: unknown;
  try {
    customTokenExchange(options as CustomTokenExchangeOptions);
  } catch (err) {
    error = err;
  }
  expect(error, 'construction should throw').to.be.instanceOf(TypeError);
  expect((error as TypeError).message).to.equal(`customTokenExchange: ${message}`);
}

const APP = {
  client_id: 'app',
  client_secret: SECRET,
  name: 'App',
  token_exchange: { allow_any_profile_of_type: ['custom_authentication'] },
};
const ORDERS_API = { identifier: API, scopes: [{ value: 'read:orders' }] };

/** A second client, at index 1, so each message also proves the index is right. */
const client = (fields: Options): Options[] => [
  APP,
  { client_id: 'app2', name: 'App 2', ...fields },
];
const server = (fields: Options): Options[] => [ORDERS_API, { identifier: RS_API, ...fields }];

const userStore = {
  getById: () => undefined,
  getByIdentity: () => undefined,
  create: () => ({}),
  update: () => ({}),
};
const hostPassport = new passport.Passport();

interface Case {
  /** What is wrong. */
  title: string;
  /** Top-level overrides of the valid options; `undefined` removes the option. */
  change: Options;
  /** The message after `customTokenExchange: `. */
  message: string;
}

const HTTPS_ONLY = 'must be an https URL (http is accepted for localhost only)';

const CASES: Record<string, Case[]> = {
  options: [
    {
      title: 'an unknown top-level option',
      change: { audience: API },
      message: 'options.audience is not a known property',
    },
  ],
  issuer: [
    { title: 'missing', change: { issuer: undefined }, message: 'options.issuer must be a string' },
    { title: 'not a string', change: { issuer: 42 }, message: 'options.issuer must be a string' },
    {
      title: 'empty',
      change: { issuer: '' },
      message: 'options.issuer must be 1–2048 characters long',
    },
    {
      title: 'not a URL',
      change: { issuer: 'auth.example.com' },
      message: 'options.issuer must be an absolute URL',
    },
    {
      title: 'http on a non-loopback host',
      change: { issuer: 'http://auth.example.com/' },
      message: `options.issuer ${HTTPS_ONLY}`,
    },
    {
      title: 'another scheme on a loopback host',
      change: { issuer: 'ftp://localhost/' },
      message: `options.issuer ${HTTPS_ONLY}`,
    },
    {
      title: 'with a query',
      change: { issuer: 'https://auth.example.com/?tenant=a' },
      message: 'options.issuer must not have a query or fragment',
    },
    {
      title: 'with a fragment',
      change: { issuer: 'https://auth.example.com/#top' },
      message: 'options.issuer must not have a query or fragment',
    },
    {
      title: 'with an empty query',
      change: { issuer: 'https://auth.example.com/?' },
      message: 'options.issuer must not have a query or fragment',
    },
    {
      title: 'with an empty fragment',
      change: { issuer: 'https://auth.example.com/#' },
      message: 'options.issuer must not have a query or fragment',
    },
    {
      title: 'with credentials',
      change: { issuer: 'https://u:p@auth.example.com/' },
      message: 'options.issuer must not carry credentials',
    },
  ],
  clients: [
    {
      title: 'missing',
      change: { clients: undefined },
      message:
        'options.clients must be an array of client definitions or a ClientStore (an object with get(client_id))',
    },
    {
      title: 'not an array',
      change: { clients: APP },
      message:
        'options.clients must be an array of client definitions or a ClientStore (an object with get(client_id))',
    },
    {
      title: 'an entry that is not an object',
      change: { clients: [APP, 'app2'] },
      message: 'options.clients[1] must be a plain object',
    },
    {
      title: 'a duplicate client_id',
      change: { clients: client({ client_id: 'app', client_secret: SECRET }) },
      message: 'options.clients[1].client_id duplicates "app"',
    },
    {
      title: 'a missing client_id',
      change: { clients: client({ client_id: undefined, client_secret: SECRET }) },
      message: 'options.clients[1].client_id must be a string',
    },
    {
      title: 'a missing name',
      change: { clients: client({ name: undefined, client_secret: SECRET }) },
      message: 'options.clients[1].name must be a string',
    },
    {
      title: 'an unknown property',
      change: { clients: client({ client_secret: SECRET, colour: 'red' }) },
      message: 'options.clients[1].colour is not a known property',
    },
    {
      title: 'an unknown token_endpoint_auth_method',
      change: {
        clients: client({ client_secret: SECRET, token_endpoint_auth_method: 'client_secret_jwt' }),
      },
      message:
        'options.clients[1].token_endpoint_auth_method must be one of client_secret_basic, ' +
        'client_secret_post, private_key_jwt, none',
    },
    {
      title: 'client_secret_basic without a secret',
      change: { clients: client({ token_endpoint_auth_method: 'client_secret_basic' }) },
      message:
        'options.clients[1].client_secret (or client_secret_hash) is required for token_endpoint_auth_method client_secret_basic',
    },
    {
      title: 'the default client_secret_post without a secret',
      change: { clients: client({}) },
      message:
        'options.clients[1].client_secret (or client_secret_hash) is required for token_endpoint_auth_method client_secret_post',
    },
    {
      title: 'a secret shorter than 16 characters',
      change: { clients: client({ client_secret: 'x'.repeat(15) }) },
      message: 'options.clients[1].client_secret must be 16–512 characters long',
    },
    {
      title: 'private_key_jwt without jwks',
      change: { clients: client({ token_endpoint_auth_method: 'private_key_jwt' }) },
      message: 'options.clients[1].jwks must hold at least one public key for private_key_jwt',
    },
    {
      title: 'private_key_jwt with an empty jwks',
      change: {
        clients: client({ token_endpoint_auth_method: 'private_key_jwt', jwks: { keys: [] } }),
      },
      message: 'options.clients[1].jwks must hold at least one public key for private_key_jwt',
    },
    {
      title: 'jwks that is not a JWKS',
      change: {
        clients: client({ token_endpoint_auth_method: 'private_key_jwt', jwks: [{ kty: 'EC' }] }),
      },
      message: 'options.clients[1].jwks must be a plain object',
    },
    {
      title: 'a jwks key without kty',
      change: {
        clients: client({ token_endpoint_auth_method: 'private_key_jwt', jwks: { keys: [{}] } }),
      },
      message: 'options.clients[1].jwks.keys[0].kty must be one of RSA, EC, OKP',
    },
    {
      title: 'a jwks key that is not a valid public key',
      change: {
        clients: client({
          token_endpoint_auth_method: 'private_key_jwt',
          jwks: { keys: [{ kty: 'EC', crv: 'P-256', x: 'AAAA', y: 'AAAA' }] },
        }),
      },
      message: 'options.clients[1].jwks.keys[0] is not a valid public JWK',
    },
    {
      title: 'an RSA key with private CRT members but no d',
      change: {
        clients: client({
          token_endpoint_auth_method: 'private_key_jwt',
          jwks: { keys: [{ kty: 'RSA', n: 'AQAB', e: 'AQAB', p: 'AQAB', q: 'AQAB' }] },
        }),
      },
      message: 'options.clients[1].jwks.keys[0] must be a public key (it has private members)',
    },
    {
      title: 'a typo inside jwt_configuration',
      change: {
        clients: client({ client_secret: SECRET, jwt_configuration: { algorithm: 'HS256' } }),
      },
      message: 'options.clients[1].jwt_configuration.algorithm is not a known property',
    },
    {
      title: 'a typo inside token_exchange',
      change: {
        clients: client({
          client_secret: SECRET,
          token_exchange: { allow_any_profile_of_types: ['custom_authentication'] },
        }),
      },
      message:
        'options.clients[1].token_exchange.allow_any_profile_of_types is not a known property',
    },
    {
      title: 'more than 10 client_metadata keys',
      change: {
        clients: client({
          client_secret: SECRET,
          client_metadata: Object.fromEntries(Array.from({ length: 11 }, (_, i) => [`k${i}`, 'v'])),
        }),
      },
      message: 'options.clients[1].client_metadata must have at most 10 keys',
    },
    {
      title: 'a symmetric key in jwks',
      change: {
        clients: client({
          token_endpoint_auth_method: 'private_key_jwt',
          jwks: { keys: [{ kty: 'oct', k: 'c2VjcmV0' }] },
        }),
      },
      message: 'options.clients[1].jwks.keys[0].kty must be one of RSA, EC, OKP',
    },
    {
      title: 'a bad jwt_configuration.alg',
      change: { clients: client({ client_secret: SECRET, jwt_configuration: { alg: 'none' } }) },
      message:
        'options.clients[1].jwt_configuration.alg must be one of RS256, PS256, ES256, EdDSA, HS256',
    },
    {
      title: 'HS256 ID tokens without a secret',
      change: {
        clients: client({
          token_endpoint_auth_method: 'none',
          jwt_configuration: { alg: 'HS256' },
        }),
      },
      message:
        'options.clients[1].jwt_configuration.alg HS256 needs a client_secret in clear to sign with (a client_secret_hash cannot sign)',
    },
    {
      title: 'an ID token lifetime of 0',
      change: {
        clients: client({ client_secret: SECRET, jwt_configuration: { lifetime_in_seconds: 0 } }),
      },
      message:
        'options.clients[1].jwt_configuration.lifetime_in_seconds must be an integer from 1 to 2592000',
    },
    {
      title: 'a non-boolean is_first_party',
      change: { clients: client({ client_secret: SECRET, is_first_party: 'yes' }) },
      message: 'options.clients[1].is_first_party must be a boolean',
    },
    {
      title: 'allow_any_profile_of_type given as a string',
      change: {
        clients: client({
          client_secret: SECRET,
          token_exchange: { allow_any_profile_of_type: 'custom_authentication' },
        }),
      },
      message: 'options.clients[1].token_exchange.allow_any_profile_of_type must be an array',
    },
    {
      title: 'a metadata value that is not a string',
      change: { clients: client({ client_secret: SECRET, client_metadata: { team: 42 } }) },
      message: 'options.clients[1].client_metadata.team must be a string',
    },
    {
      title: 'a metadata value longer than 255 characters',
      change: {
        clients: client({ client_secret: SECRET, client_metadata: { team: 'x'.repeat(256) } }),
      },
      message: 'options.clients[1].client_metadata.team must be 0–255 characters long',
    },
  ],
  resourceServers: [
    {
      title: 'missing',
      change: { resourceServers: undefined, defaultAudience: undefined },
      message: 'options.resourceServers must be an array',
    },
    {
      title: 'not an array',
      change: { resourceServers: ORDERS_API },
      message: 'options.resourceServers must be an array',
    },
    {
      title: 'a duplicate identifier',
      change: { resourceServers: [ORDERS_API, { identifier: API }] },
      message: `options.resourceServers[1].identifier duplicates "${API}"`,
    },
    {
      title: 'a missing identifier',
      change: { resourceServers: server({ identifier: undefined }) },
      message: 'options.resourceServers[1].identifier must be a string',
    },
    {
      title: 'an unknown property',
      change: { resourceServers: server({ audience: RS_API }) },
      message: 'options.resourceServers[1].audience is not a known property',
    },
    {
      title: 'a scope token with a space',
      change: { resourceServers: server({ scopes: [{ value: 'read orders' }] }) },
      message: 'options.resourceServers[1].scopes[0].value is not a valid scope token',
    },
    {
      title: 'a scope token with a double quote',
      change: { resourceServers: server({ scopes: [{ value: 'ok' }, { value: 'a"b' }] }) },
      message: 'options.resourceServers[1].scopes[1].value is not a valid scope token',
    },
    {
      title: 'a scope given as a string',
      change: { resourceServers: server({ scopes: ['read:stuff'] }) },
      message: 'options.resourceServers[1].scopes[0] must be a plain object',
    },
    {
      title: 'a scope with an unknown property',
      change: { resourceServers: server({ scopes: [{ value: 'a', permission: 'a' }] }) },
      message: 'options.resourceServers[1].scopes[0].permission is not a known property',
    },
    {
      title: 'a signing_alg the router cannot sign access tokens with',
      change: { resourceServers: server({ signing_alg: 'HS256' }) },
      message: 'options.resourceServers[1].signing_alg must be one of RS256, PS256, ES256, EdDSA',
    },
    {
      title: 'a token_lifetime of 0',
      change: { resourceServers: server({ token_lifetime: 0 }) },
      message: 'options.resourceServers[1].token_lifetime must be an integer from 1 to 2592000',
    },
    {
      title: 'a fractional token_lifetime',
      change: { resourceServers: server({ token_lifetime: 1.5 }) },
      message: 'options.resourceServers[1].token_lifetime must be an integer from 1 to 2592000',
    },
    {
      title: 'a token_lifetime given as a string',
      change: { resourceServers: server({ token_lifetime: '3600' }) },
      message: 'options.resourceServers[1].token_lifetime must be an integer from 1 to 2592000',
    },
    {
      title: 'a non-boolean allow_offline_access',
      change: { resourceServers: server({ allow_offline_access: 'true' }) },
      message: 'options.resourceServers[1].allow_offline_access must be a boolean',
    },
  ],
  clientGrants: [
    {
      title: 'a grant for an unknown client',
      change: { clientGrants: [{ client_id: 'ghost', audience: API, scope: [] }] },
      message: 'options.clientGrants[0].client_id must be the client_id of one of options.clients',
    },
    {
      title: 'a grant for an unknown API',
      change: {
        clientGrants: [{ client_id: 'app', audience: 'https://nowhere.example/', scope: [] }],
      },
      message:
        'options.clientGrants[0].audience must be the identifier of one of options.resourceServers',
    },
    {
      title: 'not an array',
      change: { clientGrants: { client_id: 'app', audience: API, scope: [] } },
      message: 'options.clientGrants must be an array',
    },
    {
      title: 'scope given as a string',
      change: { clientGrants: [{ client_id: 'app', audience: API, scope: 'read:orders' }] },
      message: 'options.clientGrants[0].scope must be an array',
    },
    {
      title: 'a missing audience',
      change: { clientGrants: [{ client_id: 'app', scope: [] }] },
      message: 'options.clientGrants[0].audience must be a string',
    },
    {
      title: 'an unknown property',
      change: {
        clientGrants: [
          { client_id: 'app', audience: API, scope: [] },
          { client_id: 'app', audience: RS_API, scopes: [] },
        ],
      },
      message: 'options.clientGrants[1].scopes is not a known property',
    },
  ],
  defaultAudience: [
    {
      title: 'not among the APIs',
      change: { defaultAudience: 'https://other.example.com/' },
      message: 'options.defaultAudience must be the identifier of one of options.resourceServers',
    },
    {
      title: 'not a string',
      change: { defaultAudience: 1 },
      message: 'options.defaultAudience must be a string',
    },
  ],
  organizations: [
    {
      title: 'an unknown property',
      change: { organizations: { names: true } },
      message: 'options.organizations.names is not a known property',
    },
    {
      title: 'a store missing a method',
      change: { organizations: { store: { get: () => undefined } } },
      message:
        'options.organizations.store.create must be a function (see the OrganizationStore interface)',
    },
    {
      title: 'allowNameInAuthenticationApi not a boolean',
      change: { organizations: { allowNameInAuthenticationApi: 'yes' } },
      message: 'options.organizations.allowNameInAuthenticationApi must be a boolean',
    },
    {
      title: "a client's organization_usage",
      change: { clients: client({ client_secret: SECRET, organization_usage: 'maybe' }) },
      message: 'options.clients[1].organization_usage must be one of deny, allow, require',
    },
  ],
  users: [
    {
      title: 'not an object',
      change: { users: 'db' },
      message: 'options.users must be a UserStore',
    },
    {
      title: 'missing a method',
      change: { users: { ...userStore, update: undefined } },
      message: 'options.users.update must be a function (see the UserStore interface)',
    },
  ],
  keys: [
    {
      title: 'an empty list',
      change: { keys: [] },
      message: 'options.keys must contain at least one key',
    },
  ],
  keyRotationGracePeriod: [
    {
      title: 'negative',
      change: { keyRotationGracePeriod: -1 },
      message: 'options.keyRotationGracePeriod must be an integer from 0 to 31536000',
    },
    {
      title: 'fractional',
      change: { keyRotationGracePeriod: 0.5 },
      message: 'options.keyRotationGracePeriod must be an integer from 0 to 31536000',
    },
  ],
  jwksMaxAge: [
    {
      title: 'above a day',
      change: { jwksMaxAge: 86401 },
      message: 'options.jwksMaxAge must be an integer from 0 to 86400',
    },
    {
      title: 'a string',
      change: { jwksMaxAge: '600' },
      message: 'options.jwksMaxAge must be an integer from 0 to 86400',
    },
  ],
  tenant: [
    {
      title: 'empty',
      change: { tenant: '' },
      message: 'options.tenant must be 1–128 characters long',
    },
  ],
  unknownSubjectTokenType: [
    {
      title: 'neither reject nor next',
      change: { unknownSubjectTokenType: 'pass' },
      message: 'options.unknownSubjectTokenType must be one of reject, next',
    },
  ],
  maxTokenLength: [
    {
      title: 'zero',
      change: { maxTokenLength: 0 },
      message: 'options.maxTokenLength must be an integer from 1 to 1048576',
    },
    {
      title: 'more than the body cap',
      change: { maxTokenLength: 1048577 },
      message: 'options.maxTokenLength must be an integer from 1 to 1048576',
    },
  ],
  maxExchangesInFlight: [
    {
      title: 'zero',
      change: { maxExchangesInFlight: 0 },
      message: 'options.maxExchangesInFlight must be an integer from 1 to 1000000',
    },
    {
      title: 'not an integer',
      change: { maxExchangesInFlight: 1.5 },
      message: 'options.maxExchangesInFlight must be an integer from 1 to 1000000',
    },
  ],
  maxExecutions: [
    {
      title: 'zero',
      change: { maxExecutions: 0 },
      message: 'options.maxExecutions must be an integer from 1 to 1000000',
    },
    {
      title: 'more than a million',
      change: { maxExecutions: 1_000_001 },
      message: 'options.maxExecutions must be an integer from 1 to 1000000',
    },
    {
      title: 'a string',
      change: { maxExecutions: '8' },
      message: 'options.maxExecutions must be an integer from 1 to 1000000',
    },
  ],
  urlencoded: [
    {
      title: 'not an object',
      change: { urlencoded: true },
      message: 'options.urlencoded must be a plain object',
    },
    {
      title: 'another body-parser option',
      change: { urlencoded: { extended: true, limit: '10mb' } },
      message: 'options.urlencoded.limit is not a known property',
    },
    {
      title: 'extended not a boolean',
      change: { urlencoded: { extended: 'true' } },
      message: 'options.urlencoded.extended must be a boolean',
    },
  ],
  tokenEndpoint: [
    {
      title: 'a relative URL',
      change: { tokenEndpoint: '/oauth/token' },
      message: 'options.tokenEndpoint must be an absolute URL',
    },
    {
      title: 'http on a non-loopback host',
      change: { tokenEndpoint: 'http://auth.example.com/oauth/token' },
      message: `options.tokenEndpoint ${HTTPS_ONLY}`,
    },
    {
      title: 'with a query',
      change: { tokenEndpoint: 'https://auth.example.com/oauth/token?x=1' },
      message: 'options.tokenEndpoint must not have a query or fragment',
    },
  ],
  clientAuthentication: [
    {
      title: 'not an object',
      change: { clientAuthentication: 'passport' },
      message: 'options.clientAuthentication must be a plain object',
    },
    {
      title: 'without a passport',
      change: { clientAuthentication: { strategies: ['basic'] } },
      message: 'options.clientAuthentication.passport must be a passport Authenticator',
    },
    {
      title: 'without strategies',
      change: { clientAuthentication: { passport: hostPassport } },
      message: 'options.clientAuthentication.strategies must be an array',
    },
    {
      title: 'with an empty strategy list',
      change: { clientAuthentication: { passport: hostPassport, strategies: [] } },
      message: 'options.clientAuthentication.strategies must name at least one strategy',
    },
    {
      title: 'with a strategy that is not a name',
      change: { clientAuthentication: { passport: hostPassport, strategies: ['basic', 7] } },
      message: 'options.clientAuthentication.strategies[1] must be a string',
    },
    {
      title: 'with an unknown property',
      change: {
        clientAuthentication: { passport: hostPassport, strategies: ['basic'], session: false },
      },
      message: 'options.clientAuthentication.session is not a known property',
    },
  ],
  logSinks: [
    {
      title: 'not an array',
      change: { logSinks: new MemoryLogSink() },
      message: 'options.logSinks must be an array',
    },
    {
      title: 'a sink without write()',
      change: { logSinks: [new MemoryLogSink(), { log: () => undefined }] },
      message: 'options.logSinks[1] must be a LogSink (an object with write(entry))',
    },
    {
      title: 'given under its old name, logs',
      change: { logs: [new MemoryLogSink()] },
      message: 'options.logs is now options.logSinks',
    },
  ],
  logger: [
    {
      title: 'not an object',
      change: { logger: 'pino' },
      message:
        'options.logger must be a logger with info, warn and error functions (pino, for one)',
    },
    {
      title: 'without error()',
      change: { logger: { info: () => undefined, warn: () => undefined } },
      message: 'options.logger.error must be a function (fields, message) => void, as pino has',
    },
  ],
  closeTimeoutMs: [
    {
      title: 'negative',
      change: { closeTimeoutMs: -1 },
      message: 'options.closeTimeoutMs must be an integer from 0 to 600000',
    },
    {
      title: 'not an integer',
      change: { closeTimeoutMs: 1.5 },
      message: 'options.closeTimeoutMs must be an integer from 0 to 600000',
    },
  ],
  logCapacity: [
    {
      title: '0',
      change: { logCapacity: 0 },
      message: 'options.logCapacity must be an integer from 1 to 1000000',
    },
  ],
  maxRefreshTokensPerUserAndClient: [
    {
      title: '0',
      change: { maxRefreshTokensPerUserAndClient: 0 },
      message: 'options.maxRefreshTokensPerUserAndClient must be an integer from 1 to 100000',
    },
  ],
  logCapacityBytes: [
    {
      title: 'less than one entry of the largest size',
      change: { logCapacityBytes: 32767 },
      message: 'options.logCapacityBytes must be an integer from 32768 to 1073741824',
    },
  ],
  stores: [
    {
      title: 'not an object',
      change: { stores: [] },
      message: 'options.stores must be a plain object',
    },
    {
      title: 'an unknown store',
      change: { stores: { sessions: {} } },
      message: 'options.stores.sessions is not a known property',
    },
    {
      title: 'a refresh token store without find()',
      change: { stores: { refreshTokens: {} } },
      message:
        'options.stores.refreshTokens.find must be a function (see the RefreshTokenStore interface)',
    },
    {
      title: 'a refresh token store that is not an object',
      change: { stores: { refreshTokens: null } },
      message: 'options.stores.refreshTokens must be a RefreshTokenStore',
    },
    {
      title: 'a replay store without consume()',
      change: { stores: { replay: {} } },
      message: 'options.stores.replay must be a ReplayStore (an object with consume(key, exp))',
    },
    {
      title: 'an action cache store without apply()',
      change: { stores: { actionCache: { load: async () => ({}) } } },
      message: 'options.stores.actionCache must be an ActionCacheStore (load and apply)',
    },
    {
      title: 'a key store without save()',
      change: { stores: { keys: { load: async () => ({ revision: 0, keys: [] }) } } },
      message: 'options.stores.keys must be a KeyStore (load and save)',
    },
    {
      title: 'development keys beside a shared replay store',
      change: { keys: undefined, stores: { replay: { consume: async () => true } } },
      message:
        'options.keys (or options.stores.keys) is required with a shared store ' +
        '(options.stores.replay): development keys generated at start differ on every instance ' +
        'and at every restart',
    },
    {
      title: 'development keys beside a shared attempt store',
      change: {
        keys: undefined,
        attackProtection: {
          suspiciousIpThrottling: {
            store: {
              peek: async () => ({}),
              take: async () => ({}),
              reserve: async () => ({}),
              release: async () => undefined,
              reset: async () => undefined,
            },
          },
        },
      },
      message:
        'options.keys (or options.stores.keys) is required with a shared store ' +
        '(options.attackProtection.suspiciousIpThrottling.store): development keys generated at ' +
        'start differ on every instance and at every restart',
    },
  ],
  clientCache: [
    {
      title: 'beside an array of clients',
      change: { clientCache: { ttlMs: 1000 } },
      message: 'options.clientCache applies to a ClientStore in options.clients, not to an array',
    },
    {
      title: 'with a TTL over a day, for a ClientStore',
      change: { clients: { get: async () => undefined }, clientCache: { ttlMs: 86_400_001 } },
      message: 'options.clientCache.ttlMs must be an integer from 0 to 86400000',
    },
  ],
  actionDefaults: [
    {
      title: 'not an object',
      change: { actionDefaults: 20000 },
      message: 'options.actionDefaults must be a plain object',
    },
    {
      title: 'a timeout of 0',
      change: { actionDefaults: { timeoutMs: 0 } },
      message: 'options.actionDefaults.timeoutMs must be an integer from 1 to 60000',
    },
    {
      title: 'less memory than isolated-vm accepts',
      change: { actionDefaults: { memoryMb: 4 } },
      message: 'options.actionDefaults.memoryMb must be an integer from 8 to 1024',
    },
    {
      title: 'an unknown limit',
      change: { actionDefaults: { timeout: 5 } },
      message: 'options.actionDefaults.timeout is not a known property',
    },
  ],
  sandbox: [
    {
      title: 'not a boolean',
      change: { sandbox: 'yes' },
      message: 'options.sandbox must be a boolean',
    },
  ],
};

describe('customTokenExchange(options): validation', () => {
  let keys: SigningKeyInput[];
  before(async () => {
    keys = await testSigningKeys();
  });

  /** Valid options with every required field, signing keys and the sandbox off. */
  function validOptions(change: Options = {}): Options {
    const options: Options = {
      issuer: ISSUER,
      keys,
      sandbox: false,
      clients: [APP],
      resourceServers: [ORDERS_API, { identifier: RS_API }],
      defaultAudience: API,
    };
    for (const [name, value] of Object.entries(change)) {
      if (value === undefined) delete options[name];
      else options[name] = value;
    }
    return options;
  }

  it('accepts the valid options the cases start from', async () => {
    const cte = customTokenExchange(validOptions() as unknown as CustomTokenExchangeOptions);
    expect((await cte.clients.list()).map((c) => c.client_id)).to.deep.equal(['app']);
  });

  it('refuses options that are not a plain object', () => {
    expectOptionError(undefined, 'options must be a plain object');
    expectOptionError(null, 'options must be a plain object');
    expectOptionError([validOptions()], 'options must be a plain object');
  });

  for (const [option, cases] of Object.entries(CASES)) {
    describe(option, () => {
      for (const { title, change, message } of cases) {
        it(`refuses ${title}: ${message}`, () => {
          expectOptionError(validOptions(change), message);
        });
      }
    });
  }

  it('refuses a private key in a client jwks', async () => {
    const { jwk } = await clientAssertionKeys();
    const privateKey = keys.find((key) => key.alg === 'ES256')!;
    expectOptionError(
      validOptions({
        clients: client({
          token_endpoint_auth_method: 'private_key_jwt',
          jwks: { keys: [jwk, privateKey] },
        }),
      }),
      'options.clients[1].jwks.keys[1] must be a public key (it has private members)',
    );
  });

  it('refuses an API whose signing_alg has no configured key, naming the option path', () => {
    const rs256Only = keys.filter((key) => key.alg === 'RS256');
    expectOptionError(
      validOptions({
        keys: rs256Only,
        resourceServers: [{ ...ORDERS_API, signing_alg: 'ES256' }],
      }),
      'options.resourceServers[0].signing_alg is ES256, but options.keys has no ES256 key',
    );
  });

  it('refuses a client whose ID-token alg has no configured key, naming the option path', () => {
    const rs256Only = keys.filter((key) => key.alg === 'RS256');
    expectOptionError(
      validOptions({
        keys: rs256Only,
        resourceServers: [{ ...ORDERS_API, signing_alg: 'RS256' }],
        clients: client({ client_secret: SECRET, jwt_configuration: { alg: 'PS256' } }),
      }),
      'options.clients[1].jwt_configuration.alg is PS256, but options.keys has no PS256 key',
    );
  });

  it('accepts every option with a valid value at once', async () => {
    const { jwk } = await clientAssertionKeys();
    const cte = customTokenExchange({
      issuer: 'http://localhost:3000/',
      clients: [
        APP,
        {
          client_id: 'jwt-app',
          name: 'JWT app',
          token_endpoint_auth_method: 'private_key_jwt',
          jwks: { keys: [jwk] },
          jwt_configuration: { alg: 'ES256', lifetime_in_seconds: 600 },
          client_metadata: { team: '' },
        },
      ],
      resourceServers: [
        ORDERS_API,
        { identifier: RS_API, signing_alg: 'EdDSA', token_lifetime: 2592000 },
      ],
      clientGrants: [{ client_id: 'app', audience: API, scope: ['read:orders'] }],
      defaultAudience: API,
      users: userStore as unknown as UserStore,
      keys: { keys },
      keyRotationGracePeriod: 0,
      jwksMaxAge: 0,
      tenant: 'acme',
      unknownSubjectTokenType: 'next',
      tokenEndpoint: 'https://auth.example.com/oauth/token',
      maxTokenLength: 1048576,
      maxExchangesInFlight: 1,
      maxExecutions: 1,
      urlencoded: { extended: true },
      clientAuthentication: { passport: hostPassport, strategies: ['basic'] },
      logSinks: [new MemoryLogSink()],
      logCapacity: 1,
      logCapacityBytes: 32768,
      maxRefreshTokensPerUserAndClient: 5,
      stores: {
        replay: { consume: async () => true },
        actionCache: { load: async () => ({}), apply: async () => undefined },
      },
      actionDefaults: { timeoutMs: 60000, cpuTimeMs: 1, memoryMb: 8, maxConcurrency: 1 },
      sandbox: false,
    });
    expect((await cte.clients.get('jwt-app')).jwt_configuration).to.deep.equal({
      alg: 'ES256',
      lifetime_in_seconds: 600,
    });
    expect(await cte.resourceServers.get(RS_API)).to.include({
      signing_alg: 'EdDSA',
      token_lifetime: 2592000,
    });
    expect(cte.users).to.equal(userStore);
    const res = await request(express().use(cte)).get('/.well-known/jwks.json').expect(200);
    expect(res.headers['cache-control']).to.equal('public, max-age=0');
  });
});

describe('customTokenExchange(options): clients when the host authenticates them', () => {
  it('accepts secret and private_key_jwt clients without client_secret or jwks', async () => {
    const cte = customTokenExchange({
      issuer: ISSUER,
      clients: [
        { client_id: 'basic', name: 'Basic', token_endpoint_auth_method: 'client_secret_basic' },
        { client_id: 'post', name: 'Post' },
        { client_id: 'jwt', name: 'JWT', token_endpoint_auth_method: 'private_key_jwt' },
      ],
      resourceServers: [ORDERS_API],
      keys: await testSigningKeys(),
      clientAuthentication: { passport: hostPassport, strategies: ['basic'] },
      sandbox: false,
    });
    expect((await cte.clients.list()).map((c) => c.client_id)).to.deep.equal([
      'basic',
      'post',
      'jwt',
    ]);
    await cte.close();
  });
});

describe('customTokenExchange(options): action limits by default', () => {
  it('gives an action 20 s wall clock, 100 ms CPU, 64 MB and 256 executions at once', async () => {
    const cte = customTokenExchange({
      issuer: ISSUER,
      clients: [APP],
      resourceServers: [ORDERS_API],
      keys: await testSigningKeys(),
      sandbox: false,
    });
    const action = await cte.actions.create({ name: 'defaults', handler: async () => {} });
    expect(action.limits).to.deep.equal({
      timeoutMs: 20_000,
      cpuTimeMs: 100,
      memoryMb: 64,
      maxConcurrency: 256,
    });
    await cte.close();
  });
});

describe('customTokenExchange(options): the caller’s object', () => {
  it('is neither mutated nor frozen, and later changes to it do not reach the router', async () => {
    const keys = await testSigningKeys();
    const { jwk } = await clientAssertionKeys();
    // Only plain data here, so structuredClone can take a faithful copy.
    const options: CustomTokenExchangeOptions = {
      issuer: ISSUER,
      clients: [
        {
          ...APP,
          client_metadata: { team: 'checkout' },
          jwt_configuration: { alg: 'PS256' },
        },
        {
          client_id: 'jwt-app',
          name: 'JWT app',
          token_endpoint_auth_method: 'private_key_jwt',
          jwks: { keys: [{ ...jwk }] },
        },
      ],
      resourceServers: [
        { ...ORDERS_API, scopes: [{ value: 'read:orders', description: 'Read orders' }] },
        { identifier: RS_API },
      ],
      clientGrants: [{ client_id: 'app', audience: API, scope: ['read:orders'] }],
      defaultAudience: API,
      keys: keys.map((key) => ({ ...key })),
      keyRotationGracePeriod: 60,
      jwksMaxAge: 30,
      tenant: 'acme',
      unknownSubjectTokenType: 'next',
      tokenEndpoint: 'https://auth.example.com/oauth/token',
      logSinks: [],
      logCapacity: 10,
      stores: {},
      actionDefaults: { timeoutMs: 1000 },
      sandbox: false,
    };
    const before = structuredClone(options);
    const clientList = options.clients as ClientDefinition[];

    const cte = customTokenExchange(options);

    expect(options).to.deep.equal(before);
    const nested = [
      options,
      options.clients,
      clientList[0],
      clientList[0]!.client_metadata,
      clientList[1]!.jwks,
      clientList[1]!.jwks!.keys[0],
      options.resourceServers[0]!.scopes,
      options.clientGrants![0]!.scope,
      (options.keys as SigningKeyInput[])[0],
      options.actionDefaults,
    ];
    nested.forEach((value, i) => expect(Object.isFrozen(value), `nested[${i}]`).to.equal(false));

    clientList[0]!.client_secret = 'changed-after-construction';
    clientList[0]!.client_metadata!.team = 'changed';
    clientList[1]!.jwks!.keys[0]!.x = 'changed';
    options.resourceServers[0]!.scopes!.push({ value: 'admin' });
    // The secret is write-only: the router still authenticates the client with the original one.
    const app = express().use(cte);
    const revokeAs = (secret: string) =>
      request(app)
        .post('/oauth/revoke')
        .type('form')
        .send({
          token: `cte_rt_${'A'.repeat(22)}.${'A'.repeat(43)}`,
          client_id: 'app',
          client_secret: secret,
        });
    expect((await revokeAs('changed-after-construction')).status).to.equal(401);
    expect((await revokeAs(SECRET)).status).to.equal(200);
    expect((await cte.clients.get('app')).client_metadata).to.deep.equal({ team: 'checkout' });
    expect((await cte.clients.get('jwt-app')).jwks!.keys[0]).to.deep.equal(jwk);
    expect((await cte.resourceServers.get(API)).scopes).to.deep.equal([{ value: 'read:orders' }]);
  });
});

describe('customTokenExchange(options): defaults', () => {
  const realWarn = console.warn;
  let warnings: unknown[][];
  beforeEach(() => {
    warnings = [];
    console.warn = (...args: unknown[]) => {
      warnings.push(args);
    };
  });
  afterEach(() => {
    console.warn = realWarn;
  });

  const minimal = (): CustomTokenExchangeOptions => ({
    issuer: ISSUER,
    clients: [{ client_id: 'app', client_secret: SECRET, name: 'App' }],
    resourceServers: [{ identifier: API }],
    sandbox: false,
  });

  it('applies Auth0’s client defaults, and shows the client without its secret', async () => {
    const cte = customTokenExchange(minimal());
    expect(await cte.clients.get('app')).to.deep.equal({
      client_id: 'app',
      name: 'App',
      is_first_party: true,
      oidc_conformant: true,
      token_endpoint_auth_method: 'client_secret_post',
      jwt_configuration: { alg: 'RS256', lifetime_in_seconds: 36000 },
      token_exchange: { allow_any_profile_of_type: [] },
      ...CLIENT_DEFAULTS,
    });
  });

  it('applies Auth0’s resource server defaults', async () => {
    const cte = customTokenExchange(minimal());
    expect(await cte.resourceServers.get(API)).to.deep.equal({
      identifier: API,
      name: API,
      ...RESOURCE_SERVER_DEFAULTS,
    });
  });

  it('without keys, warns once through console.warn and publishes generated keys', async () => {
    const cte = customTokenExchange(minimal());
    expect(warnings).to.deep.equal([
      [
        'customTokenExchange: options.keys is absent; signing with generated development keys. ' +
          'Tokens will not verify after a restart or on another instance: configure options.keys.',
      ],
    ]);
    // RS256 (the default of both the client's ID tokens and the API) signs, its successor waits.
    const listed = await cte.keys.list();
    expect(listed.map(({ alg, status }) => ({ alg, status }))).to.deep.equal([
      { alg: 'RS256', status: 'current' },
      { alg: 'RS256', status: 'next' },
    ]);

    const res = await request(express().use(cte)).get('/.well-known/jwks.json').expect(200);
    expect(res.headers['cache-control']).to.equal('public, max-age=600');
    expect(res.body).to.deep.equal(await cte.keys.jwks());
    const served = res.body.keys as Array<Record<string, unknown>>;
    expect(served.map((key) => key.kid)).to.deep.equal(listed.map((key) => key.kid));
    for (const key of served) {
      expect(Object.keys(key).sort()).to.deep.equal(['alg', 'e', 'kid', 'kty', 'n', 'use']);
      expect(key).to.include({ kty: 'RSA', alg: 'RS256', use: 'sig' });
      expect(key.kid).to.match(/^[A-Za-z0-9_-]{43}$/);
    }

    // Generated keys belong to one router: another one gets its own.
    const other = customTokenExchange(minimal());
    const otherKids = (await other.keys.list()).map((key) => key.kid);
    expect(otherKids).to.have.length(2);
    expect(otherKids).not.to.include.members([listed[0]!.kid]);
  });

  it('generates a key for every alg a client or API signs with', async () => {
    const cte = customTokenExchange({
      ...minimal(),
      clients: [
        {
          client_id: 'app',
          client_secret: SECRET,
          name: 'App',
          jwt_configuration: { alg: 'EdDSA' },
        },
      ],
      resourceServers: [{ identifier: API, signing_alg: 'ES256' }],
    });
    const current = (await cte.keys.list())
      .filter((key) => key.status === 'current')
      .map((key) => key.alg);
    expect(current).to.have.members(['EdDSA', 'ES256']);
  });

  it('accepts development keys beside memory stores and a key store without keys', async () => {
    const withMemoryStores = customTokenExchange({
      ...minimal(),
      stores: {
        replay: new MemoryReplayStore(),
        refreshTokens: new MemoryRefreshTokenStore(),
      },
    });
    expect(warnings).to.have.length(1);
    expect((await withMemoryStores.keys.list()).map((key) => key.status)).to.deep.equal([
      'current',
      'next',
    ]);
    const withKeyStore = customTokenExchange({
      ...minimal(),
      stores: { keys: new MemoryKeyStore() },
    });
    // Keys made into a key store are not development keys: no second warning.
    expect(warnings).to.have.length(1);
    expect((await withKeyStore.keys.jwks()).keys).to.have.length(2);
    await withKeyStore.close();
  });

  it('with keys, prints no warning and publishes exactly those keys', async () => {
    const keys = await testSigningKeys();
    const cte = customTokenExchange({ ...minimal(), keys });
    expect(warnings).to.deep.equal([]);
    expect((await cte.keys.jwks()).keys.map((key) => key.kid)).to.deep.equal(
      keys.map((key) => key.kid),
    );
  });

  it('with keys and a key store, seeds the empty store with those keys', async () => {
    const keys = await testSigningKeys();
    const cte = customTokenExchange({ ...minimal(), keys, stores: { keys: new MemoryKeyStore() } });
    try {
      expect(warnings).to.deep.equal([]);
      expect((await cte.keys.list()).map((key) => [key.kid, key.status])).to.deep.equal(
        keys.map((key) => [key.kid, 'current']),
      );
    } finally {
      await cte.close();
    }
  });
});

describe('customTokenExchange(options): sandbox', () => {
  const CODE = 'exports.onExecuteCustomTokenExchange = async (event, api) => {};';
  let cte: CustomTokenExchangeRouter | undefined;
  afterEach(async () => {
    await cte?.close();
    cte = undefined;
  });

  it('runs code actions in isolated-vm by default', async () => {
    const keys = await testSigningKeys();
    cte = customTokenExchange({ issuer: ISSUER, clients: [], resourceServers: [], keys });
    const action = await cte.actions.create({ name: 'sandboxed', code: CODE });
    expect(action.runtime).to.equal('isolated-vm');
  });

  it('accepts only handler actions with sandbox: false', async () => {
    const keys = await testSigningKeys();
    cte = customTokenExchange({
      issuer: ISSUER,
      clients: [],
      resourceServers: [],
      keys,
      sandbox: false,
    });
    let error: unknown;
    try {
      await cte.actions.create({ name: 'sandboxed', code: CODE });
    } catch (err) {
      error = err;
    }
    expect(error).to.be.instanceOf(ManagementError);
    expect((error as ManagementError).code).to.equal('unsupported');
    const action = await cte.actions.create({ name: 'trusted', handler: async () => undefined });
    expect(action.runtime).to.equal('in-process');
  });
});
