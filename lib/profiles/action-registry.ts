import { randomUUID } from 'node:crypto';
import { ManagementError } from '../errors.js';
import type { ActionLimits, ActionRunner, ActionVersion } from '../sandbox/action-runner.js';
import type {
  Action,
  ActionDefinition,
  ActionPatch,
  ActionSource,
  PostExchangeActionDefinition,
  PostExchangeActionPatch,
} from './action-definition.js';
import {
  actionLimitsProblem,
  parseActionDefinition,
  parseActionPatch,
} from './parse-action-definition.js';
import type { ActionData, ActionVersionView, StoredAction } from './action-state.js';
import {
  actionWrite,
  deployedActionData,
  draftOf,
  newActionData,
  patchedActionData,
  redeployedActionData,
  versionView,
  versionWrite,
} from './action-state.js';
import { checkActionSource } from './check-action-source.js';
import { versionOf, versionsOf } from './action-versions.js';
import { ActionBindings } from './action-bindings.js';
import type { ActionBinding, ActionBindingCheck } from './action-bindings.js';
import { ActionEntries } from './action-entries.js';
import type { ActionEntry, LocalVersion } from './action-entries.js';
export type { ActionBinding, ActionBindingCheck } from './action-bindings.js';
import type { ChangeOptions, ManagedBy, RecordWrite, SharedRecords } from './shared-records.js';
import { checkIfMatch, commitShared, managedInCode } from './shared-records.js';

/** Options of {@link ActionRegistry}. */
export interface ActionRegistryOptions {
  /** Executes versions; its `validate` checks code, its `release` frees replaced versions. */
  runner: ActionRunner;
  /** Limits of an action that gives none (each field overridable per action). */
  defaultLimits: ActionLimits;
  /** Clock for `created_at`, `updated_at`, `deployed_at`. Default `() => new Date()`. */
  now?: () => Date;
  /**
   * The shared configuration store the actions the Management API creates live in. Without it,
   * they are kept in this process like the others.
   */
  shared?: SharedRecords;
}

/** Options of {@link ActionRegistry.deployVersion}. */
export interface DeployVersionOptions extends ChangeOptions {
  /** Whether the draft takes the version's content too. Default `false`, as in Auth0. */
  update_draft?: boolean;
}

/**
 * Actions and their versions. An action has one editable draft and at most one live, immutable
 * {@link ActionVersion}: `update` edits the draft, `deploy` freezes it into a new version, and
 * `deployVersion` deploys an earlier version again (a roll back). The token endpoint reads only
 * the live version, synchronously, through {@link ActionRegistry.deployed}; a request keeps the
 * version object it got even if a deploy replaces it meanwhile.
 *
 * Actions the host's code defines are kept here; those the Management API creates are kept in
 * the shared configuration store (when there is one) and copied here as the store reports them.
 * Every change is computed against this copy in one synchronous step after its last `await`, so
 * concurrent calls never see half an update, and a shared change is committed only if the store
 * has not moved on meanwhile (it is computed again otherwise). Methods throw
 * {@link ManagementError}.
 */
export class ActionRegistry {
  readonly #runner: ActionRunner;
  readonly #defaultLimits: Readonly<ActionLimits>;
  readonly #now: () => Date;
  readonly #shared: SharedRecords | undefined;
  readonly #entries: ActionEntries;
  readonly #bindings = new ActionBindings();

  constructor(options: ActionRegistryOptions) {
    const runner = options.runner as Partial<ActionRunner> | undefined;
    if (typeof runner?.run !== 'function') {
      throw new TypeError('ActionRegistry: options.runner must be an ActionRunner');
    }
    const problem = actionLimitsProblem(options.defaultLimits);
    if (problem !== undefined) {
      throw new TypeError(`ActionRegistry: options.defaultLimits${problem}`);
    }
    if (options.now !== undefined && typeof options.now !== 'function') {
      throw new TypeError('ActionRegistry: options.now must be a function');
    }
    this.#runner = options.runner;
    this.#defaultLimits = Object.freeze({ ...options.defaultLimits });
    this.#now = options.now ?? (() => new Date());
    this.#shared = options.shared;
    this.#entries = new ActionEntries((version) => this.#runner.release?.(version));
  }

  /**
   * Registers a check consulted by {@link ActionRegistry.delete} (and by updates that drop the
   * binding's trigger): while any check answers `true` for an action, it stays. `ProfileRegistry`
   * adds its own (the default `binding`, `custom-token-exchange`), the post-exchange hook its
   * own. Returns a function that removes the check.
   */
  addBindingCheck(check: ActionBindingCheck, binding?: ActionBinding): () => void {
    return this.#bindings.add(check, binding);
  }

