/**
 * The configuration every instance of a deployment shares: actions (their drafts and every
 * deployed version), token exchange profiles, and attack-protection settings, as JSON documents.
 * The router keeps its own synchronous copy for the token endpoint and brings it up to date from
 * the store: at start (`load`), when the store signals a change (`subscribe`), and every little
 * while in any case (`changes`).
 *
 * Writes are optimistic: `commit` applies a batch only when the store is still at the revision
 * the writer computed it against, so checks that span documents (a `subject_token_type` used
 * once, an action bound to a profile kept) hold across instances without locks held by callers.
 * Every commit moves the store's revision on by one; every document written carries the new
 * revision.
 */

/** What a document holds. */
export type ConfigKind = 'action' | 'action_version' | 'profile' | 'settings';

/** One document as the store holds it. */
export interface ConfigDocument {
  kind: ConfigKind;
  id: string;
  /** The document it belongs to (an action, for its versions), or `null`. */
  parent: string | null;
  /** The store revision of the commit that last wrote it. */
  revision: number;
  /**
   * The document's JSON text, parsed; `null` for a document deleted at `revision` (only
   * `changes()` reports those).
   */
  data: unknown;
}

/** One document of a commit: `data` `null` deletes it. */
export interface ConfigWrite {
  kind: ConfigKind;
  id: string;
  parent?: string | null;
  data: unknown;
}

/** The whole configuration of some kinds, as of one revision. */
export interface ConfigSnapshot {
  revision: number;
  documents: ConfigDocument[];
}

/** What changed after a revision, up to the one given. */
export interface ConfigChanges {
  revision: number;
  /** In revision order; deleted documents have `data: null`. */
  changes: ConfigDocument[];
}

/**
 * A shared configuration store: `MemoryConfigStore` (one process, the default) or
 * `PostgresConfigStore` (every instance on one database). Implement it for another database;
 * `configStoreContract` (from `/testing`) checks an implementation.
 */
export interface ConfigStore {
  /** Every live document of `kinds` and the revision they are at. */
  load(kinds: readonly ConfigKind[]): Promise<ConfigSnapshot>;
  /** Documents of `kinds` written or deleted after revision `since`, and the latest revision. */
  changes(since: number, kinds: readonly ConfigKind[]): Promise<ConfigChanges>;
  /** One live document, or `undefined`. */
  read(kind: ConfigKind, id: string): Promise<ConfigDocument | undefined>;
  /** The live documents of `kind` whose `parent` is `parent`, in the order they were created. */
  children(kind: ConfigKind, parent: string): Promise<ConfigDocument[]>;
  /**
   * Writes every document of `writes` at once, only if the store's revision is still `basedOn`.
   * Resolves to the new revision (`basedOn + 1`), or `undefined` when another commit came first
   * (nothing is written then). Listeners of every instance are told afterwards.
   */
  commit(writes: readonly ConfigWrite[], basedOn: number): Promise<number | undefined>;
  /**
   * Calls `listener` soon after any commit, from any instance, when the store can tell (it may
   * also call it when nothing changed, e.g. after a reconnection, when changes may have been
   * missed). Returns a function that stops it.
   */
  subscribe(listener: () => void): () => void;
  /** Stops listening and releases what the store holds open (not a database given to it). */
  close(): Promise<void>;
}

/** Whether `value` has the methods of a {@link ConfigStore}. */
export function isConfigStore(value: unknown): value is ConfigStore {
  if (typeof value !== 'object' || value === null) return false;
  const candidate = value as Record<string, unknown>;
  return CONFIG_STORE_METHODS.every((method) => typeof candidate[method] === 'function');
}

/** The methods a {@link ConfigStore} has. */
export const CONFIG_STORE_METHODS = [
  'load',
  'changes',
  'read',
  'children',
  'commit',
  'subscribe',
  'close',
] as const;
