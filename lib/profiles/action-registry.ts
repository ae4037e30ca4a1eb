import { randomUUID } from 'node:crypto';
import { ManagementError } from '../errors.js';
import type { ActionLimits, ActionRunner, ActionVersion } from '../sandbox/action-runner.js';
import { ActionFailure } from '../sandbox/action-runner.js';
import type {
  Action,
  ActionDefinition,
  ActionPatch,
  ActionSource,
  ParsedActionFields,
  PostExchangeActionDefinition,
  PostExchangeActionPatch,
  SupportedTrigger,
} from './action-definition.js';
import {
  CUSTOM_TOKEN_EXCHANGE_TRIGGER,
  actionLimitsProblem,
  parseActionDefinition,
  parseActionPatch,
  sourceForTriggers,
} from './action-definition.js';

/** Options of {@link ActionRegistry}. */
export interface ActionRegistryOptions {
  /** Executes versions; its `validate` checks code, its `release` frees replaced versions. */
  runner: ActionRunner;
  /** Limits of an action that gives none (each field overridable per action). */
  defaultLimits: ActionLimits;
  /** Clock for `created_at`, `updated_at`, `deployed_at`. Default `() => new Date()`. */
  now?: () => Date;
}

/** Tells whether something (a token exchange profile) still uses an action. */
export type ActionBindingCheck = (actionId: string) => boolean;

/** What a binding check holds an action for, as the messages of refused changes say it. */
export interface ActionBinding {
  /** The trigger the action must keep while bound, e.g. `custom-token-exchange`. */
  trigger: string;
  /** Who holds the action: `a token exchange profile`. */
  holder: string;
  /** What frees it: `delete the profile first`. */
  release: string;
}

/** The binding of token exchange profiles, the default of {@link ActionRegistry.addBindingCheck}. */
const PROFILE_BINDING: Readonly<ActionBinding> = Object.freeze({
  trigger: CUSTOM_TOKEN_EXCHANGE_TRIGGER.id,
  holder: 'a token exchange profile',
  release: 'delete the profile first',
});

interface DraftSecret {
  value: string;
  updated_at: string;
}

interface LiveVersion {
  version: ActionVersion;
  deployed_at: string;
  /** The draft revision the version was built from. */
  revision: number;
}

interface ActionRecord {
  readonly id: string;
  readonly created_at: string;
  name: string;
  supported_triggers: SupportedTrigger[];
  source: ActionSource;
  secrets: Map<string, DraftSecret>;
  allowed_hosts: string[];
  allowed_private_networks: string[];
  limits: ActionLimits;
  updated_at: string;
  /** Bumped by every change a version captures; compared with the live version's. */
  revision: number;
  live: LiveVersion | undefined;
  lastVersionNumber: number;
}

/**
 * Actions and their deployed versions. An action has one editable draft and at most one live,
 * immutable {@link ActionVersion}: `update` edits the draft, `deploy` freezes it. The token
 * endpoint reads only the live version, synchronously, through {@link ActionRegistry.deployed};
 * a request keeps the version object it got even if a deploy replaces it meanwhile.
 *
 * Management methods are async so that a persistent store can replace the memory one without
 * changing callers; each applies its change in one synchronous step after its last `await`, so
 * concurrent calls never see half an update. They throw {@link ManagementError}.
 */
