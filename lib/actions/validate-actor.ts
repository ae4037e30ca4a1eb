import type { Actor } from '../sandbox/action-types.js';
import { InvalidArgument } from './action-api-error.js';
import { checkPlainObject, checkString } from './argument-checks.js';
import { childPath, describeValue } from './plain-data.js';

/** Actors in one delegation chain: the root plus 4 nested `act` (Auth0's limit). */
export const MAX_ACTOR_LEVELS = 5;

/** Properties besides `sub` and `act` allowed on each level (Auth0's limit). */
export const MAX_ACTOR_CUSTOM_PROPERTIES = 5;

/**
 * Characters of an actor's `sub` and of each custom string property: they become claims of every
 * token issued, which travel in headers.
 */
export const MAX_ACTOR_STRING_LENGTH = 1024;

/**
 * Validates the argument of `api.authentication.setActor` and returns a fresh copy of it, ready to
 * become the `act` claim: `sub` a non-empty string at every level, at most
 * {@link MAX_ACTOR_LEVELS} levels, at most {@link MAX_ACTOR_CUSTOM_PROPERTIES} custom properties
 * per level whose values are strings, finite numbers or booleans, strings (and `sub`) at most
 * {@link MAX_ACTOR_STRING_LENGTH} characters, and `act` an object when present.
 * Properties set to `undefined` count as absent.
 *
 * @param value - what the action passed
 * @param path - the name used in messages, `actor` by default
 * @throws InvalidArgument naming the offending level, e.g. `actor.act.act.act.act.act exceeds 5 levels`
 */
export function validateActor(value: unknown, path = 'actor'): Actor {
  const root: Partial<Actor> = {};
  let target = root;
  let current = value;
  let levelPath = path;
  // Iterative, so a hostile chain a thousand levels deep fails on level 6 without recursion.
  for (let level = 1; ; level++) {
    if (level > MAX_ACTOR_LEVELS) {
      throw new InvalidArgument(`${levelPath} exceeds ${MAX_ACTOR_LEVELS} levels`);
    }
    const actor = checkPlainObject(current, levelPath, 'an object with a sub');
    target.sub = checkString(actor.sub, `${levelPath}.sub`, 1, MAX_ACTOR_STRING_LENGTH);
    const customKeys = Object.keys(actor).filter(
      (key) => key !== 'sub' && key !== 'act' && actor[key] !== undefined,
    );
    if (customKeys.length > MAX_ACTOR_CUSTOM_PROPERTIES) {
      throw new InvalidArgument(
        `${levelPath} has ${customKeys.length} custom properties; at most ${MAX_ACTOR_CUSTOM_PROPERTIES} are allowed`,
      );
    }
    for (const key of customKeys) {
      const custom = actor[key];
      const isScalar =
        typeof custom === 'string' ||
        typeof custom === 'boolean' ||
        (typeof custom === 'number' && Number.isFinite(custom));
      if (!isScalar) {
        throw new InvalidArgument(
          `${childPath(levelPath, key)} must be a string, a finite number or a boolean, got ${describeValue(custom)}`,
        );
      }
      if (typeof custom === 'string') {
        checkString(custom, childPath(levelPath, key), 0, MAX_ACTOR_STRING_LENGTH);
      }
      Object.defineProperty(target, key, {
        value: custom,
        enumerable: true,
        writable: true,
        configurable: true,
      });
    }
    if (actor.act === undefined) return root as Actor;
    const next: Partial<Actor> = {};
    target.act = next as Actor;
    target = next;
    current = actor.act;
    levelPath = `${levelPath}.act`;
  }
}
