/**
 * Resolves once `condition()` holds, checking after every turn of the event loop; rejects after
 * `timeoutMs` of real time. It uses `setImmediate` and `performance.now()`, which fake timers of
 * `setTimeout` leave alone, so it works while a test drives a fake clock.
 */
export async function until(
  condition: () => boolean,
  what: string,
  timeoutMs = 5000,
): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!condition()) {
    if (performance.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
}
