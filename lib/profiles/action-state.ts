import type { ActionHandler, ActionLimits, ActionVersion } from '../sandbox/action-runner.js';
import type {
  Action,
  ActionSource,
  ParsedActionDefinition,
  ParsedActionFields,
  SupportedTrigger,
} from './action-definition.js';
import { sourceForTriggers } from './parse-action-definition.js';
import type { ManagedBy, RecordWrite } from './shared-records.js';

/**
 * An action as plain data, the form the shared configuration store keeps (secret values in
 * clear here; they are sealed on the way to the store), and the changes made to it. Every
 * function returns new objects: the registry swaps whole states, so a reader never sees half a
 * change. A draft whose source is an in-process handler keeps the handler beside the data.
 */

/** A secret as stored: its value and when the value last changed. */
export interface StoredSecret {
  name: string;
  value: string;
  updated_at: string;
}

/** One deployed version, immutable once made. */
export interface StoredActionVersion {
  /** A UUID, Auth0's version id shape. */
  id: string;
  action_id: string;
  /** One above the action's previous version. */
  number: number;
  /** Absent for a version of an in-process handler. */
  code?: string;
  supported_triggers: SupportedTrigger[];
  secrets: StoredSecret[];
  allowed_hosts: string[];
  allowed_private_networks: string[];
  limits: ActionLimits;
  /** The draft revision the version was built from. */
  draft_revision: number;
  created_at: string;
}

/** An action's draft and its live version. */
export interface StoredAction {
  id: string;
  name: string;
  supported_triggers: SupportedTrigger[];
  /** Absent when the draft is an in-process handler. */
  code?: string;
  secrets: StoredSecret[];
  allowed_hosts: string[];
  allowed_private_networks: string[];
  limits: ActionLimits;
  created_at: string;
  updated_at: string;
  /** Bumped by every change a version captures; compared with the live version's. */
  draft_revision: number;
  last_version_number: number;
  deployed: { version: StoredActionVersion; deployed_at: string } | null;
}

/** A stored action with what cannot be stored: the handler functions of the draft and version. */
export interface ActionData {
  stored: StoredAction;
  /** The draft's handler, when its source is one. */
  handler?: ActionHandler;
  /** The live version's handler, when it runs one. */
  liveHandler?: ActionHandler;
}

/** A new action's data from a validated definition. */
export function newActionData(fields: ParsedActionDefinition, id: string, at: string): ActionData {
  const source = sourceForTriggers(fields.source, fields.supported_triggers);
  return {
    stored: {
      id,
      name: fields.name,
      supported_triggers: fields.supported_triggers,
      ...codeOf(source),
      secrets: secretsAt(fields.secrets, [], at),
      allowed_hosts: fields.allowed_hosts,
      allowed_private_networks: fields.allowed_private_networks,
      limits: fields.limits,
      created_at: at,
      updated_at: at,
      draft_revision: 1,
      last_version_number: 0,
      deployed: null,
    },
    ...handlerOf(source),
  };
}

/** The draft's source, as the runner and the trigger checks see it. */
export function sourceOf(data: ActionData): ActionSource {
  return data.handler === undefined ? { code: data.stored.code! } : { handler: data.handler };
}

/**
 * The data after a validated patch: the draft changes, the live version does not. The name and
 * triggers are not part of a version (renaming needs no redeploy), unless new triggers wrap the
 * same handler differently.
 */
export function patchedActionData(
  data: ActionData,
  fields: ParsedActionFields,
  at: string,
): ActionData {
  const current = data.stored;
  const before = sourceOf(data);
  const triggers = fields.supported_triggers ?? current.supported_triggers;
  const source = sourceForTriggers(fields.source ?? before, triggers);
  const sameSource =
    'handler' in source ? source.handler === data.handler : source.code === current.code;
  const capturesVersion =
    fields.source !== undefined ||
    fields.secrets !== undefined ||
    fields.allowed_hosts !== undefined ||
    fields.allowed_private_networks !== undefined ||
    fields.limits !== undefined ||
    !sameSource;
  const { code: _code, ...rest } = current;
  return {
    stored: {
      ...rest,
      name: fields.name ?? current.name,
      supported_triggers: triggers,
      ...codeOf(source),
      secrets: fields.secrets ? secretsAt(fields.secrets, current.secrets, at) : current.secrets,
      allowed_hosts: fields.allowed_hosts ?? current.allowed_hosts,
      allowed_private_networks: fields.allowed_private_networks ?? current.allowed_private_networks,
      limits: fields.limits ?? current.limits,
      updated_at: at,
      draft_revision: current.draft_revision + (capturesVersion ? 1 : 0),
    },
    ...handlerOf(source),
    ...(data.liveHandler === undefined ? {} : { liveHandler: data.liveHandler }),
  };
}

