import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { continueAfter } from '../fixtures/hostile-process.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const SCRIPT = fileURLToPath(new URL('../fixtures/stalled-entry.ts', import.meta.url));
/** How long the process stays stopped: three times the entry's budget of 100 ms. */
const STALL_MS = 300;
/** The most stalled time the watchdog credits to one entry (MAX_STALL_CREDIT_MS). */
const STALL_CREDIT_CAP_MS = 1_000;

interface StalledEntry {
  watchdogStopped: boolean;
  disposed: boolean;
  /** What the entry returned, or the message it threw. */
  result: unknown;
  /** What the watchdog saw of the stop: `EntryWatchdog.stalledMs`. */
  stalledMs: number;
}

/**
 * Runs stalled-entry.ts, whose guest spins on for `afterResumeMs` once the process resumed: once it
 * has stopped itself mid-entry, keeps it stopped for `stallMs` and continues it. Killed after 20 s
 * whatever happens.
 */
async function stalledEntry(stallMs: number, afterResumeMs = 20): Promise<StalledEntry> {
  const child = spawn(
    process.execPath,
    ['--no-node-snapshot', '--import', 'tsx', SCRIPT, String(afterResumeMs)],
    { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const pid = child.pid ?? 0;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const killer = setTimeout(() => child.kill('SIGKILL'), 20_000);
  try {
    let result: StalledEntry | undefined;
    for await (const line of createInterface({ input: child.stdout })) {
      const message = JSON.parse(line) as StalledEntry | { stopping: true };
      if ('stopping' in message) void continueAfter(pid, stallMs, () => child.kill('SIGCONT'));
      else result = message;
    }
    await exited;
    if (result === undefined) throw new Error('the stalled entry printed no result');
    return result;
  } finally {
    clearTimeout(killer);
    child.kill('SIGKILL');
    await exited;
  }
}

describe('a host stopped mid-entry (the whole process descheduled) does not stop a legitimate entry', function () {
  this.timeout(30_000);
  if (process.platform !== 'linux') return;

  it('the watchdog does not count time it could not run: the entry finishes', async () => {
    const { stalledMs, ...entry } = await stalledEntry(STALL_MS);
    expect(entry).to.deep.equal({ watchdogStopped: false, disposed: false, result: 42 });
    // The process was stopped for at least STALL_MS; the watchdog polls every 5 ms.
    expect(stalledMs).to.be.within(STALL_MS - 10, 10_000);
  });

  it('credits at most 1 s of stop: an entry running on past its budget plus that is stopped', async () => {
    // Stopped for 1.5 s, then 50 ms more of spinning, under the 100 ms budget: with all of the
    // stop credited the entry would return 42; with 1 s it is past its deadline when it resumes.
    const { stalledMs, ...entry } = await stalledEntry(STALL_CREDIT_CAP_MS + 500, 50);
    expect(entry).to.deep.equal({
      watchdogStopped: true,
      disposed: true,
      result: 'Isolate was disposed during execution',
    });
    expect(stalledMs).to.equal(STALL_CREDIT_CAP_MS);
  });
});
