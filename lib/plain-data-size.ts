/**
 * The size of plain data (what a JSON text of it would roughly take, in characters: strings and
 * keys by their length, every other value a few characters), counting until it passes `limit`:
 * the walk stops there, so a huge value costs no more than a small one over the limit. Each object
 * is counted once, so a cycle ends the walk instead of running it forever.
 * @returns the size, or a number above `limit` as soon as the size is known to pass it
 */
export function plainDataSize(value: unknown, limit: number): number {
  let size = 0;
  const seen = new Set<object>();
  const pending: unknown[] = [value];
  while (pending.length > 0 && size <= limit) {
    const item = pending.pop();
    if (typeof item === 'string') {
      size += item.length + 2;
    } else if (typeof item === 'object' && item !== null) {
      if (seen.has(item)) continue;
      seen.add(item);
      if (ArrayBuffer.isView(item)) {
        size += item.byteLength;
      } else if (Array.isArray(item)) {
        size += 2 + item.length;
        for (const element of item) pending.push(element);
      } else {
        const keys = Object.keys(item);
        size += 2 + keys.length;
        for (const key of keys) {
          size += key.length;
          pending.push((item as Record<string, unknown>)[key]);
        }
      }
    } else {
      size += 8;
    }
  }
  return size;
}
