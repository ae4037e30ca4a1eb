/**
 * Resolves on a later turn of the event loop, once the I/O callbacks already due have run.
 *
 * An exchange awaits it between the reading of its request (body, client authentication) and
 * its action. Node otherwise runs a request from its socket's read to its answer in one go when
 * nothing in between waits on I/O, so the requests that arrive together are handled one after
 * another from end to end, each walking the whole code path (HTTP parser, Express, client
 * authentication, throttling, the sandbox, signing) before the next starts. Yielding here lets
 * every request that arrived read and authenticate first, then run its action: the same code runs
 * for several requests in a row, which the benchmark measured as less CPU per sandboxed exchange
 * than end-to-end handling. It costs one `setImmediate` per exchange.
 */
export function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
