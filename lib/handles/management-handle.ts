import { ManagementError } from '../errors.js';

/**
 * The one vocabulary of the router's registry handles (`cte.clients`, `cte.resourceServers`,
 * `cte.actions`, `cte.profiles`). Every method is async, so the same interface can be answered by
 * a configuration store shared between instances, or served over HTTP, without changing callers.
 * Failures reject with a `ManagementError` whose `code` is stable: `get`, `update` and `delete` of
 * an id that does not exist reject with `not_found`; a definition that breaks a rule with
 * `invalid_body`, naming the field. What a handle answers is a fresh copy that never holds a
 * secret's value: secrets are write-only.
 */
export interface ManagementHandle<Item, Definition, Patch> {
  /** Validates `definition` and adds it; resolves to what was stored. */
  create(definition: Definition): Promise<Item>;
  /** One item by id; rejects with `not_found` when there is none. */
  get(id: string): Promise<Item>;
  /** Every item, in creation order. */
  list(): Promise<Item[]>;
  /** Changes the fields `patch` gives (the id never changes); resolves to the result. */
  update(id: string, patch: Patch): Promise<Item>;
  /** Removes an item; rejects with `not_found` when there is none. */
  delete(id: string): Promise<void>;
}

/** A registry kept in this process, with synchronous lookups: clients and APIs. */
export interface InProcessRegistry<Stored, Definition> {
  add(definition: Definition): Stored;
  get(id: string): Stored | undefined;
  list(): Stored[];
  update(id: string, patch: Partial<Definition>): Stored;
  remove(id: string): void;
}

/**
 * The {@link ManagementHandle} over an in-process registry: each answer passes through `view`
 * (a fresh copy without secrets), and a missing id rejects with `not_found` and `missing(id)`.
 */
export function inProcessRegistryHandle<Stored, View, Definition>(
  registry: InProcessRegistry<Stored, Definition>,
  view: (stored: Stored) => View,
  missing: (id: string) => string,
): ManagementHandle<View, Definition, Partial<Definition>> {
  return Object.freeze({
    create: async (definition: Definition) => view(registry.add(definition)),
    get: async (id: string) => {
      const stored = registry.get(id);
      if (stored === undefined) throw new ManagementError('not_found', missing(id));
      return view(stored);
    },
    list: async () => registry.list().map(view),
    update: async (id: string, patch: Partial<Definition>) => view(registry.update(id, patch)),
    delete: async (id: string) => registry.remove(id),
  });
}
