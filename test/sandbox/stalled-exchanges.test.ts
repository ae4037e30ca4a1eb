import { expect } from 'chai';
import { actionCode } from '../support/sandboxed-actions.js';
import { SPIN_THROUGH_STALL } from './fixtures/process-stopper.js';
import {
  startHostileServer,
  timedExchange,
  type HostileServer,
} from './fixtures/hostile-process.js';

/** How long the server process stays stopped mid-action: three times the action's CPU budget. */
const STALL_MS = 300;

/**
 * A legitimate action that uses a few ms of CPU: `api.cache.get('stall')` has the server stop
 * (as a host descheduled by the kernel) while the action spins, which it does until 20 ms after it
 * sees the clock jump (1 s without one: then the action is at fault, far past its budget).
 */
const STALLED = actionCode(`api.cache.get('stall');
  ${SPIN_THROUGH_STALL}
  api.authentication.setUserById('auth0|alice');`);

describe('a host descheduled during a legitimate action (over HTTP, in a child process)', function () {
  this.timeout(60_000);
  if (process.platform !== 'linux') return;
  let server: HostileServer | undefined;
  afterEach(async () => {
    await server?.stop();
    server = undefined;
  });

  it('answers 503 with Retry-After (not 500) on isolated-vm’s timeout, and 200 once the watchdog covers the action', async () => {
    server = await startHostileServer(STALLED, { stallMs: STALL_MS });
    // The good action's exchange starts a watchdog round, which does not watch the stalled
    // action's isolate yet (made on its first execution): that entry runs on isolated-vm's timeout.
    const good = await timedExchange(server.origin, 'urn:acme:good', 'fine', 10_000);
    expect(good.status).to.equal(200);
    const stalled = await timedExchange(server.origin, 'urn:acme:hostile', 'fine', 10_000);
    expect(stalled.status, JSON.stringify(await server.entriesWritten(2))).to.equal(503);
    expect(stalled.body).to.deep.equal({
      error: 'temporarily_unavailable',
      error_description: 'The server is busy; retry later.',
    });
    expect(stalled.headers['retry-after']).to.equal('1');
    const entry = (await server.entriesWritten(2))[1];
    expect(entry).to.deep.include({ type: 'fecte' });
    expect(String((entry?.details as Record<string, unknown>).cause)).to.match(
      /: the host was overloaded during the action: the entry was stopped after 100 ms, of which the action ran \d+\.\d ms, under its CPU budget of 100 ms$/,
    );
    // The next round watches the isolate (within a poll); the watchdog does not count the stall.
    await new Promise((resolve) => setTimeout(resolve, 100));
    const covered = await timedExchange(server.origin, 'urn:acme:hostile', 'fine', 10_000);
    expect(covered.status, JSON.stringify(covered.body)).to.equal(200);
    expect(covered.body).to.include({
      issued_token_type: 'urn:ietf:params:oauth:token-type:access_token',
      token_type: 'Bearer',
    });
    expect((await server.entriesWritten(3))[2]).to.deep.include({ type: 'secte' });
  });
});
