/**
 * The checks of a profile's fields, each throwing `invalid_body` with the problem in Auth0's
 * message form (`Invalid request body: <problem>.`).
 */
import { randomBytes } from 'node:crypto';
import { ManagementError } from '../errors.js';
import {
  MAX_SUBJECT_TOKEN_TYPE_LENGTH,
  MIN_SUBJECT_TOKEN_TYPE_LENGTH,
  subjectTokenTypeUriProblem,
  reservedPrefixOf,
} from './subject-token-type.js';

/** The fields of a profile's create and update bodies, as Auth0 takes them. */
export const CREATE_FIELDS: readonly string[] = ['name', 'subject_token_type', 'action_id', 'type'];
export const OPTIONAL_CREATE_FIELDS: readonly string[] = [
  'id',
  'max_token_length',
  'enforce_may_act',
];
export const UPDATE_FIELDS: readonly string[] = [
  'name',
  'subject_token_type',
  'max_token_length',
  'enforce_may_act',
];
// Fields a profile has but a patch may not touch: Auth0 answers "Unable to update field." for them.
export const FIXED_FIELDS: ReadonlySet<string> = new Set([
  'id',
  'action_id',
  'type',
  'created_at',
  'updated_at',
]);

/**
 * The highest `max_token_length` a profile may set, in characters: the token endpoint reads no
 * body over 1 MiB.
 */
export const MAX_TOKEN_LENGTH_CEILING = 1024 * 1024;

const PROFILE_ID = /^tep_[A-Za-z0-9]{16}$/;

export function checkBody(body: unknown): Record<string, unknown> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    invalid('expected an object');
  }
  return body as Record<string, unknown>;
}

export function checkProfileId(value: unknown): string {
  if (typeof value !== 'string' || !PROFILE_ID.test(value)) {
    invalid('id must be tep_ followed by 16 letters or digits');
  }
  return value;
}

export function checkName(value: unknown): string {
  if (typeof value !== 'string' || value.length < 3 || value.length > 50) {
    invalid('name must be a string of 3 to 50 characters');
  }
  return value;
}

export function checkSubjectTokenType(value: unknown): string {
  if (
    typeof value !== 'string' ||
    value.length < MIN_SUBJECT_TOKEN_TYPE_LENGTH ||
    value.length > MAX_SUBJECT_TOKEN_TYPE_LENGTH
  ) {
    invalid(
      `subject_token_type must be a string of ${MIN_SUBJECT_TOKEN_TYPE_LENGTH} to ${MAX_SUBJECT_TOKEN_TYPE_LENGTH} characters`,
    );
  }
  // Checked before the URI form so `http://auth0.com/...` is told the more useful reason.
  const reserved = reservedPrefixOf(value);
  if (reserved !== undefined) {
    invalid(`subject_token_type must not use the reserved namespace ${reserved}`);
  }
  const problem = subjectTokenTypeUriProblem(value);
  if (problem !== undefined) invalid(`subject_token_type ${problem}`);
  return value;
}

export function checkMaxTokenLength(value: unknown): number {
  if (
    !Number.isInteger(value) ||
    (value as number) < 1 ||
    (value as number) > MAX_TOKEN_LENGTH_CEILING
  ) {
    invalid(`max_token_length must be an integer from 1 to ${MAX_TOKEN_LENGTH_CEILING}`);
  }
  return value as number;
}

export function checkEnforceMayAct(value: unknown): boolean {
  if (value !== undefined && typeof value !== 'boolean')
    invalid('enforce_may_act must be a boolean');
  return value === true;
}

export function invalid(problem: string): never {
  throw new ManagementError('invalid_body', `Invalid request body: ${problem}.`);
}

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

/** A fresh profile id: `tep_` and 16 uniformly random base62 characters (about 95 bits). */
export function newProfileId(): string {
  let suffix = '';
  while (suffix.length < 16) {
    for (const byte of randomBytes(24)) {
      // 248 = 4 × 62: bytes above it are dropped so every character is equally likely.
      if (byte < 248 && suffix.length < 16) suffix += BASE62[byte % 62];
    }
  }
  return `tep_${suffix}`;
}
