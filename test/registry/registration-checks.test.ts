import { expect } from 'chai';
import { customTokenExchange, ManagementError } from '../../lib/index.js';
import type { CustomTokenExchangeOptions } from '../../lib/index.js';
import { testSigningKeys } from '../support/fixtures.js';
import { recordingLogger } from '../support/recording-logger.js';
import type { LoggedRecord } from '../support/recording-logger.js';

const ISSUER = 'https://auth.example.com/';
const API = 'https://api.example.com/';
const SECRET = 'app-secret-0123456789abcdef';
const CTE = { allow_any_profile_of_type: ['custom_authentication'] };

describe('registration checks of clients and resource servers', () => {
  let records: LoggedRecord[];
  let warnings: string[];
  beforeEach(() => {
    records = [];
    warnings = [];
  });

  /** Options whose logger keeps the warnings: their messages in `warnings`, all in `records`. */
  async function options(
    overrides: Partial<CustomTokenExchangeOptions> = {},
  ): Promise<CustomTokenExchangeOptions> {
    const recording = recordingLogger();
    records = recording.records;
    const { logger } = recording;
    const keep = (fields: object, message: string) => {
      logger.warn(fields, message);
      warnings.push(message);
    };
    return {
      logger: { ...logger, warn: keep },
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
      expect(records.map(({ level, fields }) => ({ level, fields }))).to.deep.equal([
        { level: 'warn', fields: { component: 'registration' } },
        { level: 'warn', fields: { component: 'registration' } },
      ]);
    });

    it('warns when such a client is added or updated later', async () => {
      const cte = customTokenExchange(await options());
      expect(warnings).to.deep.equal([]);
      await cte.clients.create({
        client_id: 'ps',
        name: 'PS',
        client_secret: SECRET,
        token_exchange: CTE,
        jwt_configuration: { alg: 'PS256' },
      });
      await cte.clients.update('app', { jwt_configuration: { alg: 'ES256' } });
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
          logger: recordingLogger().logger,
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
          logger: recordingLogger().logger,
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
      const refusal = async (attempt: Promise<unknown>): Promise<ManagementError> =>
        attempt.then(
          () => {
            throw new Error('not refused');
          },
          (err: unknown) => err as ManagementError,
        );
      const client = await refusal(
        cte.clients.create({ client_id: 'orders-api', name: 'X', client_secret: SECRET }),
      );
      expect(client).to.be.instanceOf(ManagementError);
      expect(client).to.include({
        code: 'invalid_body',
        message: `client.client_id is the introspection client_id of resource server "${API}"`,
      });
      const api = await refusal(
        cte.resourceServers.create({
          identifier: 'https://other.example.com/',
          introspection: { client_id: 'app', client_secret: SECRET },
        }),
      );
      expect(api).to.include({
        code: 'invalid_body',
        message: 'resourceServer.introspection.client_id is the client_id of a client',
      });
      expect((await cte.clients.list()).map((c) => c.client_id)).to.deep.equal(['app']);
      expect((await cte.resourceServers.list()).map((r) => r.identifier)).to.deep.equal([API]);
      // The API keeps its own id, and its credentials, when it changes; the secret is not shown.
      const updated = await cte.resourceServers.update(API, { token_lifetime: 60 });
      expect(updated.introspection).to.deep.equal({
        client_id: 'orders-api',
        token_endpoint_auth_method: 'client_secret_basic',
      });
      expect(JSON.stringify(await cte.resourceServers.list())).not.to.include(
        introspection.client_secret,
      );
    });
  });
});
