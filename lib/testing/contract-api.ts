/** The test functions a contract suite registers its tests with. */
export interface ContractTestApi {
  describe: (name: string, body: () => void) => unknown;
  it: (name: string, body: () => Promise<void>) => unknown;
}

/** Options of every contract suite. */
export interface ContractOptions {
  /**
   * Where the tests are registered. Default: the global `describe` and `it` of mocha (Jest and
   * Vitest with globals define them too). Under `node:test`, pass `{ describe, it }` from it.
   */
  test?: ContractTestApi;
  /** Name of the suite's `describe` block; default the contract's name. */
  name?: string;
}

/** Makes the store one test runs against; called once per test. */
export type StoreFactory<Store> = () => Store | Promise<Store>;

/**
 * The test API of `options`, or mocha's globals.
 * @throws TypeError when neither is there
 */
export function testApi(options: ContractOptions): ContractTestApi {
  if (options.test !== undefined) return options.test;
  const globals = globalThis as { describe?: unknown; it?: unknown };
  if (typeof globals.describe !== 'function' || typeof globals.it !== 'function') {
    throw new TypeError(
      'contract suites register tests with describe/it: run them under mocha, or pass ' +
        "options.test = { describe, it } (e.g. from 'node:test')",
    );
  }
  return { describe: globals.describe, it: globals.it } as ContractTestApi;
}

/** The promise's rejection, or an `AssertionError`-worthy `undefined` when it resolved. */
export async function rejectionOf(operation: () => unknown): Promise<unknown> {
  try {
    await operation();
  } catch (error) {
    return error;
  }
  return undefined;
}
