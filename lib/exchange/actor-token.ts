import crypto from 'node:crypto';
import { toEventUser } from '../actions/event-user.js';
import type { ActorTokenUser } from '../sandbox/action-types.js';
import { InvalidRequest } from '../errors.js';
import type { Client } from '../registry/clients.js';
import { verifyJwsSignature } from '../tokens/jws.js';
import type { KeySet } from '../tokens/key-set.js';
import { SIGNING_ALGS } from '../tokens/key-set.js';
import type { UserStore } from '../users/user-store.js';

/** The `actor_token_type` of an ID token (RFC 8693 section 3): the router verifies such actor tokens. */
export const ID_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:id_token';

/**
 * The `error_description` of every refused ID-token actor token. One text for every reason, so a
 * caller probing with forged or borrowed tokens learns nothing about which check failed; the
 * reason goes to the log's `details.cause`.
 */
export const INVALID_ACTOR_TOKEN_DESCRIPTION =
  'actor_token is not a valid, unexpired ID token issued to this client for an active user';

/**
 * Longest actor token looked at. The router's own ID tokens are a few kB (more with custom
 * claims); anything this long is not one of them, and is refused before it is decoded.
 */
export const MAX_ACTOR_ID_TOKEN_LENGTH = 64 * 1024;

/** Why an ID-token actor token was refused: a message for the log, never for the client. */
export class InvalidActorToken extends Error {
  constructor(reason: string) {
    super(reason);
    this.name = 'InvalidActorToken';
  }
}

/** What {@link verifyActorIdToken} checks a token against. */
export interface ActorIdTokenCheck {
  /** The router's `issuer`: the token's `iss` must equal it exactly. */
  issuer: string;
  /** The requesting client: the token's `aud`, and the secret of HS256 ID tokens. */
  client: Client;
  /** The router's keys: the token's `kid` must name one of them (current, next or retired). */
  keys: KeySet;
  users: UserStore;
  /** The current time in seconds since the epoch; default now. */
  now?: number;
}

const BASE64URL = /^[A-Za-z0-9_-]+$/;

/**
 * Verifies an ID token presented as `actor_token`: it must be one this router issued to the
 * requesting client, still valid, for a user who exists and is not blocked.
 *
 * - a compact JWS of at most {@link MAX_ACTOR_ID_TOKEN_LENGTH} characters, header `typ: JWT`
 *   (an access token, `at+jwt`, is not an ID token) and no `crit`;
 * - signed with one of the router's keys, found by `kid` and used only with its own alg (RS256,
 *   PS256, ES256, EdDSA: the header never chooses the algorithm), or, only when the client's ID
 *   tokens are HS256, with HMAC-SHA-256 over the client's secret. `none`, other HS algorithms and
 *   header keys (`jwk`, `jku`, `x5u`) are never used;
 * - `iss` the router's issuer, `aud` the requesting client's id (so client B cannot present
 *   client A's ID token), `exp` in the future, `iat` present, `nbf` (if any) not in the future,
 *   `sub` non-empty;
 * - the user `sub` exists in the store and is not blocked.
 *
 * @returns the user as `event.transaction.actor_token_user` shows it.
 * @throws InvalidActorToken with the precise reason; errors of the user store propagate.
 */
export async function verifyActorIdToken(
  token: string,
  check: ActorIdTokenCheck,
): Promise<ActorTokenUser> {
  if (token.length > MAX_ACTOR_ID_TOKEN_LENGTH) {
    throw new InvalidActorToken(`longer than ${MAX_ACTOR_ID_TOKEN_LENGTH} characters`);
  }
  const segments = token.split('.');
  if (segments.length !== 3) {
    throw new InvalidActorToken(`not a compact JWS: ${segments.length} segments instead of 3`);
  }
  const [encodedHeader, encodedPayload, encodedSignature] = segments as [string, string, string];
  const header = decodeJsonSegment(encodedHeader, 'header');
  const payload = decodeJsonSegment(encodedPayload, 'payload');
  if (!BASE64URL.test(encodedSignature)) {
    throw new InvalidActorToken('the signature is not base64url');
  }
  if (header.typ !== 'JWT') {
    throw new InvalidActorToken(`header typ is ${describe(header.typ)}, not "JWT" (an ID token)`);
  }
  if (header.crit !== undefined) {
    throw new InvalidActorToken('header crit is not understood');
  }
  const signingInput = Buffer.from(`${encodedHeader}.${encodedPayload}`);
  const signature = Buffer.from(encodedSignature, 'base64url');
  checkSignature(header, signingInput, signature, check);
  const now = check.now ?? Math.floor(Date.now() / 1000);
  const subject = checkClaims(payload, check, now);

  const user = await check.users.getById(subject);
  if (user === undefined) throw new InvalidActorToken(`user ${describe(subject)} does not exist`);
  if (user.blocked === true) throw new InvalidActorToken(`user ${describe(subject)} is blocked`);
  return toEventUser(user);
}

