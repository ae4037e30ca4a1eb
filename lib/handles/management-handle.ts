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
