/**
 * The JWS algorithms accepted where a public key verifies: client assertions (`private_key_jwt`)
 * and actions' `jwtVerify` with an asymmetric key. Never `none`, never HS*: with a confused
 * verifier a public key would become an HMAC secret anyone holds (RFC 8725 section 2.1, section 3.1).
 */
export const ASYMMETRIC_ALGORITHMS: readonly string[] = Object.freeze([
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
  'Ed25519',
]);
