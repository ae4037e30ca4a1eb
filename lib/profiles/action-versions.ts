import { ManagementError } from '../errors.js';
import type { ActionEntry, LocalVersion } from './action-entries.js';
import type { StoredActionVersion } from './action-state.js';
import type { SharedRecords } from './shared-records.js';

/**
 * Every version of an action: those this process keeps with an action managed here, or those
 * the shared configuration store keeps under a shared one.
 */
export async function versionsOf(
  entry: ActionEntry,
  shared: SharedRecords | undefined,
): Promise<StoredActionVersion[]> {
  if (entry.versions) return [...entry.versions.values()].map((local) => local.version);
  return (await shared!.children('action_version', entry.data.stored.id)) as StoredActionVersion[];
}

/**
 * One version of an action, where {@link versionsOf} finds it.
 *
 * @throws ManagementError `not_found`, also for a version of another action.
 */
export async function versionOf(
  entry: ActionEntry,
  shared: SharedRecords | undefined,
  versionId: string,
): Promise<LocalVersion> {
  if (typeof versionId !== 'string') throw versionNotFound();
  if (entry.versions) {
    const local = entry.versions.get(versionId);
    if (!local) throw versionNotFound();
    return local;
  }
  const version = (await shared!.read('action_version', versionId)) as
    StoredActionVersion | undefined;
  if (!version || version.action_id !== entry.data.stored.id) throw versionNotFound();
  return { version };
}

function versionNotFound(): ManagementError {
  return new ManagementError('not_found', 'Action version not found.');
}
