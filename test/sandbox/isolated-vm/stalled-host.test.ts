import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const SCRIPT = fileURLToPath(new URL('../fixtures/stalled-entry.ts', import.meta.url));
/** How long the process stays stopped: three times the entry's budget of 100 ms. */
const STALL_MS = 300;

interface StalledEntry {
  watchdogStopped: boolean;
  disposed: boolean;
  /** What the entry returned, or the message it threw. */
  result: unknown;
  /** What the watchdog saw of the stop: `EntryWatchdog.stalledMs`. */
  stalledMs: number;
}

function stopped(pid: number): boolean {
  // Field 3 of /proc/<pid>/stat, after the parenthesised command name: T while stopped.
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2).startsWith('T');
}

/**
 * Runs stalled-entry.ts: once it has stopped itself mid-entry, keeps it stopped for
 * {@link STALL_MS} and continues it. Killed after 20 s whatever happens.
 */
async function stalledEntry(): Promise<StalledEntry> {
  const child = spawn(process.execPath, ['--no-node-snapshot', '--import', 'tsx', SCRIPT], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const pid = child.pid ?? 0;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const killer = setTimeout(() => child.kill('SIGKILL'), 20_000);
  try {
    let result: StalledEntry | undefined;
    for await (const line of createInterface({ input: child.stdout })) {
      if (line === 'stopping') {
        while (!stopped(pid)) await new Promise((resolve) => setTimeout(resolve, 2));
        await new Promise((resolve) => setTimeout(resolve, STALL_MS));
        child.kill('SIGCONT');
      } else if (line.startsWith('{')) {
        result = JSON.parse(line) as StalledEntry;
      }
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
    const { stalledMs, ...entry } = await stalledEntry();
    expect(entry).to.deep.equal({ watchdogStopped: false, disposed: false, result: 42 });
    // The process was stopped for at least STALL_MS; the watchdog polls every 5 ms.
    expect(stalledMs).to.be.within(STALL_MS - 10, 10_000);
  });
});