export class ActionRegistry {
  readonly #runner: ActionRunner;
  readonly #defaultLimits: Readonly<ActionLimits>;
  readonly #now: () => Date;
  readonly #actions = new Map<string, ActionRecord>();
  readonly #bindingChecks = new Map<ActionBindingCheck, Readonly<ActionBinding>>();

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
  }

  /**
   * Registers a check consulted by {@link ActionRegistry.delete} (and by updates that drop the
   * binding's trigger): while any check answers `true` for an action, it stays. `ProfileRegistry`
   * adds its own (the default `binding`, `custom-token-exchange`), the post-exchange hook its
   * own. Returns a function that removes the check.
   */
  addBindingCheck(check: ActionBindingCheck, binding: ActionBinding = PROFILE_BINDING): () => void {
    if (typeof check !== 'function') {
      throw new TypeError('ActionRegistry: a binding check must be a function');
    }
    this.#bindingChecks.set(check, Object.freeze({ ...binding }));
    return () => {
      this.#bindingChecks.delete(check);
    };
  }

  /**
   * Creates an action with an undeployed draft. Code is syntax-checked by the runner's `validate`;
   * a runner without one cannot take code (`unsupported`).
   *
   * @throws ManagementError `invalid_body` (with the runner's line and column for a syntax
   *   error), `unsupported`, `conflict` (an action has the `id` given).
   */
  async create(definition: ActionDefinition | PostExchangeActionDefinition): Promise<Action> {
    const fields = parseActionDefinition(definition, this.#defaultLimits);
    const source = sourceForTriggers(fields.source, fields.supported_triggers);
    this.#checkIdFree(fields.id);
    await this.#checkSource(source);
    // Checked again: another create may have taken the id while the source was checked.
    this.#checkIdFree(fields.id);
    const at = this.#timestamp();
    const record: ActionRecord = {
      id: fields.id ?? this.#newId(),
      created_at: at,
      name: fields.name,
      supported_triggers: fields.supported_triggers,
      source,
      secrets: secretsAt(fields.secrets, new Map(), at),
      allowed_hosts: fields.allowed_hosts,
      allowed_private_networks: fields.allowed_private_networks,
      limits: fields.limits,
      updated_at: at,
      revision: 1,
      live: undefined,
      lastVersionNumber: 0,
    };
    this.#actions.set(record.id, record);
    return view(record);
  }

  /**
   * Changes the draft only; the live version is untouched until the next {@link deploy}.
   * Validation is the same as {@link create}'s, on the draft as the patch leaves it. An action
   * still bound to a profile cannot drop the `custom-token-exchange` trigger, nor the
   * post-exchange action the `post-exchange` one.
   *
   * @throws ManagementError `not_found`, `invalid_body`, `unsupported`, `action_in_use`.
   */
  async update(id: string, patch: ActionPatch | PostExchangeActionPatch): Promise<Action> {
    this.#record(id);
    const fields = parseActionPatch(patch, this.#defaultLimits);
    await this.#checkSource(fields.source);
    // Looked up again: the action may have been deleted while the code was being checked.
    const record = this.#record(id);
    if (fields.supported_triggers) {
      const binding = this.#bindingOf(id);
      if (binding && !fields.supported_triggers.some((t) => t.id === binding.trigger)) {
        throw new ManagementError(
          'action_in_use',
          `Action is bound to ${binding.holder} and must keep the ${binding.trigger} trigger.`,
        );
      }
    }
    const source = sourceForTriggers(
      fields.source ?? record.source,
      fields.supported_triggers ?? record.supported_triggers,
    );
    const at = this.#timestamp();
    if (fields.name !== undefined) record.name = fields.name;
    if (fields.supported_triggers) record.supported_triggers = fields.supported_triggers;
    // New triggers may wrap the same function differently: that, too, is a new source.
    if (capturesVersionChange(fields) || source !== record.source) record.revision += 1;
    record.source = source;
    if (fields.secrets) record.secrets = secretsAt(fields.secrets, record.secrets, at);
    if (fields.allowed_hosts) record.allowed_hosts = fields.allowed_hosts;
    if (fields.allowed_private_networks) {
      record.allowed_private_networks = fields.allowed_private_networks;
    }
    if (fields.limits) record.limits = fields.limits;
    record.updated_at = at;
    return view(record);
  }

  /**
   * Freezes the draft into a new immutable version (numbered one above the last), makes it live
   * and hands the replaced version to `runner.release` (the runner keeps executions already
   * holding it alive). Every call makes a new version, as Auth0's deploy does.
   *
   * @throws ManagementError `not_found`.
   */
  async deploy(id: string): Promise<Action> {
    const record = this.#record(id);
    const previous = record.live?.version;
    const number = record.lastVersionNumber + 1;
    record.lastVersionNumber = number;
    record.live = {
      version: freezeVersion(record, number),
      deployed_at: this.#timestamp(),
      revision: record.revision,
    };
    // Released only once the new version is live, so no lookup can see a released version. A
    // runner's release must not throw; if it does, the deploy has happened anyway.
    if (previous) this.#runner.release?.(previous);
    return view(record);
  }

  /**
   * The live version of an action, or `undefined` (unknown action, or never deployed). The hot
   * path of the token endpoint: synchronous, O(1), no copy (versions are frozen).
   */
  deployed(id: string): ActionVersion | undefined {
    return this.#actions.get(id)?.live?.version;
  }

  /**
   * One action (a deep copy, without secret values).
   *
   * @throws ManagementError `not_found`.
   */
  async get(id: string): Promise<Action> {
    return view(this.#record(id));
  }

  /** Every action, in creation order (deep copies, without secret values). */
  async list(): Promise<Action[]> {
    return [...this.#actions.values()].map(view);
  }

  /**
   * Deletes an action and releases its live version. Refused while a profile is bound to it
   * (delete the profile first, as in Auth0) or while it is the post-exchange action.
   *
   * @throws ManagementError `not_found`, `action_in_use`.
   */
  async delete(id: string): Promise<void> {
    const record = this.#record(id);
    const binding = this.#bindingOf(id);
    if (binding) {
      throw new ManagementError(
        'action_in_use',
        `Action is bound to ${binding.holder}; ${binding.release}.`,
      );
    }
    this.#actions.delete(id);
    if (record.live) this.#runner.release?.(record.live.version);
  }

  #record(id: string): ActionRecord {
    const record = typeof id === 'string' ? this.#actions.get(id) : undefined;
    if (!record) throw new ManagementError('not_found', 'Action not found.');
    return record;
  }

  async #checkSource(source: ActionSource | undefined): Promise<void> {
    if (!source || !('code' in source)) return;
    const runner = this.#runner;
    if (!runner.validate) {
      throw new ManagementError(
        'unsupported',
        'This router runs actions without a sandbox: give a handler instead of code, or enable the sandbox.',
      );
    }
    try {
      await runner.validate(source.code);
    } catch (err) {
      if (err instanceof ActionFailure && err.kind === 'invalid') {
        throw new ManagementError('invalid_body', err.message);
      }
      throw err;
    }
  }

  #bindingOf(id: string): Readonly<ActionBinding> | undefined {
    for (const [check, binding] of this.#bindingChecks) if (check(id)) return binding;
    return undefined;
  }

  #checkIdFree(id: string | undefined): void {
    if (id !== undefined && this.#actions.has(id)) {
      throw new ManagementError('conflict', `an action with id ${id} exists already`);
    }
  }

  #newId(): string {
    let id = randomUUID();
    while (this.#actions.has(id)) id = randomUUID();
    return id;
  }

  #timestamp(): string {
    return this.#now().toISOString();
  }
}

