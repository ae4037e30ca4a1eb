import type { Action } from './action-definition.js';
import type { ActionHandler, ActionVersion } from '../sandbox/action-runner.js';
import type { ActionData, StoredAction, StoredActionVersion } from './action-state.js';
import { actionView, runnerVersionOf } from './action-state.js';
import type { ManagedBy } from './shared-records.js';

/** A version kept in this process, with its handler when it runs one. */
export interface LocalVersion {
  version: StoredActionVersion;
  handler?: ActionHandler;
}

/** One action as the registry holds it. Replaced whole on every change, never edited. */
export interface ActionEntry {
  readonly data: ActionData;
  readonly managedBy: ManagedBy;
  /** The entity tag: `"r<store revision>"` for shared actions, `"c<n>"` for local ones. */
  readonly etag: string;
  /** The store revision of a shared action (0 for a local one). */
  readonly revision: number;
  /** The frozen version the token endpoint runs, or `undefined` before the first deploy. */
  readonly live: ActionVersion | undefined;
  /** Every version, for an action kept in this process; shared ones are read from the store. */
  readonly versions: ReadonlyMap<string, LocalVersion> | undefined;
}

/**
 * The registry's actions by id, in creation order, and the bookkeeping around swapping them:
 * a live version is kept as the same object while it stays live (the runner caches by it), and
 * handed to `release` once replaced or deleted.
 */
export class ActionEntries {
  readonly #entries = new Map<string, ActionEntry>();
  readonly #tags = new WeakMap<object, string>();
  readonly #release: (version: ActionVersion) => void;
  #localTag = 0;

  constructor(release: (version: ActionVersion) => void) {
    this.#release = release;
  }

  get(id: string): ActionEntry | undefined {
    return this.#entries.get(id);
  }

  all(): ActionEntry[] {
    return [...this.#entries.values()];
  }

  /** A fresh view of `entry`, remembered with its tag for {@link tagOf}. */
  view(entry: ActionEntry): Action {
    const view = actionView(entry.data, entry.managedBy);
    this.#tags.set(view, entry.etag);
    return view;
  }

  tagOf(view: object): string | undefined {
    return this.#tags.get(view);
  }

  /** Sets (or with `data` `null`, deletes) an action kept in this process. */
  setLocal(
    id: string,
    data: ActionData | null,
    managedBy: ManagedBy,
    added: LocalVersion | undefined,
  ): ActionEntry | undefined {
    const before = this.#entries.get(id);
    if (data === null) {
      this.#remove(id, before);
      return undefined;
    }
    const versions = new Map(before?.versions);
    if (added) versions.set(added.version.id, added);
    return this.#swap(id, before, {
      data,
      managedBy,
      etag: `"c${++this.#localTag}"`,
      revision: 0,
      live: this.#liveFor(before, data),
      versions,
    });
  }

  /** Takes a shared action at store revision `revision` (see `ActionRegistry.applyStored`). */
  applyShared(id: string, stored: StoredAction | null, revision: number): void {
    const before = this.#entries.get(id);
    if (before && (before.managedBy === 'code' || before.revision >= revision)) return;
    if (stored === null) {
      this.#remove(id, before);
      return;
    }
    const data: ActionData = { stored };
    this.#swap(id, before, {
      data,
      managedBy: 'api',
      etag: `"r${revision}"`,
      revision,
      live: this.#liveFor(before, data),
      versions: undefined,
    });
  }

  /** The live version of `data`: the one `before` has when it is the same version. */
  #liveFor(before: ActionEntry | undefined, data: ActionData): ActionVersion | undefined {
    const liveId = data.stored.deployed?.version.id;
    if (before?.live && before.data.stored.deployed?.version.id === liveId) return before.live;
    return runnerVersionOf(data);
  }

  #swap(id: string, before: ActionEntry | undefined, entry: ActionEntry): ActionEntry {
    this.#entries.set(id, Object.freeze(entry));
    // Released only once the new version is live, so no lookup can see a released version. A
    // runner's release must not throw; if it does, the change has happened anyway.
    if (before?.live && before.live !== entry.live) this.#release(before.live);
    return entry;
  }

  #remove(id: string, before: ActionEntry | undefined): void {
    if (!before) return;
    this.#entries.delete(id);
    if (before.live) this.#release(before.live);
  }
}
