import { startHttpsServer } from '../support/https-server.js';
import type { TestHttpsServer } from '../support/https-server.js';
import { API, testServer } from '../support/fixtures.js';
import type { TestServer } from '../support/fixtures.js';
import type { CustomTokenExchangeOptions } from '../../lib/index.js';

/** The fixture router over HTTPS at the root of `https://localhost:<port>`, its issuer's host. */
export interface InteropServer extends TestServer {
  https: TestHttpsServer;
  /** `https://localhost:<port>/`. */
  issuer: string;
  /** The HTTPS server's trusting fetch, typed for the clients' `customFetch` options. */
  clientFetch: (url: string, options: object) => Promise<Response>;
  close(): Promise<void>;
}

/** The introspection credentials the fixture's Orders API is given. */
export const ORDERS_API_CLIENT = {
  client_id: 'orders-api',
  client_secret: 'orders-api-secret-0123',
};

/**
 * Starts the HTTPS server, then the router with that server's origin as its issuer (the port is
 * only known once the server listens). The Orders API allows offline access and introspects with
 * {@link ORDERS_API_CLIENT}.
 */
export async function startInteropServer(
  overrides: Partial<CustomTokenExchangeOptions> = {},
): Promise<InteropServer> {
  const https = await startHttpsServer();
  const issuer = `${https.origin}/`;
  const server = await testServer({ issuer, ...overrides });
  await server.cte.resourceServers.update(API, {
    allow_offline_access: true,
    introspection: ORDERS_API_CLIENT,
  });
  https.use(server.app);
  return {
    ...server,
    https,
    issuer,
    clientFetch: (url, options) => https.fetch(url, options),
    async close() {
      await https.close();
      await server.cte.close();
    },
  };
}
