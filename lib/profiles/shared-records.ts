import { ManagementError } from '../errors.js';

/**
 * Where an object is managed. `code`: created by the host's own code through the JavaScript
 * handles (each instance creates it at start-up, as its code says), kept in the process; the
 * Management API lists it and refuses to change it. `api`: created through the Management API,
 * kept in the shared configuration store, on every instance.
 */
export type ManagedBy = 'code' | 'api';

/** Who asks for a change: the host's code through a handle, or a Management API request. */
export interface ChangeOptions {
  /** Default `code`. */
  caller?: ManagedBy;
  /**
   * The entity tag the caller last read (an HTTP `If-Match`): the change is refused with
   * `precondition_failed` when the object has changed since. Absent: last write wins.
   */
  ifMatch?: string;
}

/** One plain document the registries write to the shared store (`data` `null` deletes it). */
export interface RecordWrite {
  kind: 'action' | 'action_version' | 'profile' | 'settings';
  id: string;
  parent?: string;
  data: object | null;
}

/**
 * The shared configuration as the registries see it: the store revision their copy reflects,
 * and commits that succeed only from that revision. A successful commit is applied to the
 * registries (through their `applyStored` methods) before it resolves.
 */
export interface SharedRecords {
  readonly revision: number;
  /** Resolves `false`, writing nothing, when the store is past `basedOn`. */
  commit(writes: readonly RecordWrite[], basedOn: number): Promise<boolean>;
  /** Brings the registries up to the store's latest revision. */
  sync(): Promise<void>;
  /** One document of the store, decoded (secrets opened), or `undefined`. */
  read(kind: RecordWrite['kind'], id: string): Promise<object | undefined>;
  /** The documents of `kind` belonging to `parent`, decoded, in creation order. */
  children(kind: RecordWrite['kind'], parent: string): Promise<object[]>;
}

/** How often a change is computed again because another instance changed the store first. */
const MAX_COMMIT_ATTEMPTS = 8;

/**
 * Commits a change computed against the registries' copy: `compute` runs synchronously against
 * the copy at the revision the commit is based on (so its checks see one consistent state), and
 * runs again after a sync when another instance committed first. Resolves to what the last
 * `compute` returned.
 *
 * @throws ManagementError `conflict` when the store kept moving on through every attempt.
 */
export async function commitShared<T>(
  shared: SharedRecords,
  compute: () => { writes: RecordWrite[]; result: T },
): Promise<T> {
  for (let attempt = 0; attempt < MAX_COMMIT_ATTEMPTS; attempt += 1) {
    const basedOn = shared.revision;
    const { writes, result } = compute();
    if (writes.length === 0 || (await shared.commit(writes, basedOn))) return result;
    await shared.sync();
  }
  throw new ManagementError(
    'conflict',
    'The configuration kept changing while this change was being made; try again.',
  );
}

/** The message of a change the Management API may not make to an object managed in code. */
export function managedInCode(what: string, handle: string): ManagementError {
  return new ManagementError(
    'conflict',
    `${what} is managed in code: it is defined by the host application at start-up ` +
      `(through ${handle}); change it there, not through the Management API.`,
  );
}

/** Refuses a change whose `If-Match` no longer names the object's current entity tag. */
export function checkIfMatch(ifMatch: string | undefined, etag: string): void {
  if (ifMatch === undefined) return;
  const tags = ifMatch.split(',').map((tag) => tag.trim());
  if (tags.includes('*') || tags.includes(etag)) return;
  throw new ManagementError(
    'precondition_failed',
    'The resource has changed since it was read (If-Match does not match its ETag).',
  );
}
