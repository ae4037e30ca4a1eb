import { ManagementError } from '../errors.js';
import type { Action } from './action-definition.js';
import type { ActionRegistry } from './action-registry.js';
import { supportsCustomTokenExchange } from './action-bindings.js';
import type { ChangeOptions, ManagedBy, SharedRecords } from './shared-records.js';
import { checkIfMatch, commitShared, managedInCode } from './shared-records.js';
import {
  CREATE_FIELDS,
  FIXED_FIELDS,
  OPTIONAL_CREATE_FIELDS,
  UPDATE_FIELDS,
  checkBody,
  checkEnforceMayAct,
  checkMaxTokenLength,
  checkName,
  checkProfileId,
  checkSubjectTokenType,
  invalid,
  newProfileId,
} from './profile-fields.js';
import type { Profile, ProfileDefinition, ProfilePatch, StoredProfile } from './profile.js';
import { CUSTOM_AUTHENTICATION } from './profile.js';

export {
  RESERVED_SUBJECT_TOKEN_TYPE_PREFIXES,
  isReservedSubjectTokenType,
} from './subject-token-type.js';

export { MAX_TOKEN_LENGTH_CEILING } from './profile-fields.js';

/** Options of {@link ProfileRegistry}. */
export interface ProfileRegistryOptions {
  /** The actions profiles bind to; the registry keeps bound actions from being deleted. */
  actions: ActionRegistry;
  /** Clock for `created_at` and `updated_at`. Default `() => new Date()`. */
  now?: () => Date;
  /**
   * The shared configuration store the profiles the Management API creates live in. Without
   * it, they are kept in this process like the others.
   */
  shared?: SharedRecords;
}

/** One profile as the registry holds it. */
interface ProfileEntry {
  readonly profile: Readonly<StoredProfile>;
  readonly managedBy: ManagedBy;
  readonly etag: string;
  /** The store revision of a shared profile (0 for a local one). */
  readonly revision: number;
}

/** Most profiles a registry holds (Auth0's per-tenant entity limit). */
export const MAX_PROFILES = 100;

// Auth0's messages, kept verbatim so clients written against its Management API keep working.
const MESSAGES = {
  typeMustBeCustom: 'Type field must be custom',
  actionNotFound: 'Action not found',
  actionNotDeployed: 'Action is not deployed',
  actionWithoutTrigger: 'Action must have supported_triggers: custom-token-exchange',
  limitReached: 'You reached the limit of entities of this type for this tenant.',
  duplicateOnCreate: 'subject_token_type already exists for tenant',
  duplicateOnUpdate: 'Token exchange profile with the same subject_token_type already exists',
  duplicateId: 'Token exchange profile with the same id already exists',
  unableToUpdate: 'Unable to update field.',
  notFound: 'Token exchange profile not found.',
} as const;

/**
 * The token exchange profiles, indexed by `subject_token_type` for the token endpoint. Management
 * methods are async and throw {@link ManagementError}; each computes its change against the
 * registry's copy in one synchronous step after its last `await`. Profiles the Management API
 * creates are committed to the shared configuration store (when there is one), which applies
 * them here; the others are kept in this process. Profiles are stored frozen and replaced on
 * update, so the hot path hands them out without copying.
 */
export class ProfileRegistry {
  readonly #actions: ActionRegistry;
  readonly #now: () => Date;
  readonly #shared: SharedRecords | undefined;
  readonly #byId = new Map<string, ProfileEntry>();
  readonly #byType = new Map<string, Readonly<StoredProfile>>();
  // Number of profiles per action, so the binding check stays O(1).
  readonly #bindings = new Map<string, number>();
  readonly #tags = new WeakMap<object, string>();
  #localTag = 0;

