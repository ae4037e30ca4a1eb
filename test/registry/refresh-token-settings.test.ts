import { expect } from 'chai';
import { customTokenExchange } from '../../lib/index.js';
import type { ClientDefinition } from '../../lib/index.js';
import {
  DEFAULT_REFRESH_TOKEN_SETTINGS,
  parseRefreshTokenSettings,
} from '../../lib/registry/refresh-token-settings.js';
import { API, ISSUER, SECRET, testSigningKeys } from '../support/fixtures.js';
import { REFRESH_TOKEN_DEFAULTS } from '../support/auth0-defaults.js';

describe('a client’s refresh_token settings (Auth0 fields)', () => {
  it('defaults to rotating, leeway 0, 30 days absolute and 15 days idle', () => {
    expect(parseRefreshTokenSettings(undefined, 'c.refresh_token')).to.deep.equal(
      REFRESH_TOKEN_DEFAULTS,
    );
    expect(parseRefreshTokenSettings({}, 'c.refresh_token')).to.deep.equal(
      DEFAULT_REFRESH_TOKEN_SETTINGS,
    );
  });

  it('keeps every given field', () => {
    expect(
      parseRefreshTokenSettings(
        {
          rotation_type: 'non-rotating',
          expiration_type: 'expiring',
          leeway: 10,
          token_lifetime: 86400,
          idle_token_lifetime: 3600,
          infinite_token_lifetime: false,
          infinite_idle_token_lifetime: true,
          policies: null,
        },
        'c.refresh_token',
      ),
    ).to.deep.equal({
      rotation_type: 'non-rotating',
      leeway: 10,
      token_lifetime: 86400,
      idle_token_lifetime: 3600,
      infinite_token_lifetime: false,
      infinite_idle_token_lifetime: true,
    });
  });

  it('caps the default idle lifetime at a shorter token_lifetime', () => {
    expect(parseRefreshTokenSettings({ token_lifetime: 600 }, 'c')).to.include({
      token_lifetime: 600,
      idle_token_lifetime: 600,
    });
  });

  it('reads expiration_type non-expiring as both infinite lifetimes, as Auth0 does', () => {
    expect(
      parseRefreshTokenSettings(
        { rotation_type: 'non-rotating', expiration_type: 'non-expiring' },
        'c',
      ),
    ).to.include({ infinite_token_lifetime: true, infinite_idle_token_lifetime: true });
  });

  const CASES: Array<[string, unknown, string]> = [
    ['not an object', 'rotating', 'refresh_token must be a plain object'],
    ['an unknown field', { rotate: true }, 'refresh_token.rotate is not a known property'],
    [
      'an unknown rotation_type',
      { rotation_type: 'sometimes' },
      'refresh_token.rotation_type must be one of rotating, non-rotating',
    ],
    [
      'an unknown expiration_type',
      { expiration_type: 'never' },
      'refresh_token.expiration_type must be one of expiring, non-expiring',
    ],
    [
      'a negative leeway',
      { leeway: -1 },
      'refresh_token.leeway must be an integer from 0 to 157788000',
    ],
    [
      'a fractional leeway',
      { leeway: 1.5 },
      'refresh_token.leeway must be an integer from 0 to 157788000',
    ],
    [
      'a token_lifetime of 0',
      { token_lifetime: 0 },
      'refresh_token.token_lifetime must be an integer from 1 to 157788000',
    ],
    [
      'a token_lifetime beyond five years',
      { token_lifetime: 157788001 },
      'refresh_token.token_lifetime must be an integer from 1 to 157788000',
    ],
    [
      'an idle_token_lifetime given as text',
      { idle_token_lifetime: '3600' },
      'refresh_token.idle_token_lifetime must be an integer from 1 to 157788000',
    ],
    [
      'an idle lifetime longer than the absolute one',
      { token_lifetime: 3600, idle_token_lifetime: 7200 },
      'refresh_token.idle_token_lifetime must not be longer than token_lifetime',
    ],
    [
      'a non-boolean infinite_token_lifetime',
      { infinite_token_lifetime: 'yes' },
      'refresh_token.infinite_token_lifetime must be a boolean',
    ],
    [
      'a non-boolean infinite_idle_token_lifetime',
      { infinite_idle_token_lifetime: 1 },
      'refresh_token.infinite_idle_token_lifetime must be a boolean',
    ],
    [
      'multi-resource refresh token policies',
      { policies: [{ audience: API, scope: [] }] },
      'refresh_token.policies is not supported (multi-resource refresh tokens): use null or []',
    ],
  ];
  for (const [title, value, message] of CASES) {
    it(`refuses ${title}, naming the option path`, async () => {
      const client: ClientDefinition = {
        client_id: 'app',
        client_secret: SECRET,
        name: 'App',
        refresh_token: value as NonNullable<ClientDefinition['refresh_token']>,
      };
      const keys = await testSigningKeys();
      expect(() =>
        customTokenExchange({
          issuer: ISSUER,
          keys,
          sandbox: false,
          clients: [client],
          resourceServers: [{ identifier: API }],
        }),
      ).to.throw(TypeError, `customTokenExchange: options.clients[0].${message}`);
    });
  }

  it('accepts an idle lifetime longer than token_lifetime when one of them is infinite', () => {
    expect(
      parseRefreshTokenSettings(
        { token_lifetime: 3600, idle_token_lifetime: 7200, infinite_token_lifetime: true },
        'c',
      ),
    ).to.include({ idle_token_lifetime: 7200, infinite_token_lifetime: true });
  });

  it('is kept, with its defaults, by the clients handle and replaced as a whole by update()', async () => {
    const cte = customTokenExchange({
      issuer: ISSUER,
      keys: await testSigningKeys(),
      sandbox: false,
      clients: [
        { client_id: 'app', client_secret: SECRET, name: 'App', refresh_token: { leeway: 5 } },
      ],
      resourceServers: [{ identifier: API }],
    });
    expect((await cte.clients.get('app')).refresh_token).to.deep.equal({
      ...DEFAULT_REFRESH_TOKEN_SETTINGS,
      leeway: 5,
    });
    const updated = await cte.clients.update('app', {
      refresh_token: { rotation_type: 'non-rotating' },
    });
    expect(updated.refresh_token).to.deep.equal({
      ...DEFAULT_REFRESH_TOKEN_SETTINGS,
      rotation_type: 'non-rotating',
    });
    const refused = await cte.clients.update('app', { refresh_token: { leeway: -2 } }).then(
      () => expect.fail('a negative leeway was accepted'),
      (err: unknown) => err,
    );
    expect(refused).to.have.property(
      'message',
      'client.refresh_token.leeway must be an integer from 0 to 157788000',
    );
    await cte.close();
  });
});
