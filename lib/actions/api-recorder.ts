import type {
  ActionApiMethod,
  ActionApiRecorder,
  CustomTokenExchangeApiMethod,
} from '../sandbox/action-runner.js';
import type { ActionCommand, RecordedCustomTokenExchangeApi } from './types.js';
import { InvalidArgument } from './action-api-error.js';
import { checkPlainObject, checkString } from './argument-checks.js';
import { CommandRecorder } from './command-recorder.js';
import { copyPlainData } from './plain-data.js';
import { validateActor } from './validate-actor.js';
import {
  validateSetUserByConnectionOptions,
  validateUserAttributes,
} from './validate-set-user-by-connection.js';

export { ActionApiError } from './action-api-error.js';

export {
  MAX_CONSOLE_LINE_LENGTH,
  MAX_CONSOLE_LINES,
  formatConsoleArgs,
} from './console-capture.js';

/** UTF-8 bytes of keys plus JSON values an execution may pass to the metadata setters. */
export const MAX_METADATA_BYTES = 32 * 1024;

/** Options of {@link ApiRecorder}. */
export interface ApiRecorderOptions {
  /**
   * Applied to every console line before it is cut, so that a token straddling the cut cannot
   * leave a fragment behind. Default: identity (the router passes its token and secret redactor).
   */
  redact?: (text: string) => string;
}

type Validator = (args: readonly unknown[]) => ActionCommand;

const SET_USER_METHODS: ReadonlySet<ActionApiMethod> = new Set([
  'authentication.setUserById',
  'authentication.setUserByConnection',
]);

/**
 * Records one execution's `api.*` calls as validated, copied {@link ActionCommand}s, and its
 * console lines redacted and cut. One recorder per execution.
 *
 * Every refused call throws an {@link ActionApiError} into the action and is also remembered in
 * {@link ApiRecorder.violations}: an action that catches the error still fails closed, because
 * issuing tokens after part of what the action asked for was refused (a dropped `setActor`, a
 * second user, an invalid `deny`) would act on an intent that was never expressed.
 */
export class ApiRecorder extends CommandRecorder<ActionCommand> implements ActionApiRecorder {
  #metadataBytes = 0;
  #userSetBy: ActionApiMethod | undefined;
  #api: RecordedCustomTokenExchangeApi | undefined;

  constructor(options: ApiRecorderOptions = {}) {
    super(options.redact);
  }

  /**
   * The recorded part of the `api` handed to in-process handlers (the runner adds `api.replay`);
   * each method forwards to {@link call}.
   */
  api(): RecordedCustomTokenExchangeApi {
    this.#api ??= createApi((method, args) => this.call(method, args));
    return this.#api;
  }

  protected validate(method: ActionApiMethod, args: readonly unknown[]): ActionCommand {
    if (!Array.isArray(args)) throw new InvalidArgument('arguments must be an array');
    if (!Object.hasOwn(VALIDATORS, method)) {
      throw new InvalidArgument('not a Custom Token Exchange api method');
    }
    if (SET_USER_METHODS.has(method)) {
      // Checked before the arguments: a second attempt is a violation whatever it passes.
      if (this.#userSetBy !== undefined) {
        throw new InvalidArgument(
          `a user was already set by api.${this.#userSetBy}; an action may set the user only once`,
        );
      }
    }
    const command = VALIDATORS[method as CustomTokenExchangeApiMethod](args);
    if (command.type === 'setAppMetadata' || command.type === 'setUserMetadata') {
      const bytes =
        Buffer.byteLength(command.key) + Buffer.byteLength(JSON.stringify(command.value));
      if (this.#metadataBytes + bytes > MAX_METADATA_BYTES) {
        throw new InvalidArgument(
          `metadata set in one execution exceeds ${MAX_METADATA_BYTES} bytes`,
        );
      }
      this.#metadataBytes += bytes;
    }
    if (SET_USER_METHODS.has(method)) this.#userSetBy = method;
    return command;
  }
}

