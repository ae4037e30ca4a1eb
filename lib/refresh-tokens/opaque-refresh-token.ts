import { hash } from 'node:crypto';
import { randomToken } from '../secure-random.js';

/**
 * The prefix of every refresh token the router issues. It lets a request be recognised as
 * possibly ours without a store lookup (the host's own tokens never carry it), and lets secret
 * scanners spot a leaked token.
 */
export const REFRESH_TOKEN_PREFIX = 'cte_rt_';
/** 32 random bytes: 256 bits, beyond guessing (RFC 6749 §10.10, RFC 9700 §4.14). */
const RANDOM_BYTES = 32;
const SHAPE = /^cte_rt_[A-Za-z0-9_-]{43}$/;

/** A new opaque refresh token: the prefix and 256 random bits in base64url. */
export function newRefreshToken(): string {
  return `${REFRESH_TOKEN_PREFIX}${randomToken(RANDOM_BYTES)}`;
}

/** Whether `value` has the shape of a token this router issues (it may still be unknown). */
export function hasRefreshTokenShape(value: string): boolean {
  return SHAPE.test(value);
}

/**
 * The key a token is stored under: SHA-256, base64url. A fast hash is enough for 256 random
 * bits (nothing to brute-force), and the store never holds a redeemable value.
 */
export function hashRefreshToken(token: string): string {
  return hash('sha256', token, 'base64url');
}
