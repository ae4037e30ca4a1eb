import { expect } from 'chai';
import { customTokenExchange, ManagementError } from '../../lib/index.js';
import type { CustomTokenExchangeOptions } from '../../lib/index.js';
import { testSigningKeys } from '../support/fixtures.js';

const ISSUER = 'https://auth.example.com/';
const API = 'https://api.example.com/';
const SECRET = 'app-secret-0123456789abcdef';
const CTE = { allow_any_profile_of_type: ['custom_authentication'] };

describe('registration checks of clients and resource servers', () => {
  const realWarn = console.warn;
  let warnings: string[];
  beforeEach(() => {
    warnings = [];
    console.warn = (...args: unknown[]) => {
      warnings.push(args.map(String).join(' '));
    };
  });
  afterEach(() => {
    console.warn = realWarn;
  });

  async function options(
    overrides: Partial<CustomTokenExchangeOptions> = {},
  ): Promise<CustomTokenExchangeOptions> {
    return {
      issuer: ISSUER,
      keys: await testSigningKeys(),
      sandbox: false,
      clients: [{ client_id: 'app', client_secret: SECRET, name: 'App', token_exchange: CTE }],
      resourceServers: [{ identifier: API, allow_offline_access: true }],
      ...overrides,
    };
  }

  describe('the auth0 SDK’s ID token algorithms', () => {
    const warning = (path: string, clientId: string, alg: string) =>
      `customTokenExchange: ${path} (client "${clientId}") signs ID tokens with ${alg} and can ` +
      'receive refresh tokens. The auth0 SDK validates only RS256 and HS256 ID tokens: its ' +
      'refreshTokenGrant throws after the refresh token was rotated, and retrying with the old ' +
      'token revokes the whole family. Use RS256 for clients that refresh through the auth0 SDK.';

    it('warns at construction for a client signing ES256 or EdDSA ID tokens that can get refresh tokens', async () => {
      customTokenExchange(
        await options({
          clients: [
            {
              client_id: 'es',
              name: 'ES',
              client_secret: SECRET,
              token_exchange: CTE,
              jwt_configuration: { alg: 'ES256' },
            },
            { client_id: 'rs', name: 'RS', client_secret: SECRET, token_exchange: CTE },
            {
              client_id: 'hs',
              name: 'HS',
              client_secret: SECRET,
              token_exchange: CTE,
              jwt_configuration: { alg: 'HS256' },
            },
            {
              client_id: 'ed',
              name: 'Ed',
              client_secret: SECRET,
              token_exchange: CTE,
              jwt_configuration: { alg: 'EdDSA' },
            },
          ],
        }),
      );
      expect(warnings).to.deep.equal([
        warning('options.clients[0]', 'es', 'ES256'),
        warning('options.clients[3]', 'ed', 'EdDSA'),
      ]);
    });

    it('warns when such a client is added or updated later', async () => {
      const cte = customTokenExchange(await options());
      expect(warnings).to.deep.equal([]);
      cte.clients.add({
        client_id: 'ps',
        name: 'PS',
        client_secret: SECRET,
        token_exchange: CTE,
        jwt_configuration: { alg: 'PS256' },
      });
      cte.clients.update('app', { jwt_configuration: { alg: 'ES256' } });
      expect(warnings).to.deep.equal([
        warning('client', 'ps', 'PS256'),
        warning('client', 'app', 'ES256'),
      ]);
    });

    it('stays silent when the client cannot get refresh tokens', async () => {
      const es = { jwt_configuration: { alg: 'ES256' as const } };
      // No API allows offline access.
      customTokenExchange(
        await options({
          clients: [
            { client_id: 'a', name: 'A', client_secret: SECRET, token_exchange: CTE, ...es },
          ],
          resourceServers: [{ identifier: API }],
        }),
      );
      // Not enabled for token exchange.
      customTokenExchange(
        await options({ clients: [{ client_id: 'b', name: 'B', client_secret: SECRET, ...es }] }),
      );
      // Its client grants name no API with offline access.
      customTokenExchange(
        await options({
          clients: [
            { client_id: 'c', name: 'C', client_secret: SECRET, token_exchange: CTE, ...es },
          ],
          resourceServers: [
            { identifier: API, allow_offline_access: true },
            { identifier: 'https://other.example.com/' },
          ],
          clientGrants: [{ client_id: 'c', audience: 'https://other.example.com/', scope: [] }],
        }),
      );
      expect(warnings).to.deep.equal([]);
    });
  });

  describe('introspection client ids', () => {
    const introspection = { client_id: 'orders-api', client_secret: 'orders-api-secret-123' };

    it('refuses at construction an API whose introspection client_id is a client’s or another API’s', async () => {
      expect(() =>
        customTokenExchange({
          issuer: ISSUER,
          sandbox: false,
          clients: [{ client_id: 'orders-api', client_secret: SECRET, name: 'App' }],
          resourceServers: [{ identifier: API, introspection }],
        }),
      ).to.throw(
        TypeError,
        `customTokenExchange: options.clients[0].client_id is the introspection client_id of resource server "${API}"`,
      );
      expect(() =>
        customTokenExchange({
          issuer: ISSUER,
          sandbox: false,
          clients: [],
          resourceServers: [
            { identifier: API, introspection },
            { identifier: 'https://other.example.com/', introspection },
          ],
        }),
      ).to.throw(
        TypeError,
        `customTokenExchange: options.resourceServers[0].introspection.client_id is the introspection client_id of resource server "https://other.example.com/"`,
      );
    });

    it('refuses later a client or an API that would take an id in use', async () => {
      const cte = customTokenExchange(
        await options({ resourceServers: [{ identifier: API, introspection }] }),
      );
      const refusal = (run: () => unknown): ManagementError => {
        try {
          run();
        } catch (err) {
          return err as ManagementError;
        }
        throw new Error('not refused');
      };
      const client = refusal(() =>
        cte.clients.add({ client_id: 'orders-api', name: 'X', client_secret: SECRET }),
      );
      expect(client).to.be.instanceOf(ManagementError);
      expect(client).to.include({
        code: 'invalid_body',
        message: `client.client_id is the introspection client_id of resource server "${API}"`,
      });
      const api = refusal(() =>
        cte.resourceServers.add({
          identifier: 'https://other.example.com/',
          introspection: { client_id: 'app', client_secret: SECRET },
        }),
      );
      expect(api).to.include({
        code: 'invalid_body',
        message: 'resourceServer.introspection.client_id is the client_id of a client',
      });
      expect(cte.clients.get('orders-api')).to.equal(undefined);
      expect(cte.resourceServers.get('https://other.example.com/')).to.equal(undefined);
      // The API keeps its own id when it changes.
      cte.resourceServers.update(API, { token_lifetime: 60 });
    });
  });
});
