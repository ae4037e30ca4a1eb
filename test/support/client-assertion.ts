import { randomUUID } from 'node:crypto';
import { SignJWT, UnsecuredJWT } from 'jose';
import type { JWTPayload } from 'jose';
import { ISSUER, SECRET, clientAssertionKeys } from './fixtures.js';

/** RFC 7523 §2.2 `client_assertion_type`. */
export const JWT_BEARER = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

/** The fixture router's token endpoint URL, the other accepted assertion `aud`. */
export const TOKEN_ENDPOINT = `${ISSUER}oauth/token`;

export interface AssertionOptions {
  /** Claims set over the defaults (`iss` = `sub` = `jwt-app`, `aud` = issuer, fresh `jti`, ...). */
  claims?: JWTPayload;
  /** Default claims to leave out. */
  omit?: Array<'iss' | 'sub' | 'aud' | 'exp' | 'iat' | 'jti'>;
  /**
   * `ES256` (default) signs with the `jwt-app` key of `clientAssertionKeys()`; `HS256` signs
   * with the fixture's shared `SECRET`; `none` makes an unsecured JWT.
   */
  alg?: 'ES256' | 'HS256' | 'none';
}

/** A `private_key_jwt` client assertion of the fixture's `jwt-app` client. */
export async function clientAssertion(options: AssertionOptions = {}): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  const payload: JWTPayload = {
    iss: 'jwt-app',
    sub: 'jwt-app',
    aud: ISSUER,
    iat: now,
    exp: now + 60,
    jti: randomUUID(),
    ...options.claims,
  };
  for (const claim of options.omit ?? []) delete payload[claim];
  const alg = options.alg ?? 'ES256';
  if (alg === 'none') return new UnsecuredJWT(payload).encode();
  if (alg === 'HS256') {
    return new SignJWT(payload)
      .setProtectedHeader({ alg: 'HS256' })
      .sign(new TextEncoder().encode(SECRET));
  }
  const { privateKey } = await clientAssertionKeys();
  return new SignJWT(payload).setProtectedHeader({ alg, kid: 'client-key' }).sign(privateKey);
}

/** The body parameters carrying an assertion. */
export function assertionParams(assertion: string): Record<string, string> {
  return { client_assertion_type: JWT_BEARER, client_assertion: assertion };
}
