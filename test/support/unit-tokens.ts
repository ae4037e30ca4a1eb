/** What the unit tests of the token minters share: one issuer and API, one access token's params. */
import { expect } from 'chai';
import type { AccessTokenParams } from '../../lib/tokens/access-token.js';
import type { KeySet } from '../../lib/tokens/key-set.js';
import { rejectionAs } from './rejections.js';

export const TOKEN_ISSUER = 'https://tenant.example/';
export const TOKEN_AUDIENCE = 'https://api.example/orders';

/** An ES256 access token for partner|42, issued at `now` to client-1 for the orders API. */
export function accessTokenParams(
  keys: KeySet,
  now: number,
  scope: string[],
  lifetime: number,
): AccessTokenParams {
  return {
    issuer: TOKEN_ISSUER,
    audience: TOKEN_AUDIENCE,
    subject: 'partner|42',
    clientId: 'client-1',
    scope,
    lifetime,
    alg: 'ES256',
    keys,
    now,
  };
}

/**
 * One test per claim: `mint`, given that claim as a custom claim, rejects with the error naming
 * it. The claims are read with JSON.parse, so "__proto__" is an own member, as a hook's JSON
 * result would have it.
 */
export function itRefusesCustomClaims(
  claims: readonly string[],
  mint: (extraClaims: Record<string, unknown>) => Promise<unknown>,
): void {
  for (const claim of claims) {
    it(`refuses a custom claim named ${claim}`, async () => {
      const extraClaims = JSON.parse(`{"${claim}": "forged"}`) as Record<string, unknown>;
      const error = await rejectionAs(mint(extraClaims), Error);
      expect(error.message).to.equal(`custom claims may not set the "${claim}" claim`);
    });
  }
}