  constructor(options: ProfileRegistryOptions) {
    if (typeof options.actions?.addBindingCheck !== 'function') {
      throw new TypeError('ProfileRegistry: options.actions must be an ActionRegistry');
    }
    if (options.now !== undefined && typeof options.now !== 'function') {
      throw new TypeError('ProfileRegistry: options.now must be a function');
    }
    this.#actions = options.actions;
    this.#now = options.now ?? (() => new Date());
    this.#shared = options.shared;
    this.#actions.addBindingCheck((actionId) => this.isActionBound(actionId));
  }

  /**
   * Creates a profile bound to a deployed action with the `custom-token-exchange` trigger,
   * managed by the caller (`code` by default). Errors carry Auth0's messages; a missing action
   * is `invalid_body` ("Action not found"), as Auth0 answers 400: the request body is wrong, not
   * the URL.
   *
   * @throws ManagementError `invalid_body`, `action_not_deployed`, `limit_exceeded` (more than
   *   {@link MAX_PROFILES}), `conflict` (the `subject_token_type` or the `id` is taken).
   */
  async create(definition: ProfileDefinition, options: ChangeOptions = {}): Promise<Profile> {
    const body = checkBody(definition);
    for (const key of Object.keys(body)) {
      if (!CREATE_FIELDS.includes(key) && !OPTIONAL_CREATE_FIELDS.includes(key)) {
        invalid(`unknown field ${JSON.stringify(key)}`);
      }
    }
    for (const key of CREATE_FIELDS) {
      if (body[key] === undefined) invalid(`${key} is required`);
    }
    const chosenId = body.id === undefined ? undefined : checkProfileId(body.id);
    const name = checkName(body.name);
    const subjectTokenType = checkSubjectTokenType(body.subject_token_type);
    const maxTokenLength =
      body.max_token_length === undefined ? undefined : checkMaxTokenLength(body.max_token_length);
    const enforceMayAct = checkEnforceMayAct(body.enforce_may_act);
    const actionId = body.action_id;
    if (typeof actionId !== 'string' || actionId.length < 1 || actionId.length > 36) {
      invalid('action_id must be a string of 1 to 36 characters');
    }
    if (body.type !== 'custom_authentication') {
      throw new ManagementError('invalid_body', MESSAGES.typeMustBeCustom);
    }

    const action = await this.#findAction(actionId);
    if (!supportsCustomTokenExchange(action.supported_triggers)) {
      throw new ManagementError('invalid_body', MESSAGES.actionWithoutTrigger);
    }
    if (!action.deployed_version) {
      throw new ManagementError('action_not_deployed', MESSAGES.actionNotDeployed);
    }
    const id = chosenId ?? this.#newId();
    const entry = await this.#change(options.caller ?? 'code', () => {
      // From here on synchronous: nothing can slip in between the checks and the change.
      // An action is never undeployed, only deleted, so no live version means it is gone.
      if (!this.#actions.deployed(actionId)) {
        throw new ManagementError('invalid_body', MESSAGES.actionNotFound);
      }
      if (this.#byId.size >= MAX_PROFILES) {
        throw new ManagementError('limit_exceeded', MESSAGES.limitReached);
      }
      if (this.#byType.has(subjectTokenType)) {
        throw new ManagementError('conflict', MESSAGES.duplicateOnCreate);
      }
      if (this.#byId.has(id)) {
        throw new ManagementError('conflict', MESSAGES.duplicateId);
      }
      const at = this.#now().toISOString();
      return {
        id,
        profile: {
          id,
          name,
          subject_token_type: subjectTokenType,
          action_id: actionId,
          type: CUSTOM_AUTHENTICATION,
          ...(maxTokenLength === undefined ? {} : { max_token_length: maxTokenLength }),
          ...(enforceMayAct ? { enforce_may_act: true } : {}),
          created_at: at,
          updated_at: at,
        },
      };
    });
    return this.#viewAfter(entry);
  }

  /**
   * Renames a profile or moves it to another `subject_token_type`; nothing else can change.
   *
   * @throws ManagementError `not_found`, `invalid_body` ("Unable to update field." for a field
   *   that cannot change), `conflict` (another profile has the `subject_token_type`; or the
   *   Management API changing a profile managed in code), `precondition_failed`.
   */
  async update(id: string, patch: ProfilePatch, options: ChangeOptions = {}): Promise<Profile> {
    this.#changeable(id, options);
    const body = checkBody(patch);
    for (const key of Object.keys(body)) {
      if (FIXED_FIELDS.has(key)) throw new ManagementError('invalid_body', MESSAGES.unableToUpdate);
      if (!UPDATE_FIELDS.includes(key)) invalid(`unknown field ${JSON.stringify(key)}`);
    }
    const name = body.name === undefined ? undefined : checkName(body.name);
    const subjectTokenType =
      body.subject_token_type === undefined
        ? undefined
        : checkSubjectTokenType(body.subject_token_type);
    const maxTokenLength =
      body.max_token_length === undefined || body.max_token_length === null
        ? body.max_token_length
        : checkMaxTokenLength(body.max_token_length);
    const enforceMayAct =
      body.enforce_may_act === undefined ? undefined : checkEnforceMayAct(body.enforce_may_act);
    if (
      name === undefined &&
      subjectTokenType === undefined &&
      maxTokenLength === undefined &&
      enforceMayAct === undefined
    ) {
      invalid(`at least one of ${UPDATE_FIELDS.join(', ')} is required`);
    }
    await this.#syncIfStale(id, options);
    const entry = await this.#change(this.#entry(id).managedBy, () => {
      const current = this.#changeable(id, options).profile;
      const holder =
        subjectTokenType === undefined ? undefined : this.#byType.get(subjectTokenType);
      if (holder && holder.id !== current.id) {
        throw new ManagementError('conflict', MESSAGES.duplicateOnUpdate);
      }
      const {
        max_token_length: currentMaxTokenLength,
        enforce_may_act: enforced,
        ...rest
      } = current;
      const keptMaxTokenLength =
        maxTokenLength === undefined ? currentMaxTokenLength : maxTokenLength;
      return {
        id,
        profile: {
          ...rest,
          name: name ?? current.name,
          subject_token_type: subjectTokenType ?? current.subject_token_type,
          ...(keptMaxTokenLength === undefined || keptMaxTokenLength === null
            ? {}
            : { max_token_length: keptMaxTokenLength }),
          ...((enforceMayAct ?? enforced) === true ? { enforce_may_act: true } : {}),
          updated_at: this.#now().toISOString(),
        },
      };
    });
    return this.#viewAfter(entry);
  }

  /**
   * One profile (a copy).
   *
   * @throws ManagementError `not_found`.
   */
  async get(id: string): Promise<Profile> {
    return this.#view(this.#entry(id));
  }

  /** Every profile, in creation order (copies). */
  async list(): Promise<Profile[]> {
    return [...this.#byId.values()].map((entry) => this.#view(entry));
  }

  /**
   * Deletes a profile, which frees its action for deletion.
   *
   * @throws ManagementError `not_found`, `conflict` (the Management API deleting a profile
   *   managed in code), `precondition_failed`.
   */
  async delete(id: string, options: ChangeOptions = {}): Promise<void> {
    this.#changeable(id, options);
    await this.#syncIfStale(id, options);
    await this.#change(this.#entry(id).managedBy, () => {
      this.#changeable(id, options);
      return { id, profile: null };
    });
  }

  /**
   * The profile serving a token request's `subject_token_type` (exact match), or `undefined`.
   * The token endpoint's hot path: synchronous, O(1); the profile is frozen, not copied.
   */
  bySubjectTokenType(type: string): Readonly<StoredProfile> | undefined {
    return this.#byType.get(type);
  }

  /** `true` while at least one profile is bound to the action. */
  isActionBound(actionId: string): boolean {
    return this.#bindings.has(actionId);
  }

  /** The entity tag of a profile as a view of it was taken, for HTTP's `ETag`. */
  entityTag(view: object): string | undefined {
    return this.#tags.get(view);
  }

  /**
   * Takes a profile the shared store reports (`null`: deleted) at store revision `revision`. An
   * older report than the copy's is ignored; a profile managed in code is never replaced.
   */
  applyStored(id: string, profile: StoredProfile | null, revision: number): void {
    const before = this.#byId.get(id);
    if (before && (before.managedBy === 'code' || before.revision >= revision)) return;
    this.#set(id, profile, 'api', `"r${revision}"`, revision);
  }

  /**
   * Applies a change computed by `compute`: in this process for a profile managed in code (or
   * when there is no shared store), otherwise through the shared store, which applies it here
   * once committed. Resolves to the profile's entry after the change.
   */
  async #change(
    managedBy: ManagedBy,
    compute: () => { id: string; profile: StoredProfile | null },
  ): Promise<ProfileEntry | undefined> {
    if (managedBy === 'api' && this.#shared !== undefined) {
      const id = await commitShared(this.#shared, () => {
        const { id, profile } = compute();
        return { writes: [{ kind: 'profile', id, data: profile }], result: id };
      });
      return this.#byId.get(id);
    }
    const { id, profile } = compute();
    return this.#set(id, profile, managedBy, `"c${++this.#localTag}"`, 0);
  }

  #set(
    id: string,
    stored: StoredProfile | null,
    managedBy: ManagedBy,
    etag: string,
    revision: number,
  ): ProfileEntry | undefined {
    const before = this.#byId.get(id)?.profile;
    if (before) {
      this.#byType.delete(before.subject_token_type);
      const bound = (this.#bindings.get(before.action_id) ?? 1) - 1;
      if (bound > 0) this.#bindings.set(before.action_id, bound);
      else this.#bindings.delete(before.action_id);
    }
    if (stored === null) {
      this.#byId.delete(id);
      return undefined;
    }
    const profile = Object.freeze({ ...stored });
    const entry: ProfileEntry = Object.freeze({ profile, managedBy, etag, revision });
    this.#byId.set(id, entry);
    this.#byType.set(profile.subject_token_type, profile);
    this.#bindings.set(profile.action_id, (this.#bindings.get(profile.action_id) ?? 0) + 1);
    return entry;
  }

  #view(entry: ProfileEntry): Profile {
    const view: Profile = { ...entry.profile, managed_by: entry.managedBy };
    this.#tags.set(view, entry.etag);
    return view;
  }

  #viewAfter(entry: ProfileEntry | undefined): Profile {
    if (!entry) throw new ManagementError('not_found', MESSAGES.notFound);
    return this.#view(entry);
  }

  #entry(id: string): ProfileEntry {
    const entry = typeof id === 'string' ? this.#byId.get(id) : undefined;
    if (!entry) throw new ManagementError('not_found', MESSAGES.notFound);
    return entry;
  }

  /** The profile, if the caller may change it and its tag still matches `ifMatch`. */
  #changeable(id: string, options: ChangeOptions): ProfileEntry {
    const entry = this.#entry(id);
    if (options.caller === 'api' && entry.managedBy === 'code') {
      throw managedInCode(`Token exchange profile ${id}`, 'cte.profiles');
    }
    checkIfMatch(options.ifMatch, entry.etag);
    return entry;
  }

  /** A shared profile read with a tag this copy has not reached yet may be newer in the store. */
  async #syncIfStale(id: string, options: ChangeOptions): Promise<void> {
    if (options.ifMatch === undefined || this.#shared === undefined) return;
    if (this.#entry(id).etag !== options.ifMatch) await this.#shared.sync();
  }

  async #findAction(actionId: string): Promise<Action> {
    try {
      return await this.#actions.get(actionId);
    } catch (err) {
      if (err instanceof ManagementError && err.code === 'not_found') {
        throw new ManagementError('invalid_body', MESSAGES.actionNotFound);
      }
      throw err;
    }
  }

  #newId(): string {
    let id = newProfileId();
    while (this.#byId.has(id)) id = newProfileId();
    return id;
  }
}
