/**
 * Whether `promise` settles (either way) within `ms` milliseconds. Shutdown waits on sinks with
 * it, so a destination that never answers cannot hang `close()`. The timer is cleared as soon as
 * the promise settles.
 */
export async function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([
      promise.then(
        () => true,
        () => true,
      ),
      timedOut,
    ]);
  } finally {
    clearTimeout(timer);
  }
}
