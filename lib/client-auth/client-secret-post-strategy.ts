import type { Request } from 'express';
import { InvalidRequest, ClientAuthenticationFailed } from '../errors.js';
import type { Client } from '../registry/clients.js';
import { ClientAuthenticationStrategy, NO_CREDENTIALS } from './client-authentication-strategy.js';
import type { ClientLookup } from './client-lookup.js';
import { checkClientSecret } from './client-secret-check.js';
import { assertFunction } from './option-checks.js';
import { assertSingleAuthMethod, readBodyParam } from './request-credentials.js';

/** Options of {@link ClientSecretPostStrategy}. */
export interface ClientSecretPostStrategyOptions {
  /** Resolves a client id to the registered client. */
  getClient: ClientLookup;
}

/**
 * `client_secret_post` (RFC 6749 §2.3.1): `client_id` and `client_secret` in the form body.
 * A secret without `client_id` is `400 invalid_request`; credentials that do not authenticate
 * are `401 invalid_client`. Passport name: `client_secret_post`.
 */
export class ClientSecretPostStrategy extends ClientAuthenticationStrategy {
  /** Passport strategy name. */
  override name = 'client_secret_post';
  private readonly getClient: ClientLookup;

  constructor(options: ClientSecretPostStrategyOptions) {
    super();
    assertFunction(options.getClient, 'ClientSecretPostStrategy: options.getClient');
    this.getClient = options.getClient;
  }

  protected override async evaluate(req: Request): Promise<Client | typeof NO_CREDENTIALS> {
    const clientSecret = readBodyParam(req, 'client_secret');
    if (clientSecret === undefined) return NO_CREDENTIALS;
    assertSingleAuthMethod(req);
    const clientId = readBodyParam(req, 'client_id');
    // RFC 6749 §2.3.1 makes client_id REQUIRED alongside client_secret: a missing required
    // parameter is invalid_request (RFC 6749 §5.2), before any credential is looked at.
    if (clientId === undefined) {
      throw new InvalidRequest('client_id is required with client_secret.', {
        privateCause: 'client_secret_post without client_id',
      });
    }
    const check = await checkClientSecret(
      await this.getClient(clientId),
      clientId,
      clientSecret,
      'client_secret_post',
    );
    if (!check.ok) throw new ClientAuthenticationFailed(check.privateCause);
    return check.client;
  }
}
