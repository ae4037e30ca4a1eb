import type {
  ConfigChanges,
  ConfigDocument,
  ConfigKind,
  ConfigSnapshot,
  ConfigStore,
  ConfigWrite,
} from './config-store.js';

interface Row {
  kind: ConfigKind;
  id: string;
  parent: string | null;
  revision: number;
  /** JSON text; `null` once deleted (kept, so `changes()` can report the deletion). */
  text: string | null;
  /** Creation order among the rows ever written. */
  order: number;
}

/**
 * The configuration store of one process, the default: routers given the same instance share
 * it (two routers in one process, tests). Documents are kept as JSON text, so nothing a caller
 * holds aliases what is stored. Lost when the process ends.
 */
export class MemoryConfigStore implements ConfigStore {
  readonly #rows = new Map<string, Row>();
  readonly #listeners = new Set<() => void>();
  #revision = 0;
  #order = 0;

  async load(kinds: readonly ConfigKind[]): Promise<ConfigSnapshot> {
    const documents = [...this.#rows.values()]
      .filter((row) => row.text !== null && kinds.includes(row.kind))
      .sort((a, b) => a.order - b.order)
      .map(documentOf);
    return { revision: this.#revision, documents };
  }

  async changes(since: number, kinds: readonly ConfigKind[]): Promise<ConfigChanges> {
    const changes = [...this.#rows.values()]
      .filter((row) => row.revision > since && kinds.includes(row.kind))
      .sort((a, b) => a.revision - b.revision || a.order - b.order)
      .map(documentOf);
    return { revision: this.#revision, changes };
  }

  async read(kind: ConfigKind, id: string): Promise<ConfigDocument | undefined> {
    const row = this.#rows.get(keyOf(kind, id));
    return row === undefined || row.text === null ? undefined : documentOf(row);
  }

  async children(kind: ConfigKind, parent: string): Promise<ConfigDocument[]> {
    return [...this.#rows.values()]
      .filter((row) => row.kind === kind && row.parent === parent && row.text !== null)
      .sort((a, b) => a.order - b.order)
      .map(documentOf);
  }

  async commit(writes: readonly ConfigWrite[], basedOn: number): Promise<number | undefined> {
    // Serialized before anything changes, so a write that is not JSON changes nothing.
    const texts = writes.map((write) => (write.data === null ? null : JSON.stringify(write.data)));
    if (basedOn !== this.#revision) return undefined;
    const revision = ++this.#revision;
    writes.forEach((write, i) => {
      const key = keyOf(write.kind, write.id);
      const before = this.#rows.get(key);
      this.#rows.set(key, {
        kind: write.kind,
        id: write.id,
        parent: write.parent ?? null,
        revision,
        text: texts[i]!,
        order: before?.text === null || before === undefined ? ++this.#order : before.order,
      });
    });
    for (const listener of this.#listeners) queueMicrotask(listener);
    return revision;
  }

  subscribe(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => {
      this.#listeners.delete(listener);
    };
  }

  async close(): Promise<void> {
    this.#listeners.clear();
  }
}

function keyOf(kind: ConfigKind, id: string): string {
  return `${kind}\u0000${id}`;
}

function documentOf(row: Row): ConfigDocument {
  return {
    kind: row.kind,
    id: row.id,
    parent: row.parent,
    revision: row.revision,
    data: row.text === null ? null : JSON.parse(row.text),
  };
}
