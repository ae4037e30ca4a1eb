import type { SetUserByConnectionOptions, UserAttributes } from '../sandbox/action-types.js';
import { InvalidArgument } from './action-api-error.js';
import { checkBoolean, checkPlainObject, checkString } from './argument-checks.js';
import { childPath, describeValue } from './plain-data.js';

/** Properties `user_attributes` may have (Auth0's validator limit). */
export const MAX_USER_ATTRIBUTES = 24;

/**
 * RFC 5321 caps a forward path at 256 octets including the angle brackets, so no deliverable
 * address is longer than this.
 */
export const MAX_EMAIL_LENGTH = 254;

/** Characters of a `picture` URL (it ends up in ID tokens). */
export const MAX_PICTURE_URL_LENGTH = 2048;

/** `+`, a non-zero country code digit, at most 15 digits in all. */
const E164 = /^\+[1-9]\d{1,14}$/;

/**
 * Plausible, not RFC 5322-complete: a local part of at most 64 non-blank characters, one `@`, and
 * a domain of at least two non-empty dot-separated labels. Full validation belongs to whoever sends
 * the verification email.
 */
const PLAUSIBLE_EMAIL = /^[^\s@]{1,64}@[^\s@.]+(\.[^\s@.]+)+$/;

type AttributeCheck = (value: unknown, path: string) => void;

const stringOf =
  (max: number): AttributeCheck =>
  (value, path) =>
    checkString(value, path, 1, max);

const ATTRIBUTE_CHECKS: Readonly<Record<keyof UserAttributes, AttributeCheck>> = {
  user_id: stringOf(255),
  email: (value, path) => {
    const email = checkString(value, path, 1, MAX_EMAIL_LENGTH);
    if (!PLAUSIBLE_EMAIL.test(email)) {
      throw new InvalidArgument(`${path} is not a plausible email address`);
    }
  },
  email_verified: checkBoolean,
  username: stringOf(128),
  phone_number: (value, path) => {
    const phone = checkString(value, path, 1, 64);
    if (!E164.test(phone)) {
      throw new InvalidArgument(`${path} must be an E.164 phone number such as +14155550100`);
    }
  },
  phone_verified: checkBoolean,
  name: stringOf(300),
  given_name: stringOf(150),
  family_name: stringOf(150),
  nickname: stringOf(300),
  picture: (value, path) => {
    const picture = checkString(value, path, 1, MAX_PICTURE_URL_LENGTH);
    if (!isAbsoluteHttpUrl(picture)) {
      throw new InvalidArgument(`${path} must be an absolute http(s) URL without credentials`);
    }
  },
  verify_email: checkBoolean,
};

const ATTRIBUTE_NAMES = Object.keys(ATTRIBUTE_CHECKS);

/**
 * Validates the `user_attributes` argument of `api.authentication.setUserByConnection`: a plain
 * object of at most {@link MAX_USER_ATTRIBUTES} properties, only the attribute names of
 * {@link UserAttributes}, `user_id` required, each with its type and length. Properties set to
 * `undefined` count as absent. Returns a copy holding only the attributes given.
 *
 * @throws InvalidArgument naming the attribute, e.g. `attributes.username exceeds 128 characters`
 */
export function validateUserAttributes(value: unknown, path = 'attributes'): UserAttributes {
  const attributes = checkPlainObject(value, path, 'an object with a user_id');
  const keys = Object.keys(attributes).filter((key) => attributes[key] !== undefined);
  if (keys.length > MAX_USER_ATTRIBUTES) {
    throw new InvalidArgument(
      `${path} has ${keys.length} properties; at most ${MAX_USER_ATTRIBUTES} are allowed`,
    );
  }
  for (const key of keys) {
    if (!Object.hasOwn(ATTRIBUTE_CHECKS, key)) {
      throw new InvalidArgument(
        `${childPath(path, key)} is not a supported attribute (supported: ${ATTRIBUTE_NAMES.join(', ')})`,
      );
    }
  }
  const result: Record<string, unknown> = {};
  // user_id first, so a missing one is reported before a problem with another attribute.
  for (const key of ATTRIBUTE_NAMES) {
    const attribute = attributes[key];
    if (attribute === undefined && key !== 'user_id') continue;
    ATTRIBUTE_CHECKS[key as keyof UserAttributes](attribute, `${path}.${key}`);
    result[key] = attribute;
  }
  return result as unknown as UserAttributes;
}

const CREATION_BEHAVIORS: readonly string[] = ['create_if_not_exists', 'none'];
const UPDATE_BEHAVIORS: readonly string[] = ['replace', 'none'];

/**
 * Validates the `options` argument of `api.authentication.setUserByConnection`: a plain object
 * with exactly `creationBehavior` (`create_if_not_exists` | `none`) and `updateBehavior`
 * (`replace` | `none`). Both are required, as in Auth0, so that an action never creates or
 * overwrites users by accident of a default.
 *
 * @throws InvalidArgument naming the option, e.g. `options.updateBehavior must be "replace" or "none", got undefined`
 */
export function validateSetUserByConnectionOptions(
  value: unknown,
  path = 'options',
): SetUserByConnectionOptions {
  const options = checkPlainObject(
    value,
    path,
    'an object with creationBehavior and updateBehavior',
  );
  for (const key of Object.keys(options)) {
    if (key !== 'creationBehavior' && key !== 'updateBehavior' && options[key] !== undefined) {
      throw new InvalidArgument(
        `${childPath(path, key)} is not a supported option (supported: creationBehavior, updateBehavior)`,
      );
    }
  }
  return {
    creationBehavior: checkChoice(
      options.creationBehavior,
      `${path}.creationBehavior`,
      CREATION_BEHAVIORS,
    ) as SetUserByConnectionOptions['creationBehavior'],
    updateBehavior: checkChoice(
      options.updateBehavior,
      `${path}.updateBehavior`,
      UPDATE_BEHAVIORS,
    ) as SetUserByConnectionOptions['updateBehavior'],
  };
}

function checkChoice(value: unknown, path: string, choices: readonly string[]): string {
  if (typeof value === 'string' && choices.includes(value)) return value;
  const got = typeof value === 'string' ? JSON.stringify(value) : describeValue(value);
  const expected = choices.map((choice) => JSON.stringify(choice)).join(' or ');
  throw new InvalidArgument(`${path} must be ${expected}, got ${got}`);
}

/**
 * `new URL` alone would accept `http:host` and credentials; a picture URL ends up in ID tokens, so
 * it must be spelled out and carry no user name or password.
 */
function isAbsoluteHttpUrl(text: string): boolean {
  if (!/^https?:\/\//i.test(text)) return false;
  try {
    const url = new URL(text);
    return url.hostname !== '' && url.username === '' && url.password === '';
  } catch {
    return false;
  }
}
