import { expect } from 'chai';
import { customTokenExchange } from '../lib/index.js';
import type { CustomTokenExchangeOptions } from '../lib/index.js';
import { API, ISSUER, SECRET, testSigningKeys } from './support/fixtures.js';

/** A wrong option throws a TypeError whose whole message names the option path. */
function expectOptionError(extra: Record<string, unknown>, message: string): void {
  let error: unknown;
  try {
    customTokenExchange({ ...base(), ...extra } as CustomTokenExchangeOptions);
  } catch (err) {
    error = err;
  }
  expect(error, 'construction should throw').to.be.instanceOf(TypeError);
  expect((error as TypeError).message).to.equal(`customTokenExchange: ${message}`);
}

const base = (): CustomTokenExchangeOptions => ({
  issuer: ISSUER,
  sandbox: false,
  clients: [{ client_id: 'app', client_secret: SECRET, name: 'App' }],
  resourceServers: [{ identifier: API }],
});

describe('customTokenExchange(options): metadata, clientAssertions, dpop, stores.revokedTokens', () => {
  const realWarn = console.warn;
  beforeEach(() => {
    console.warn = () => undefined;
  });
  afterEach(() => {
    console.warn = realWarn;
  });

  const refusals: Array<[string, Record<string, unknown>, string]> = [
    [
      'metadata that is not an object',
      { metadata: true },
      'options.metadata must be a plain object',
    ],
    [
      'an unknown metadata option',
      { metadata: { routes: false } },
      'options.metadata.routes is not a known property',
    ],
    [
      'a metadata.serve that is not a boolean',
      { metadata: { serve: 'no' } },
      'options.metadata.serve must be a boolean',
    ],
    [
      'hostGrantTypes that is not an array',
      { metadata: { hostGrantTypes: 'password' } },
      'options.metadata.hostGrantTypes must be an array',
    ],
    [
      'an empty host grant type',
      { metadata: { hostGrantTypes: ['password', ''] } },
      'options.metadata.hostGrantTypes[1] must be 1–256 characters long',
    ],
    [
      'an unknown clientAssertions option',
      { clientAssertions: { audiences: [] } },
      'options.clientAssertions.audiences is not a known property',
    ],
    [
      'acceptEndpointUrlAudience that is not a boolean',
      { clientAssertions: { acceptEndpointUrlAudience: 1 } },
      'options.clientAssertions.acceptEndpointUrlAudience must be a boolean',
    ],
    [
      'an unknown dpop option',
      { dpop: { required: true } },
      'options.dpop.required is not a known property',
    ],
    [
      'a proofMaxAge of 0',
      { dpop: { proofMaxAge: 0 } },
      'options.dpop.proofMaxAge must be an integer from 1 to 3600',
    ],
    [
      'nonces without a secret',
      { dpop: { nonces: {} } },
      'options.dpop.nonces.secret must be a string',
    ],
    [
      'a short nonce secret',
      { dpop: { nonces: { secret: 'short' } } },
      'options.dpop.nonces.secret must be 32–1024 characters long',
    ],
    [
      'a nonce lifetime under 5 seconds',
      { dpop: { nonces: { secret: 'x'.repeat(32), lifetime: 1 } } },
      'options.dpop.nonces.lifetime must be an integer from 5 to 3600',
    ],
    [
      'a revokedTokens store without isRevoked',
      { stores: { revokedTokens: { revoke() {} } } },
      'options.stores.revokedTokens must be a RevokedTokenStore (revoke and isRevoked)',
    ],
  ];
  for (const [title, extra, message] of refusals) {
    it(`refuses ${title}`, () => expectOptionError(extra, message));
  }

  it('accepts every option at its documented shape', async () => {
    const cte = customTokenExchange({
      ...base(),
      // A store of one's own is shared between instances: they need keys of their own too.
      keys: await testSigningKeys(),
      metadata: { serve: true, hostGrantTypes: ['client_credentials'] },
      clientAssertions: { acceptEndpointUrlAudience: true },
      dpop: { proofMaxAge: 120, nonces: { secret: 'n'.repeat(32), lifetime: 30 } },
      stores: { revokedTokens: { revoke: async () => undefined, isRevoked: async () => false } },
    });
    expect(cte.metadata().grant_types_supported).to.include('client_credentials');
  });
});