/** `true` when the triggers include Auth0's Custom Token Exchange trigger. */
export function supportsCustomTokenExchange(triggers: readonly SupportedTrigger[]): boolean {
  return triggers.some((trigger) => trigger.id === CUSTOM_TOKEN_EXCHANGE_TRIGGER.id);
}

// The name and triggers are not part of a version: renaming needs no redeploy.
function capturesVersionChange(fields: ParsedActionFields): boolean {
  return (
    fields.source !== undefined ||
    fields.secrets !== undefined ||
    fields.allowed_hosts !== undefined ||
    fields.allowed_private_networks !== undefined ||
    fields.limits !== undefined
  );
}

/**
 * The new secret set; a secret whose value did not change keeps its `updated_at`, so the field
 * says when the value last changed rather than when the set was last sent.
 */
function secretsAt(
  values: ReadonlyMap<string, string>,
  previous: ReadonlyMap<string, DraftSecret>,
  at: string,
): Map<string, DraftSecret> {
  const secrets = new Map<string, DraftSecret>();
  for (const [name, value] of values) {
    const before = previous.get(name);
    secrets.set(name, {
      value,
      updated_at: before && before.value === value ? before.updated_at : at,
    });
  }
  return secrets;
}

function freezeVersion(record: ActionRecord, number: number): ActionVersion {
  const secrets: Record<string, string> = {};
  for (const [name, secret] of record.secrets) secrets[name] = secret.value;
  const version: ActionVersion = {
    action_id: record.id,
    number,
    ...('code' in record.source
      ? { code: record.source.code }
      : { handler: record.source.handler }),
    secrets: Object.freeze(secrets),
    allowed_hosts: Object.freeze([...record.allowed_hosts]),
    allowed_private_networks: Object.freeze([...record.allowed_private_networks]),
    limits: Object.freeze({ ...record.limits }),
  };
  return Object.freeze(version);
}

function view(record: ActionRecord): Action {
  const action: Action = {
    id: record.id,
    name: record.name,
    supported_triggers: record.supported_triggers.map((trigger) => ({ ...trigger })),
    ...('code' in record.source ? { code: record.source.code } : {}),
    runtime: 'code' in record.source ? 'isolated-vm' : 'in-process',
    secrets: [...record.secrets].map(([name, secret]) => ({
      name,
      updated_at: secret.updated_at,
    })),
    allowed_hosts: [...record.allowed_hosts],
    allowed_private_networks: [...record.allowed_private_networks],
    limits: { ...record.limits },
    status: 'built',
    all_changes_deployed: record.live !== undefined && record.live.revision === record.revision,
    created_at: record.created_at,
    updated_at: record.updated_at,
  };
  if (record.live) {
    action.deployed_version = {
      number: record.live.version.number,
      deployed_at: record.live.deployed_at,
    };
  }
  return action;
}