  /**
   * Creates an action with an undeployed draft, managed by the caller (`code` by default). Code
   * is syntax-checked by the runner's `validate`; a runner without one cannot take code
   * (`unsupported`).
   *
   * @throws ManagementError `invalid_body` (with the runner's line and column for a syntax
   *   error), `unsupported`, `conflict` (an action has the `id` given).
   */
  async create(
    definition: ActionDefinition | PostExchangeActionDefinition,
    options: ChangeOptions = {},
  ): Promise<Action> {
    const fields = parseActionDefinition(definition, this.#defaultLimits);
    const managedBy = options.caller ?? 'code';
    this.#checkIdFree(fields.id);
    await checkActionSource(this.#runner, fields.source);
    const id = fields.id ?? this.#newId();
    const created = await this.#change(managedBy, () => {
      // Checked again: another create may have taken the id while the source was checked.
      this.#checkIdFree(fields.id);
      const data = newActionData(fields, id, this.#timestamp());
      if (managedBy === 'api' && data.handler !== undefined) {
        throw new ManagementError('invalid_body', 'Invalid request body: code is required.');
      }
      return { id, data, writes: [actionWrite(data.stored)] };
    });
    return this.#viewAfter(created);
  }

  /**
   * Changes the draft only; the live version is untouched until the next {@link deploy}.
   * Validation is the same as {@link create}'s, on the draft as the patch leaves it. An action
   * still bound to a profile cannot drop the `custom-token-exchange` trigger, nor the
   * post-exchange action the `post-exchange` one.
   *
   * @throws ManagementError `not_found`, `invalid_body`, `unsupported`, `action_in_use`,
   *   `conflict` (the Management API changing an action managed in code), `precondition_failed`.
   */
  async update(
    id: string,
    patch: ActionPatch | PostExchangeActionPatch,
    options: ChangeOptions = {},
  ): Promise<Action> {
    this.#changeable(id, options);
    const fields = parseActionPatch(patch, this.#defaultLimits);
    await checkActionSource(this.#runner, fields.source);
    await this.#syncIfStale(id, options);
    const updated = await this.#change(this.#entry(id).managedBy, () => {
      // Looked up again: the action may have been deleted while the code was being checked.
      const entry = this.#changeable(id, options);
      if (fields.supported_triggers) this.#bindings.checkKept(id, fields.supported_triggers);
      const data = patchedActionData(entry.data, fields, this.#timestamp());
      return { id, data, writes: [actionWrite(data.stored)] };
    });
    return this.#viewAfter(updated);
  }

  /**
   * Freezes the draft into a new immutable version (numbered one above the last), makes it live
   * and hands the replaced version to `runner.release` (the runner keeps executions already
   * holding it alive). Every call makes a new version, as Auth0's deploy does.
   *
   * @throws ManagementError `not_found`, `conflict`, `precondition_failed`.
   */
  async deploy(id: string, options: ChangeOptions = {}): Promise<Action> {
    this.#changeable(id, options);
    await this.#syncIfStale(id, options);
    const deployed = await this.#change(this.#entry(id).managedBy, () => {
      const entry = this.#changeable(id, options);
      const { data, version } = deployedActionData(entry.data, randomUUID(), this.#timestamp());
      return {
        id,
        data,
        writes: [actionWrite(data.stored), versionWrite(version)],
        version: { version, ...(data.liveHandler ? { handler: data.liveHandler } : {}) },
      };
    });
    return this.#viewAfter(deployed);
  }

  /**
   * Deploys an earlier version of an action again, as a new version numbered above the last
   * (Auth0's roll back); with `update_draft` the draft takes its content too.
   *
   * @throws ManagementError `not_found` (the action or the version), `conflict`,
   *   `precondition_failed`.
   */
  async deployVersion(
    id: string,
    versionId: string,
    options: DeployVersionOptions = {},
  ): Promise<ActionVersionView> {
    this.#changeable(id, options);
    if (options.update_draft !== undefined && typeof options.update_draft !== 'boolean') {
      throw new ManagementError(
        'invalid_body',
        'Invalid request body: update_draft must be a boolean.',
      );
    }
    const earlier = await versionOf(this.#entry(id), this.#shared, versionId);
    await this.#syncIfStale(id, options);
    const result = await this.#change(this.#entry(id).managedBy, () => {
      const entry = this.#changeable(id, options);
      const { data, version } = redeployedActionData(
        entry.data,
        earlier.version,
        earlier.handler,
        options.update_draft === true,
        randomUUID(),
        this.#timestamp(),
      );
      return {
        id,
        data,
        writes: [actionWrite(data.stored), versionWrite(version)],
        version: { version, ...(earlier.handler ? { handler: earlier.handler } : {}) },
      };
    });
    return this.version(id, this.#viewAfter(result).deployed_version!.id);
  }

  /**
   * The live version of an action, or `undefined` (unknown action, or never deployed). The hot
   * path of the token endpoint: synchronous, O(1), no copy (versions are frozen).
   */
  deployed(id: string): ActionVersion | undefined {
    return this.#entries.get(id)?.live;
  }

  /**
   * One action (a deep copy, without secret values).
   *
   * @throws ManagementError `not_found`.
   */
  async get(id: string): Promise<Action> {
    return this.#entries.view(this.#entry(id));
  }

  /** Every action, in creation order (deep copies, without secret values). */
  async list(): Promise<Action[]> {
    return this.#entries.all().map((entry) => this.#entries.view(entry));
  }

  /**
   * Every version of an action, newest first.
   *
   * @throws ManagementError `not_found`.
   */
  async versions(id: string): Promise<ActionVersionView[]> {
    const versions = await versionsOf(this.#entry(id), this.#shared);
    const current = this.#entry(id);
    return versions
      .sort((a, b) => b.number - a.number)
      .map((version) => versionView(current.data, version));
  }

  /**
   * One version of an action.
   *
   * @throws ManagementError `not_found`.
   */
  async version(id: string, versionId: string): Promise<ActionVersionView> {
    const { version } = await versionOf(this.#entry(id), this.#shared, versionId);
    return versionView(this.#entry(id).data, version);
  }

  /**
   * Deletes an action with its versions and releases its live version. Refused while a profile
   * is bound to it (delete the profile first, as in Auth0) or while it is the post-exchange
   * action.
   *
   * @throws ManagementError `not_found`, `action_in_use`, `conflict`, `precondition_failed`.
   */
  async delete(id: string, options: ChangeOptions = {}): Promise<void> {
    this.#changeable(id, options);
    await this.#syncIfStale(id, options);
    const entry = this.#entry(id);
    // Versions kept in this process go with their entry; shared ones are deleted with it.
    const versionIds = entry.versions
      ? []
      : (await versionsOf(entry, this.#shared)).map((version) => version.id);
    await this.#change(entry.managedBy, () => {
      this.#changeable(id, options);
      const binding = this.#bindings.of(id);
      if (binding) {
        throw new ManagementError(
          'action_in_use',
          `Action is bound to ${binding.holder}; ${binding.release}.`,
        );
      }
      const writes: RecordWrite[] = [
        { kind: 'action', id, data: null },
        ...versionIds.map((versionId) => ({
          kind: 'action_version' as const,
          id: versionId,
          data: null,
        })),
      ];
      return { id, data: null, writes };
    });
  }

  /** The entity tag of an action as a view of it was taken, for HTTP's `ETag`. */
  entityTag(view: object): string | undefined {
    return this.#entries.tagOf(view);
  }

  /**
   * Takes an action the shared store reports (`null`: deleted) at store revision `revision`. An
   * older report than the copy's is ignored; an action managed in code is never replaced.
   */
  applyStored(id: string, stored: StoredAction | null, revision: number): void {
    this.#entries.applyShared(id, stored, revision);
  }

  /** The source, secrets and network settings of an action's draft, to test it. */
  draft(id: string): { source: ActionSource; version: ActionVersion } {
    return draftOf(this.#entry(id).data);
  }

  /**
   * Applies a change computed by `compute`: in this process for an action managed in code (or
   * when there is no shared store), otherwise committed to the shared store, which applies it
   * here once committed. Resolves to the action's view after the change.
   */
  async #change(
    managedBy: ManagedBy,
    compute: () => {
      id: string;
      data: ActionData | null;
      writes: RecordWrite[];
      version?: LocalVersion;
    },
  ): Promise<ActionEntry | undefined> {
    let entry: ActionEntry | undefined;
    if (managedBy === 'api' && this.#shared !== undefined) {
      const id = await commitShared(this.#shared, () => {
        const change = compute();
        return { writes: change.writes, result: change.id };
      });
      entry = this.#entries.get(id);
    } else {
      const change = compute();
      entry = this.#entries.setLocal(change.id, change.data, managedBy, change.version);
    }
    return entry;
  }

  /** The view of the action a change left (gone only if another change deleted it since). */
  #viewAfter(entry: ActionEntry | undefined): Action {
    if (!entry) throw new ManagementError('not_found', 'Action not found.');
    return this.#entries.view(entry);
  }

  #entry(id: string): ActionEntry {
    const entry = typeof id === 'string' ? this.#entries.get(id) : undefined;
    if (!entry) throw new ManagementError('not_found', 'Action not found.');
    return entry;
  }

  /** The action, if the caller may change it and its tag still matches `ifMatch`. */
  #changeable(id: string, options: ChangeOptions): ActionEntry {
    const entry = this.#entry(id);
    if (options.caller === 'api' && entry.managedBy === 'code') {
      throw managedInCode(`Action ${id}`, 'cte.actions');
    }
    checkIfMatch(options.ifMatch, entry.etag);
    return entry;
  }

  /** A shared action read with a tag this copy has not reached yet may be newer in the store. */
  async #syncIfStale(id: string, options: ChangeOptions): Promise<void> {
    if (options.ifMatch === undefined || this.#shared === undefined) return;
    if (this.#entry(id).etag !== options.ifMatch) await this.#shared.sync();
  }

  #checkIdFree(id: string | undefined): void {
    if (id !== undefined && this.#entries.get(id)) {
      throw new ManagementError('conflict', `an action with id ${id} exists already`);
    }
  }

  #newId(): string {
    let id = randomUUID();
    while (this.#entries.get(id)) id = randomUUID();
    return id;
  }

  #timestamp(): string {
    return this.#now().toISOString();
  }
}
