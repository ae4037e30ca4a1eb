/**
 * The plumbing the use-case examples share: the router's signing key, and a clean shutdown.
 */
import type { Server } from 'node:http';
import { exportJWK, generateKeyPair } from 'jose';
import type { CustomTokenExchangeOptions, CustomTokenExchangeRouter } from '../../lib/index.js';

/** One ES256 signing key for the router, generated at start (tokens do not survive a restart). */
export async function generateSigningKeys(): Promise<
  NonNullable<CustomTokenExchangeOptions['keys']>
> {
  const { privateKey } = await generateKeyPair('ES256', { extractable: true });
  return [{ ...(await exportJWK(privateKey)), kid: 'router-es256-1', alg: 'ES256' }];
}

/** On SIGINT or SIGTERM: stop accepting connections, close idle ones, flush the router's logs. */
export function stopOnSignal(server: Server, cte: CustomTokenExchangeRouter): void {
  const stop = (): void => {
    server.close();
    server.closeIdleConnections();
    void cte.close();
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}
