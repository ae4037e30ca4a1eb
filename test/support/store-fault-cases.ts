import { expect } from 'chai';
import { StoreUnavailableError } from '../../lib/stores/store-deadline.js';
import { waitUntil } from './server-process.js';
import { timedRejection } from './store-faults.js';

/** A real server that a fault test hangs (SIGSTOP), thaws, kills and restarts. */
export interface FaultyServer {
  freeze(): void | Promise<void>;
  thaw(): void | Promise<void>;
  kill(): Promise<void>;
  restart(): Promise<void>;
}

/** One store over one server, for {@link itRecoversFromServerFaults}. */
export interface StoreFaultCase {
  /** The server, started by the suite's `before`. */
  server(): FaultyServer;
  /** One call of the store as a request makes it (asked for once the suite's `before` ran). */
  call(): () => Promise<unknown>;
  /** Names the server in the deadline's message: `<server>: no answer within <ms> ms`. */
  serverName: 'PostgreSQL' | 'Redis';
  timeoutMs: number;
  /** What a rejection may take beyond the deadline on a busy machine. */
  slackMs: number;
}

/**
 * The two tests of a store over a real server that fails: while the server hangs each call rejects
 * within the store's deadline, while it is down each call fails fast, and either way the store
 * answers again by itself once the server is back.
 */
export function itRecoversFromServerFaults(store: StoreFaultCase): void {
  it('rejects within its deadline while the server hangs, and answers once it is back', async () => {
    const call = store.call();
    await call();
    await store.server().freeze();
    try {
      const [error, elapsed] = await timedRejection(call);
      expect(error).to.be.instanceOf(StoreUnavailableError);
      expect((error as Error).message).to.equal(
        `${store.serverName}: no answer within ${store.timeoutMs} ms`,
      );
      expect(elapsed).to.be.within(store.timeoutMs - 5, store.timeoutMs + store.slackMs);
    } finally {
      await store.server().thaw();
    }
    // The thawed server first answers what was queued while it hung, which can outlast one
    // deadline on a busy machine.
    await waitUntil(async () => (await call(), true), 'the store answering again');
  });

  it('rejects while the server is down, and recovers by itself when it restarts', async () => {
    const call = store.call();
    await call();
    await store.server().kill();
    for (let i = 0; i < 3; i++) {
      const [error, elapsed] = await timedRejection(call);
      expect(error).to.be.instanceOf(Error);
      expect(elapsed).to.be.below(store.timeoutMs + store.slackMs);
    }
    await store.server().restart();
    await waitUntil(async () => (await call(), true), 'the store answering again');
    await call();
  });
}
