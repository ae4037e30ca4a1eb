import { hash } from 'node:crypto';
import { randomToken } from '../secure-random.js';

/**
 * The prefix of every refresh token the router issues. It lets a request be recognised as
 * possibly ours without a store lookup (the host's own tokens never carry it), and lets secret
 * scanners spot a leaked token.
 */
export const REFRESH_TOKEN_PREFIX = 'cte_rt_';
/** The prefix of a family id; the rest of it is what a token of the family carries. */
const FAMILY_PREFIX = 'rtf_';
/** 16 random bytes name a family: 128 bits, unique without coordination between instances. */
const FAMILY_RANDOM_BYTES = 16;
/** 32 random bytes: 256 bits, beyond guessing (RFC 6749 §10.10, RFC 9700 §4.14). */
const RANDOM_BYTES = 32;
const FAMILY_SHAPE = /^rtf_([A-Za-z0-9_-]{22})$/;
/** `cte_rt_<family>.<secret>`: the family part is not secret, the 256 random bits are. */
const SHAPE = /^cte_rt_([A-Za-z0-9_-]{22})\.[A-Za-z0-9_-]{43}$/;

/** A refresh token read from a request: what the store finds it by. */
export interface RefreshTokenKey {
  /** See {@link hashRefreshToken}. */
  hash: string;
  /** The family the token says it belongs to (a store keeps a family's tokens beside it). */
  familyId: string;
}

/** A new family id: `rtf_` and 128 random bits in base64url. */
export function newFamilyId(): string {
  return `${FAMILY_PREFIX}${randomToken(FAMILY_RANDOM_BYTES)}`;
}

/**
 * A new opaque refresh token of the family `familyId` (from {@link newFamilyId}): the prefix, the
 * family's id without its own prefix, a dot, and 256 random bits in base64url. Carrying the
 * family lets a store keep a family and its tokens together (one Redis Cluster hash slot) and
 * find a token there.
 */
export function newRefreshToken(familyId: string): string {
  const family = FAMILY_SHAPE.exec(familyId);
  if (!family) throw new TypeError(`not a refresh token family id: ${JSON.stringify(familyId)}`);
  return `${REFRESH_TOKEN_PREFIX}${family[1]}.${randomToken(RANDOM_BYTES)}`;
}

/** Whether `value` has the shape of a token this router issues (it may still be unknown). */
export function hasRefreshTokenShape(value: string): boolean {
  return SHAPE.test(value);
}

/** The hash and family of a token of the router's shape; `undefined` for anything else. */
export function readRefreshToken(value: unknown): RefreshTokenKey | undefined {
  const match = typeof value === 'string' ? SHAPE.exec(value) : null;
  if (!match) return undefined;
  return { hash: hashRefreshToken(value as string), familyId: `${FAMILY_PREFIX}${match[1]}` };
}

/**
 * The key a token is stored under: SHA-256, base64url. A fast hash is enough for 256 random
 * bits (nothing to brute-force), and the store never holds a redeemable value.
 */
export function hashRefreshToken(token: string): string {
  return hash('sha256', token, 'base64url');
}
