import type { JWTVerifyOptions } from 'jose';
import { invalidArgument } from './capability-error.js';
import { isRecord } from './key-descriptor.js';
import type { KeyDescriptor } from './key-descriptor.js';
import { checkJwtJson } from './jwt-json-limits.js';
import { ASYMMETRIC_ALGORITHMS } from '../../tokens/asymmetric-algorithms.js';

/** Defaults for a shared secret (`secret` descriptors, `oct` JWKs). */
export const HMAC_ALGORITHMS: readonly string[] = Object.freeze(['HS256', 'HS384', 'HS512']);

/** Tokens longer than this are refused before jose sees them (1 MiB, the request body cap). */
export const MAX_TOKEN_LENGTH = 1024 * 1024;

/** The algorithms a key can verify when the action names none; never `none`. */
export function defaultAlgorithms(descriptor: KeyDescriptor): readonly string[] {
  switch (descriptor.kind) {
    case 'secret':
      return HMAC_ALGORITHMS;
    case 'spki':
      return [descriptor.alg];
    case 'jwk': {
      if (descriptor.jwk.kty === 'oct') return HMAC_ALGORITHMS;
      const alg = descriptor.alg ?? descriptor.jwk.alg;
      return typeof alg === 'string' ? [alg] : ASYMMETRIC_ALGORITHMS;
    }
    default:
      return ASYMMETRIC_ALGORITHMS;
  }
}

/** `jwtVerify` options from an action, checked and copied; `algorithms` default to the key's. */
export function parseVerifyOptions(
  input: unknown,
  algorithms: readonly string[],
): JWTVerifyOptions {
  if (input !== undefined && input !== null && !isRecord(input)) {
    throw invalidArgument('jwtVerify: options must be an object');
  }
  const given = input ?? {};
  const options: JWTVerifyOptions = { algorithms: [...algorithms] };
  if (given.algorithms !== undefined) {
    if (
      !Array.isArray(given.algorithms) ||
      given.algorithms.length === 0 ||
      !given.algorithms.every((alg) => typeof alg === 'string')
    ) {
      throw invalidArgument('jwtVerify: options.algorithms must be a non-empty array of strings');
    }
    if (given.algorithms.some((alg: string) => alg.toLowerCase() === 'none')) {
      throw invalidArgument('jwtVerify: the "none" algorithm is never accepted');
    }
    options.algorithms = [...given.algorithms];
  }
  for (const name of ['issuer', 'audience'] as const) {
    const value = given[name];
    if (value === undefined) continue;
    if (!isStringOrStrings(value)) {
      throw invalidArgument(`jwtVerify: options.${name} must be a string or an array of strings`);
    }
    options[name] = typeof value === 'string' ? value : [...value];
  }
  for (const name of ['typ', 'subject'] as const) {
    const value = given[name];
    if (value === undefined) continue;
    if (typeof value !== 'string')
      throw invalidArgument(`jwtVerify: options.${name} must be a string`);
    options[name] = value;
  }
  for (const name of ['clockTolerance', 'maxTokenAge'] as const) {
    const value = given[name];
    if (value === undefined) continue;
    if (typeof value !== 'string' && typeof value !== 'number') {
      throw invalidArgument(`jwtVerify: options.${name} must be seconds or a time span like "5m"`);
    }
    options[name] = value;
  }
  if (given.requiredClaims !== undefined) {
    if (
      !Array.isArray(given.requiredClaims) ||
      !given.requiredClaims.every((claim) => typeof claim === 'string')
    ) {
      throw invalidArgument('jwtVerify: options.requiredClaims must be an array of strings');
    }
    options.requiredClaims = [...given.requiredClaims];
  }
  if (given.currentDate !== undefined) {
    const value = given.currentDate;
    const date =
      value instanceof Date
        ? new Date(value.getTime())
        : typeof value === 'number' || typeof value === 'string'
          ? new Date(value)
          : undefined;
    if (date === undefined || Number.isNaN(date.getTime())) {
      throw invalidArgument('jwtVerify: options.currentDate must be a date (or epoch ms)');
    }
    options.currentDate = date;
  }
  return options;
}

/** Refuses a token too long, or whose JSON is too large or too deep, before anything parses it. */
export function checkTokenSize(token: unknown): void {
  if (typeof token !== 'string') return;
  if (token.length > MAX_TOKEN_LENGTH) {
    throw invalidArgument(`the token is longer than ${MAX_TOKEN_LENGTH} characters`);
  }
  checkJwtJson(token);
}

function isStringOrStrings(value: unknown): value is string | string[] {
  return (
    typeof value === 'string' ||
    (Array.isArray(value) && value.every((item) => typeof item === 'string'))
  );
}