/** The data after a deploy of the draft as version `versionId`, and that version. */
export function deployedActionData(
  data: ActionData,
  versionId: string,
  at: string,
): { data: ActionData; version: StoredActionVersion } {
  const current = data.stored;
  const version: StoredActionVersion = {
    id: versionId,
    action_id: current.id,
    number: current.last_version_number + 1,
    ...(current.code === undefined ? {} : { code: current.code }),
    supported_triggers: current.supported_triggers,
    secrets: current.secrets,
    allowed_hosts: current.allowed_hosts,
    allowed_private_networks: current.allowed_private_networks,
    limits: current.limits,
    draft_revision: current.draft_revision,
    created_at: at,
  };
  return {
    data: {
      stored: {
        ...current,
        last_version_number: version.number,
        deployed: { version, deployed_at: at },
      },
      ...(data.handler === undefined ? {} : { handler: data.handler, liveHandler: data.handler }),
    },
    version,
  };
}

/**
 * The data after deploying an earlier version again (Auth0's roll back): a new version, numbered
 * above the last, with the earlier one's content. With `updateDraft` the draft takes that
 * content too (a new draft revision, which the new version was built from); otherwise the draft
 * is kept and shows changes not deployed.
 */
export function redeployedActionData(
  data: ActionData,
  earlier: StoredActionVersion,
  earlierHandler: ActionHandler | undefined,
  updateDraft: boolean,
  versionId: string,
  at: string,
): { data: ActionData; version: StoredActionVersion } {
  const current = data.stored;
  const draftRevision = current.draft_revision + (updateDraft ? 1 : 0);
  const version: StoredActionVersion = {
    ...earlier,
    id: versionId,
    number: current.last_version_number + 1,
    // A draft revision the draft never had, unless the draft takes the version's content.
    draft_revision: updateDraft ? draftRevision : -1,
    created_at: at,
  };
  const { code: _code, ...rest } = current;
  const stored: StoredAction = updateDraft
    ? {
        ...rest,
        ...(earlier.code === undefined ? {} : { code: earlier.code }),
        supported_triggers: earlier.supported_triggers,
        secrets: earlier.secrets,
        allowed_hosts: earlier.allowed_hosts,
        allowed_private_networks: earlier.allowed_private_networks,
        limits: earlier.limits,
        updated_at: at,
        draft_revision: draftRevision,
      }
    : current;
  const draftHandler = updateDraft ? earlierHandler : data.handler;
  return {
    data: {
      stored: {
        ...stored,
        last_version_number: version.number,
        deployed: { version, deployed_at: at },
      },
      ...(draftHandler === undefined ? {} : { handler: draftHandler }),
      ...(earlierHandler === undefined ? {} : { liveHandler: earlierHandler }),
    },
    version,
  };
}

/** The frozen version the runner executes: the live one of `data`, or `undefined`. */
export function runnerVersionOf(data: ActionData): ActionVersion | undefined {
  const live = data.stored.deployed?.version;
  if (live === undefined) return undefined;
  const secrets: Record<string, string> = {};
  for (const secret of live.secrets) secrets[secret.name] = secret.value;
  return Object.freeze({
    action_id: live.action_id,
    number: live.number,
    ...(data.liveHandler === undefined ? { code: live.code! } : { handler: data.liveHandler }),
    secrets: Object.freeze(secrets),
    allowed_hosts: Object.freeze([...live.allowed_hosts]),
    allowed_private_networks: Object.freeze([...live.allowed_private_networks]),
    limits: Object.freeze({ ...live.limits }),
  });
}