const VALIDATORS: Readonly<Record<CustomTokenExchangeApiMethod, Validator>> = {
  'access.deny': ([code, reason]) => ({
    type: 'deny',
    code: checkString(code, 'code', 1, 1024),
    reason: checkString(reason, 'reason', 1, 4096),
  }),
  'access.rejectInvalidSubjectToken': ([reason]) => ({
    type: 'rejectInvalidSubjectToken',
    reason: checkString(reason, 'reason', 1, 4096),
  }),
  'authentication.setUserById': ([userId]) => ({
    type: 'setUserById',
    user_id: checkString(userId, 'user_id', 1, 512),
  }),
  'authentication.setUserByConnection': ([connection, attributes, options]) => ({
    type: 'setUserByConnection',
    connection: checkString(connection, 'connection', 1, 512),
    attributes: validateUserAttributes(copyPlainData(attributes, 'attributes')),
    options: validateSetUserByConnectionOptions(copyPlainData(options, 'options')),
  }),
  'authentication.setActor': ([actor, options]) => {
    const command: ActionCommand = {
      type: 'setActor',
      actor: validateActor(copyPlainData(actor, 'actor')),
    };
    const mayAct = options === undefined ? undefined : setActorOptions(options);
    if (mayAct !== undefined) command.may_act = mayAct;
    return command;
  },
  'authentication.setOrganization': ([organization]) => ({
    type: 'setOrganization',
    organization: checkString(organization, 'organization', 1, 50),
  }),
  'user.setAppMetadata': ([key, value]) => ({
    type: 'setAppMetadata',
    ...metadataEntry(key, value),
  }),
  'user.setUserMetadata': ([key, value]) => ({
    type: 'setUserMetadata',
    ...metadataEntry(key, value),
  }),
};

/** `setActor`'s options: `{ may_act? }`, `may_act` a plain object (the subject token's claim). */
function setActorOptions(options: unknown): Record<string, unknown> | undefined {
  const copy = checkPlainObject(copyPlainData(options, 'options'), 'options', 'an object');
  for (const key of Object.keys(copy)) {
    if (key !== 'may_act') throw new InvalidArgument(`options.${key} is not a setActor option`);
  }
  if (copy.may_act === undefined) return undefined;
  return checkPlainObject(copy.may_act, 'options.may_act', 'an object (the may_act claim)');
}

function metadataEntry(key: unknown, value: unknown): { key: string; value: unknown } {
  const checkedKey = checkString(key, 'key', 1, 255);
  if (checkedKey === '__proto__') throw new InvalidArgument('key "__proto__" is not allowed');
  if (value === undefined) {
    throw new InvalidArgument('value is undefined, which is not JSON data (null removes the key)');
  }
  return { key: checkedKey, value: copyPlainData(value, 'value') };
}

/**
 * Builds a frozen `api` whose methods forward their arguments, all of them, to `call`: the
 * recorder decides what a missing or extra argument means, in one place for every runner.
 */
function createApi(
  call: (method: ActionApiMethod, args: unknown[]) => void,
): RecordedCustomTokenExchangeApi {
  const forward =
    (method: ActionApiMethod) =>
    (...args: unknown[]): void =>
      call(method, args);
  return Object.freeze({
    access: Object.freeze({
      deny: forward('access.deny'),
      rejectInvalidSubjectToken: forward('access.rejectInvalidSubjectToken'),
    }),
    authentication: Object.freeze({
      setUserById: forward('authentication.setUserById'),
      setUserByConnection: forward('authentication.setUserByConnection'),
      setActor: forward('authentication.setActor'),
      setOrganization: forward('authentication.setOrganization'),
    }),
    user: Object.freeze({
      setAppMetadata: forward('user.setAppMetadata'),
      setUserMetadata: forward('user.setUserMetadata'),
    }),
  });
}
