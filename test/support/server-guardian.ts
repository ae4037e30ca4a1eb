/**
 * A guardian process for a real test server (server-guardian.mjs): it stops the server and removes
 * its directory when the test process ends without doing so itself, even when that process is
 * SIGKILLed and no exit handler runs. Start it before the server, so that a test process killed
 * while the server starts leaves nothing behind either.
 */
import { spawn } from 'node:child_process';
import type { Socket } from 'node:net';
import { fileURLToPath } from 'node:url';

const GUARDIAN = fileURLToPath(new URL('./server-guardian.mjs', import.meta.url));

/** A process to stop: the pid in `path`, if its command line contains `command`. */
export interface GuardedPidFile {
  readonly path: string;
  readonly signal: NodeJS.Signals;
  readonly command: string;
}

export interface ServerGuardian {
  /** The guardian's pid. */
  readonly pid: number;
  /** Lets the guardian go (after the server was stopped): it stops whatever is left and exits. */
  release(): void;
}

/** Starts a guardian of the servers named in `pidFiles` and of `dir`; resolves once it watches. */
export async function startGuardian(
  dir: string,
  pidFiles: readonly GuardedPidFile[],
): Promise<ServerGuardian> {
  // A process group of its own: a signal to the test process's group (Ctrl-C) reaches the servers
  // and the test process, and the guardian then sees the pipe close and finishes the job.
  const child = spawn(process.execPath, [GUARDIAN, JSON.stringify({ dir, pidFiles })], {
    detached: true,
    stdio: ['pipe', 'pipe', 'ignore'],
  });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error('the server guardian did not start within 10 s'));
    }, 10_000);
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the server guardian exited (${code}) before it watched`));
    });
    child.stdout.once('data', () => {
      clearTimeout(timer);
      child.removeAllListeners('exit');
      resolve();
    });
  });
  child.stdout.destroy();
  // Neither the guardian nor its pipe keeps the test process alive.
  child.unref();
  (child.stdin as Socket).unref();
  return {
    pid: child.pid!,
    release: () => {
      child.stdin.end();
    },
  };
}
