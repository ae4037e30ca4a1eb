import { ReplayStoreFullError, type ReplayStore } from './replay-store.js';
import { checkExpiringEntry } from './expiring-key-arguments.js';

/** Options of {@link MemoryReplayStore}. */
export interface MemoryReplayStoreOptions {
  /**
   * Most keys remembered at once; default 100 000. When the store is full of unexpired keys a new
   * key is refused with {@link ReplayStoreFullError} (never by forgetting an unexpired key, which
   * would let that key be replayed).
   */
  maxEntries?: number;
  /** Clock in milliseconds since the epoch; default `Date.now`. Tests pass a fake one. */
  now?: () => number;
}

interface HeapEntry {
  readonly key: string;
  readonly expiresAt: number;
}

/**
 * An in-process {@link ReplayStore}. Correct for a single process only: router instances in
 * other processes do not see its keys, so use a shared store when several instances serve.
 *
 * Expired keys are dropped on every call through a min-heap ordered by expiry, so memory follows
 * the number of unexpired keys without timers (nothing keeps the process alive) and without
 * scanning the whole map.
 */
export class MemoryReplayStore implements ReplayStore {
  private readonly maxEntries: number;
  private readonly now: () => number;
  /** key → expiry (seconds); the source of truth. */
  private readonly expiries = new Map<string, number>();
  /** The same keys ordered by expiry, soonest first. */
  private readonly heap: HeapEntry[] = [];

  constructor(options: MemoryReplayStoreOptions = {}) {
    const { maxEntries = 100_000, now = Date.now } = options;
    if (!Number.isSafeInteger(maxEntries) || maxEntries < 1) {
      throw new TypeError('MemoryReplayStore: options.maxEntries must be a positive integer');
    }
    if (typeof now !== 'function') {
      throw new TypeError('MemoryReplayStore: options.now must be a function');
    }
    this.maxEntries = maxEntries;
    this.now = now;
  }

  /** Number of keys currently remembered (expired keys are dropped on the next call). */
  get size(): number {
    return this.expiries.size;
  }

  /** Always resolves: memory is always reachable. */
  ping(): Promise<void> {
    return Promise.resolve();
  }

  /** {@inheritDoc ReplayStore.consume} */
  consume(key: string, expiresAtSeconds: number): Promise<boolean> {
    // Everything below is synchronous, so check-and-set is atomic within the process.
    try {
      return Promise.resolve(this.consumeNow(key, expiresAtSeconds));
    } catch (err) {
      return Promise.reject(err);
    }
  }

  private consumeNow(key: string, expiresAtSeconds: number): boolean {
    checkExpiringEntry('MemoryReplayStore.consume', 'key', key, expiresAtSeconds);
    const nowSeconds = this.now() / 1000;
    this.dropExpired(nowSeconds);
    if (this.expiries.has(key)) return false;
    if (this.expiries.size >= this.maxEntries) {
      const soonest = this.heap[0];
      throw new ReplayStoreFullError(
        `replay store full: ${this.expiries.size} unexpired keys (maxEntries ${this.maxEntries})`,
        soonest === undefined ? 1 : soonest.expiresAt - nowSeconds,
      );
    }
    this.expiries.set(key, expiresAtSeconds);
    this.push({ key, expiresAt: expiresAtSeconds });
    return true;
  }

  /** A key is remembered while `now < expiresAt`. */
  private dropExpired(nowSeconds: number): void {
    for (
      let top = this.heap[0];
      top !== undefined && top.expiresAt <= nowSeconds;
      top = this.heap[0]
    ) {
      this.pop();
      // Only forget the key if this heap entry is the live one for it.
      if (this.expiries.get(top.key) === top.expiresAt) this.expiries.delete(top.key);
    }
  }

  private push(entry: HeapEntry): void {
    const heap = this.heap;
    heap.push(entry);
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const p = heap[parent] as HeapEntry;
      if (p.expiresAt <= entry.expiresAt) break;
      heap[i] = p;
      i = parent;
    }
    heap[i] = entry;
  }

  private pop(): void {
    const heap = this.heap;
    const last = heap.pop();
    if (last === undefined || heap.length === 0) return;
    let i = 0;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= heap.length) break;
      const right = left + 1;
      const l = heap[left] as HeapEntry;
      const r = heap[right];
      const [child, c] = r !== undefined && r.expiresAt < l.expiresAt ? [right, r] : [left, l];
      if (last.expiresAt <= c.expiresAt) break;
      heap[i] = c;
      i = child;
    }
    heap[i] = last;
  }
}
