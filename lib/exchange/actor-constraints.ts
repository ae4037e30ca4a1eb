import { isDeepStrictEqual } from 'node:util';
import { decodeJwt } from 'jose';
import { InvalidRequest } from '../errors.js';
import { checkJwtJson } from '../sandbox/capabilities/jwt-json-limits.js';
import { MAX_ACTOR_LEVELS } from '../actions/validate-actor.js';
import type { Actor } from '../tokens/actor.js';
import type { KeySet } from '../tokens/key-set.js';
import { readOwnAccessToken } from '../tokens/own-access-token.js';

/** The `may_act` claim (RFC 8693 §4.4): claims naming the party allowed to act for the subject. */
export type MayAct = Readonly<Record<string, unknown>>;

/** Members of `may_act` that say nothing about who may act (RFC 8693 §4.4: SHOULD NOT be used). */
const NOT_IDENTIFYING: ReadonlySet<string> = new Set(['exp', 'nbf', 'aud', 'iat']);

/** The public answer to an actor the subject token does not allow. */
export const ACTOR_NOT_ALLOWED = 'the actor is not allowed to act for the subject (may_act)';

/** Auth0's answer to a delegation chain that grows past its limit (On-Behalf-Of token exchange). */
export const ACT_CHAIN_TOO_DEEP =
  'Delegation chain (`act` claim) depth exceeds the maximum allowed limit of 4';

/**
 * Why `actor` (its top level: the current actor) is not the party `mayAct` names, or `undefined`
 * when it is: every identifying member of `mayAct` must be on the actor with the same value. A
 * `may_act` that names nobody (no identifying member, or not an object) allows no actor.
 */
export function mayActMismatch(actor: Actor, mayAct: unknown): string | undefined {
  if (typeof mayAct !== 'object' || mayAct === null || Array.isArray(mayAct)) {
    return 'may_act is not an object';
  }
  const members = Object.entries(mayAct).filter(([name]) => !NOT_IDENTIFYING.has(name));
  if (members.length === 0) return 'may_act names no actor';
  for (const [name, value] of members) {
    if (!Object.hasOwn(actor, name)) {
      return `may_act has ${name} ${describe(value)}, the actor has no ${name}`;
    }
    if (!isDeepStrictEqual(actor[name], value)) {
      return `may_act has ${name} ${describe(value)}, the actor ${describe(actor[name])}`;
    }
  }
  return undefined;
}

/**
 * @throws InvalidRequest `400` {@link ACTOR_NOT_ALLOWED}, the mismatch in the private cause, when
 *   `actor` is not the party `mayAct` names; `source` says where `mayAct` came from
 */
export function checkMayAct(actor: Actor, mayAct: unknown, source: string): void {
  const mismatch = mayActMismatch(actor, mayAct);
  if (mismatch !== undefined) {
    throw new InvalidRequest(ACTOR_NOT_ALLOWED, { privateCause: `${source}: ${mismatch}` });
  }
}

/**
 * The `may_act` claim of a subject token that is a JWT, read without verifying it (the profile's
 * action has accepted the token); `undefined` when the token is not a JWT or has no `may_act`.
 * A payload too large or too deeply nested to be read safely counts as a `may_act` that names
 * nobody, so that it fails closed.
 */
export function mayActOfSubjectToken(token: string): unknown {
  try {
    checkJwtJson(token);
  } catch {
    return null;
  }
  try {
    return decodeJwt(token).may_act;
  } catch {
    return undefined;
  }
}

/**
 * The `act` claim of `token` when it is one of the router's own access tokens with a valid
 * signature, expired or not: an exchange of such a token never sheds the delegation it records.
 * `undefined` for any other token.
 */
export async function priorActorOf(
  token: string,
  own: { issuer: string; keys: KeySet },
): Promise<Actor | undefined> {
  try {
    checkJwtJson(token);
  } catch {
    return undefined;
  }
  // At the epoch: the signature and the claims decide, not whether the token is still current.
  const read = await readOwnAccessToken(token, { ...own, now: 0 });
  return read.status === 'valid' ? read.claims.act : undefined;
}

/**
 * The actor of a token issued for a subject token that carried `prior` (its `act`): `prior` when
 * the action set none, `actor` when its chain already holds `prior`, otherwise `actor` with
 * `prior` nested as its earliest actors (RFC 8693 §4.1: the most deeply nested is the first).
 *
 * @throws InvalidRequest `400` {@link ACT_CHAIN_TOO_DEEP} when the chain would exceed 5 actors
 */
export function withPriorActor(
  actor: Actor | undefined,
  prior: Actor | undefined,
): Actor | undefined {
  if (prior === undefined) return actor;
  if (actor === undefined) return prior;
  const levels: Actor[] = [];
  for (let level: Actor | undefined = actor; level !== undefined; level = level.act) {
    if (isDeepStrictEqual(level, prior)) return actor;
    levels.push(level);
  }
  let depth = levels.length;
  for (let level: Actor | undefined = prior; level !== undefined; level = level.act) depth++;
  if (depth > MAX_ACTOR_LEVELS) {
    throw new InvalidRequest(ACT_CHAIN_TOO_DEEP, {
      privateCause: `the subject token's act chain and the action's actor make ${depth} actors`,
    });
  }
  // Rebuilt from the innermost level out: the action's actor object is never changed.
  let chain: Actor = structuredClone(prior);
  for (let i = levels.length - 1; i >= 0; i--) {
    const { act: _previous, ...level } = levels[i] as Actor;
    chain = { ...level, act: chain } as Actor;
  }
  return chain;
}

function describe(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 100 ? `${text.slice(0, 100)}...` : text;
}
