import type { SecretSealer } from '../stores/config-secrets.js';
import type { ConfigDocument, ConfigKind, ConfigStore } from '../stores/config-store.js';
import type { StoredAction } from './action-state.js';
import type { StoredProfile } from './profile.js';
import type { RecordWrite, SharedRecords } from './shared-records.js';

/** The registries a {@link ConfigSync} keeps up to date with the store. */
export interface ConfigSyncTargets {
  actions: { applyStored(id: string, stored: StoredAction | null, revision: number): void };
  profiles: { applyStored(id: string, profile: StoredProfile | null, revision: number): void };
  /** Settings documents (suspicious IP throttling's). */
  settings: { applyStored(id: string, settings: never, revision: number): void };
}

/** Options of {@link ConfigSync}. */
export interface ConfigSyncOptions {
  store: ConfigStore;
  /** Seals action secret values before they reach the store; absent, they are stored as given. */
  sealer: SecretSealer | undefined;
  /** How often the copy is brought up to date even without a notification, in ms. */
  resyncIntervalMs: number;
  /** Where a failed background sync is reported (the next one tries again). */
  onError: (error: unknown) => void;
}

/** The kinds the registries copy; versions are read from the store when asked for. */
const COPIED_KINDS: readonly ConfigKind[] = ['action', 'profile', 'settings'];

/**
 * Keeps the registries' synchronous copy of the shared configuration up to date: loads it at
 * `start()`, pulls the changes when the store signals one and every `resyncIntervalMs` in any
 * case, and commits the registries' changes (each applied here before `commit` resolves). Action
 * secrets are sealed on the way to the store and opened on the way back, so the store holds
 * no secret in clear and every write seals with the ring's current key.
 */
export class ConfigSync implements SharedRecords {
  readonly #store: ConfigStore;
  readonly #sealer: SecretSealer | undefined;
  readonly #resyncIntervalMs: number;
  readonly #onError: (error: unknown) => void;
  #targets: ConfigSyncTargets | undefined;
  #revision = 0;
  #loaded = false;
  // The pull that runs now (or last ran), and one queued behind it that any caller may join.
  #running: Promise<void> = Promise.resolve();
  #queued: Promise<void> | undefined;
  #unsubscribe: (() => void) | undefined;
  #timer: NodeJS.Timeout | undefined;

  constructor(options: ConfigSyncOptions) {
    this.#store = options.store;
    this.#sealer = options.sealer;
    this.#resyncIntervalMs = options.resyncIntervalMs;
    this.#onError = options.onError;
  }

  get revision(): number {
    return this.#revision;
  }

  /**
   * Whether the whole configuration has been read once: by the first load, or, when that
   * failed (the store was down), by a later sync from the start.
   */
  get loaded(): boolean {
    return this.#loaded;
  }

  /** Loads the whole configuration into `targets`, then follows the store's changes. */
  async start(targets: ConfigSyncTargets): Promise<void> {
    this.#targets = targets;
    const background = () => {
      this.sync().catch(this.#onError);
    };
    this.#unsubscribe = this.#store.subscribe(background);
    this.#timer = setInterval(background, this.#resyncIntervalMs);
    this.#timer.unref();
    const snapshot = await this.#store.load(COPIED_KINDS);
    for (const document of snapshot.documents) this.#apply(document);
    this.#revision = Math.max(this.#revision, snapshot.revision);
    this.#loaded = true;
  }

  async commit(writes: readonly RecordWrite[], basedOn: number): Promise<boolean> {
    const sealed = writes.map((write) => ({
      kind: write.kind,
      id: write.id,
      parent: write.parent ?? null,
      data: write.data === null ? null : this.#seal(write.kind, write.data),
    }));
    const revision = await this.#store.commit(sealed, basedOn);
    if (revision === undefined) return false;
    await this.sync();
    return true;
  }

  /** Pulls the changes made since the copy's revision; every call is answered by a later pull. */
  sync(): Promise<void> {
    if (this.#queued) return this.#queued;
    const next = this.#running
      .catch(() => undefined)
      .then(() => {
        this.#queued = undefined;
        return this.#pull();
      });
    this.#queued = next;
    this.#running = next;
    return next;
  }

  async read(kind: RecordWrite['kind'], id: string): Promise<object | undefined> {
    const document = await this.#store.read(kind, id);
    return document === undefined ? undefined : this.#open(kind, document.data);
  }

  async children(kind: RecordWrite['kind'], parent: string): Promise<object[]> {
    const documents = await this.#store.children(kind, parent);
    return documents.map((document) => this.#open(kind, document.data));
  }

  /** Stops following the store (the store itself belongs to the caller). */
  async close(): Promise<void> {
    this.#unsubscribe?.();
    if (this.#timer) clearInterval(this.#timer);
    await this.#running.catch(() => undefined);
  }

  async #pull(): Promise<void> {
    if (this.#targets === undefined) return;
    const { revision, changes } = await this.#store.changes(this.#revision, COPIED_KINDS);
    for (const document of changes) this.#apply(document);
    this.#revision = Math.max(this.#revision, revision);
    this.#loaded = true;
  }

  #apply(document: ConfigDocument): void {
    const data = document.data === null ? null : this.#open(document.kind, document.data);
    if (document.kind === 'action') {
      this.#targets!.actions.applyStored(
        document.id,
        data as StoredAction | null,
        document.revision,
      );
    } else if (document.kind === 'settings') {
      this.#targets!.settings.applyStored(document.id, data as never, document.revision);
    } else if (document.kind === 'profile') {
      this.#targets!.profiles.applyStored(
        document.id,
        data as StoredProfile | null,
        document.revision,
      );
    }
  }

  #seal(kind: ConfigKind, data: object): object {
    return this.#mapSecrets(kind, data, (value) => this.#sealer!.seal(value));
  }

  #open(kind: ConfigKind, data: unknown): object {
    return this.#mapSecrets(kind, data as object, (value) => this.#sealer!.open(value));
  }

  /** A copy of an action or version document with every secret value passed through `map`. */
  #mapSecrets(kind: ConfigKind, data: object, map: (value: string) => string): object {
    if (this.#sealer === undefined || (kind !== 'action' && kind !== 'action_version')) {
      return data;
    }
    const copy = structuredClone(data) as {
      secrets?: Array<{ value: string }>;
      deployed?: { version: { secrets: Array<{ value: string }> } } | null;
    };
    // The draft and its live version may share their secrets (a clone keeps the sharing):
    // each secret is mapped once.
    const secrets = new Set([...(copy.secrets ?? []), ...(copy.deployed?.version.secrets ?? [])]);
    for (const secret of secrets) secret.value = map(secret.value);
    return copy;
  }
}
