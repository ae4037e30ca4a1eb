import type { Request } from 'express';
import type { Client } from '../registry/clients.js';
import { ClientAuthenticationStrategy, NO_CREDENTIALS } from './client-authentication-strategy.js';
import type { ClientLookup } from './client-lookup.js';
import { ClientAuthenticationFailed } from '../errors.js';
import { quoteForLog } from './quote-for-log.js';
import { assertFunction } from './option-checks.js';
import { presentedAuthMethods, readBodyParam } from './request-credentials.js';

/** Options of {@link PublicClientStrategy}. */
export interface PublicClientStrategyOptions {
  /** Resolves a client id to the registered client. */
  getClient: ClientLookup;
}

/**
 * Method `none`: a public client identifies itself with `client_id` in the body and presents no
 * credentials. Only a client registered with `token_endpoint_auth_method: 'none'` passes; a
 * confidential client that leaves its credentials out is `401 invalid_client` (RFC 6749 §5.2: "no
 * client authentication included"). Passport name: `none`.
 */
export class PublicClientStrategy extends ClientAuthenticationStrategy {
  /** Passport strategy name (the `token_endpoint_auth_method` it implements). */
  override name = 'none';
  private readonly getClient: ClientLookup;

  constructor(options: PublicClientStrategyOptions) {
    super();
    assertFunction(options.getClient, 'PublicClientStrategy: options.getClient');
    this.getClient = options.getClient;
  }

  protected override async evaluate(req: Request): Promise<Client | typeof NO_CREDENTIALS> {
    // Credentials of any other method mean this is not a public-client request; in a host's
    // strategy chain that must never fall back to `none` after the real method failed.
    if (presentedAuthMethods(req).length > 0) return NO_CREDENTIALS;
    const clientId = readBodyParam(req, 'client_id');
    if (clientId === undefined) return NO_CREDENTIALS;
    const client = await this.getClient(clientId);
    if (client === undefined) {
      throw new ClientAuthenticationFailed(`unknown client ${quoteForLog(clientId)} (none)`);
    }
    if (client.token_endpoint_auth_method !== 'none') {
      throw new ClientAuthenticationFailed(
        `client is registered for ${client.token_endpoint_auth_method} but sent no credentials`,
      );
    }
    return client;
  }
}