/** An action as the handles show it: a deep copy without secret values or handlers. */
export function actionView(data: ActionData, managedBy: ManagedBy): Action {
  const stored = data.stored;
  const action: Action = {
    id: stored.id,
    name: stored.name,
    supported_triggers: stored.supported_triggers.map((trigger) => ({ ...trigger })),
    ...(stored.code === undefined ? {} : { code: stored.code }),
    runtime: data.handler === undefined ? 'isolated-vm' : 'in-process',
    secrets: secretInfo(stored.secrets),
    allowed_hosts: [...stored.allowed_hosts],
    allowed_private_networks: [...stored.allowed_private_networks],
    limits: { ...stored.limits },
    status: 'built',
    all_changes_deployed:
      stored.deployed !== null && stored.deployed.version.draft_revision === stored.draft_revision,
    managed_by: managedBy,
    created_at: stored.created_at,
    updated_at: stored.updated_at,
  };
  if (stored.deployed) {
    action.deployed_version = {
      id: stored.deployed.version.id,
      number: stored.deployed.version.number,
      deployed_at: stored.deployed.deployed_at,
    };
  }
  return action;
}

/** A version as the handles show it (Auth0's action version, without secret values). */
export interface ActionVersionView {
  id: string;
  action_id: string;
  number: number;
  /** Absent for a version of an in-process handler. */
  code?: string;
  runtime: 'isolated-vm' | 'in-process';
  supported_triggers: SupportedTrigger[];
  secrets: Array<{ name: string; updated_at: string }>;
  allowed_hosts: string[];
  allowed_private_networks: string[];
  limits: ActionLimits;
  /** `true` for the version exchanges run now. */
  deployed: boolean;
  status: 'built';
  created_at: string;
}

/** The view of `version`, one of `data`'s. */
export function versionView(data: ActionData, version: StoredActionVersion): ActionVersionView {
  return {
    id: version.id,
    action_id: version.action_id,
    number: version.number,
    ...(version.code === undefined ? {} : { code: version.code }),
    runtime: version.code === undefined ? 'in-process' : 'isolated-vm',
    supported_triggers: version.supported_triggers.map((trigger) => ({ ...trigger })),
    secrets: secretInfo(version.secrets),
    allowed_hosts: [...version.allowed_hosts],
    allowed_private_networks: [...version.allowed_private_networks],
    limits: { ...version.limits },
    deployed: data.stored.deployed?.version.id === version.id,
    status: 'built',
    created_at: version.created_at,
  };
}

function secretInfo(secrets: readonly StoredSecret[]): Array<{ name: string; updated_at: string }> {
  return secrets.map(({ name, updated_at }) => ({ name, updated_at }));
}

/**
 * The new secret set; a secret whose value did not change keeps its `updated_at`, so the field
 * says when the value last changed rather than when the set was last sent.
 */
function secretsAt(
  values: ReadonlyMap<string, string>,
  previous: readonly StoredSecret[],
  at: string,
): StoredSecret[] {
  const before = new Map(previous.map((secret) => [secret.name, secret]));
  return [...values].map(([name, value]) => {
    const kept = before.get(name);
    return { name, value, updated_at: kept && kept.value === value ? kept.updated_at : at };
  });
}

function codeOf(source: ActionSource): { code?: string } {
  return 'code' in source ? { code: source.code } : {};
}

function handlerOf(source: ActionSource): { handler?: ActionHandler } {
  return 'handler' in source ? { handler: source.handler } : {};
}

/** The draft as the version it would deploy: its source, secrets and network settings, to test. */
export function draftOf(data: ActionData): { source: ActionSource; version: ActionVersion } {
  const stored = data.stored;
  const secrets: Record<string, string> = {};
  for (const secret of stored.secrets) secrets[secret.name] = secret.value;
  return {
    source: sourceOf(data),
    version: {
      action_id: stored.id,
      number: stored.last_version_number + 1,
      ...(stored.code === undefined ? {} : { code: stored.code }),
      secrets,
      allowed_hosts: [...stored.allowed_hosts],
      allowed_private_networks: [...stored.allowed_private_networks],
      limits: { ...stored.limits },
    },
  };
}

/** The shared store's record of an action. */
export function actionWrite(stored: StoredAction): RecordWrite {
  return { kind: 'action', id: stored.id, data: stored };
}

/** The shared store's record of an action version, under its action. */
export function versionWrite(version: StoredActionVersion): RecordWrite {
  return { kind: 'action_version', id: version.id, parent: version.action_id, data: version };
}
