import { UnauthorizedClient } from '../errors.js';
import type { ProfileType } from '../profiles/profile.js';
import type { Client } from '../registry/clients.js';

/**
 * Auth0's rules for a client using custom token exchange, whatever the grant that follows from
 * one (a refresh token it issued included): first party, OIDC conformant, and allowed profiles of
 * `profileType`. Anything else is `400 unauthorized_client`.
 */
export function checkClientMayExchange(client: Client, profileType: ProfileType): void {
  if (!client.is_first_party) {
    throw new UnauthorizedClient('third-party clients cannot use token exchange');
  }
  if (!client.oidc_conformant) {
    throw new UnauthorizedClient('the client must be OIDC conformant to use token exchange');
  }
  if (!client.allow_any_profile_of_type.includes(profileType)) {
    throw new UnauthorizedClient('the client is not allowed to use custom token exchange');
  }
}