/**
 * `event.transaction.actor_token_user` for an exchange: the verified user when
 * `actor_token_type` is {@link ID_TOKEN_TYPE}, `undefined` for any other actor token type (those
 * reach the action as they are).
 *
 * @param onInvalid - called before a refusal is thrown: suspicious IP throttling counts the
 *   failed attempt there, as for `rejectInvalidSubjectToken`. What it throws replaces the `400`.
 * @throws OAuthError `400 invalid_request` ({@link INVALID_ACTOR_TOKEN_DESCRIPTION}, the reason
 *   in the private cause) for an invalid ID token; errors of the user store propagate.
 */
export async function actorTokenUserOf(
  check: Omit<ActorIdTokenCheck, 'now'>,
  actor: { actorToken: string | undefined; actorTokenType: string | undefined },
  onInvalid?: () => Promise<void>,
): Promise<ActorTokenUser | undefined> {
  if (actor.actorTokenType !== ID_TOKEN_TYPE || actor.actorToken === undefined) return undefined;
  try {
    return await verifyActorIdToken(actor.actorToken, check);
  } catch (err) {
    if (!(err instanceof InvalidActorToken)) throw err;
    await onInvalid?.();
    throw new InvalidRequest(INVALID_ACTOR_TOKEN_DESCRIPTION, {
      privateCause: `invalid ID-token actor_token: ${err.message}`,
    });
  }
}

function checkSignature(
  header: Record<string, unknown>,
  signingInput: Buffer,
  signature: Buffer,
  { client, keys }: ActorIdTokenCheck,
): void {
  const { alg, kid } = header;
  if (alg === 'HS256') {
    if (client.id_token_alg !== 'HS256') {
      throw new InvalidActorToken(
        `alg HS256, but client ${describe(client.client_id)} signs its ID tokens with ${client.id_token_alg}`,
      );
    }
    const secret = client.client_secret;
    if (secret === undefined || secret.length === 0) {
      throw new InvalidActorToken(
        `client ${describe(client.client_id)} has no secret to verify with`,
      );
    }
    const expected = crypto.createHmac('sha256', secret).update(signingInput).digest();
    if (signature.length !== expected.length || !crypto.timingSafeEqual(signature, expected)) {
      throw new InvalidActorToken('the HS256 signature does not verify with the client secret');
    }
    return;
  }
  if (typeof alg !== 'string' || !(SIGNING_ALGS as readonly string[]).includes(alg)) {
    throw new InvalidActorToken(
      `header alg ${describe(alg)} is not one the router signs ID tokens with`,
    );
  }
  if (typeof kid !== 'string' || kid.length === 0) {
    throw new InvalidActorToken('header has no kid');
  }
  const key = keys.verificationKey(kid);
  if (key === undefined) {
    throw new InvalidActorToken(`kid ${describe(kid)} is not one of the router's keys`);
  }
  if (key.alg !== alg) {
    throw new InvalidActorToken(
      `header alg ${alg} does not match key ${describe(kid)} (${key.alg})`,
    );
  }
  if (!verifyJwsSignature(key.alg, key.publicKey, signingInput, signature)) {
    throw new InvalidActorToken(`the signature does not verify with key ${describe(kid)}`);
  }
}

/** Checks the claims; returns `sub`. */
function checkClaims(
  payload: Record<string, unknown>,
  { issuer, client }: ActorIdTokenCheck,
  now: number,
): string {
  const { iss, aud, exp, iat, nbf, sub } = payload;
  if (iss !== issuer)
    throw new InvalidActorToken(`iss ${describe(iss)} is not this router's issuer`);
  if (aud !== client.client_id) {
    throw new InvalidActorToken(
      `aud ${describe(aud)} is not the requesting client ${describe(client.client_id)}`,
    );
  }
  if (!isNumericDate(exp)) throw new InvalidActorToken('exp is missing or not a number');
  if (now >= exp) {
    throw new InvalidActorToken(`expired at ${new Date(exp * 1000).toISOString()}`);
  }
  if (!isNumericDate(iat)) throw new InvalidActorToken('iat is missing or not a number');
  if (nbf !== undefined) {
    if (!isNumericDate(nbf)) throw new InvalidActorToken('nbf is not a number');
    if (nbf > now) {
      throw new InvalidActorToken(`not valid before ${new Date(nbf * 1000).toISOString()}`);
    }
  }
  if (typeof sub !== 'string' || sub.length === 0) {
    throw new InvalidActorToken('sub is missing or not a non-empty string');
  }
  return sub;
}

function decodeJsonSegment(segment: string, name: string): Record<string, unknown> {
  if (!BASE64URL.test(segment)) throw new InvalidActorToken(`the ${name} is not base64url`);
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(segment, 'base64url').toString('utf8'));
  } catch {
    throw new InvalidActorToken(`the ${name} is not JSON`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new InvalidActorToken(`the ${name} is not a JSON object`);
  }
  return value as Record<string, unknown>;
}

function isNumericDate(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value);
}

/** A claim value for a log message: JSON, cut short (claims come from the caller). */
function describe(value: unknown): string {
  let text: string;
  try {
    text = JSON.stringify(value) ?? String(value);
  } catch {
    text = String(value);
  }
  return text.length > 100 ? `${text.slice(0, 100)}...` : text;
}
