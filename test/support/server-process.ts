/**
 * What the real-server helpers share: finding a binary (or failing with how to install it), a
 * temporary directory, and a clean-up that also runs when the test process exits early (mocha's
 * `--exit`, an uncaught error), so no server or directory is left behind.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

export const run = promisify(execFile);

/** Synchronous clean-ups still due; run on exit in the order they were registered. */
const pending = new Set<() => void>();
let exitHookInstalled = false;

/**
 * Registers `cleanup` (synchronous: it may run from the `exit` event) and returns a function
 * that runs it now and unregisters it.
 */
export function onExitCleanup(cleanup: () => void): () => void {
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.on('exit', () => {
      for (const task of [...pending]) runQuietly(task);
    });
  }
  pending.add(cleanup);
  return () => {
    if (pending.delete(cleanup)) runQuietly(cleanup);
  };
}

function runQuietly(task: () => void): void {
  try {
    task();
  } catch {
    // The process is going away; nothing left to report to.
  }
}

/** A fresh directory under the system's temporary directory. */
export function temporaryDirectory(prefix: string): Promise<string> {
  return mkdtemp(join(tmpdir(), prefix));
}

/** Removes `dir` and everything in it, now. */
export function removeDirectory(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

/** The path of `name` on PATH (or in `extraDirs`), or an error saying how to install it. */
export function findBinary(name: string, install: string, extraDirs: string[] = []): string {
  const dirs = [...extraDirs, ...(process.env.PATH ?? '').split(':').filter(Boolean)];
  for (const dir of dirs) {
    const path = join(dir, name);
    if (existsSync(path)) return path;
  }
  throw new Error(`${name} is not installed: ${install}`);
}

/** Sends `signal` to `pid` if it is still there. */
export function signal(pid: number, name: NodeJS.Signals): void {
  try {
    process.kill(pid, name);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
  }
}

/** Resolves once `child` has exited (at once if it had). */
export function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

/**
 * Spawns `command` and resolves once its output matches `ready`; rejects (and kills it) when it
 * exits first or is not ready within `timeoutMs`.
 */
export async function spawnUntilReady(
  command: string,
  args: string[],
  ready: RegExp,
  timeoutMs = 10_000,
): Promise<ChildProcess> {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      done();
      child.kill('SIGKILL');
      reject(new Error(`${command} was not ready within ${timeoutMs} ms:\n${output}`));
    }, timeoutMs);
    const onData = (chunk: Buffer): void => {
      output += chunk.toString('utf8');
      if (ready.test(output)) {
        done();
        resolve();
      }
    };
    const onExit = (code: number | null): void => {
      done();
      reject(new Error(`${command} exited (${code}) before it was ready:\n${output}`));
    };
    const onError = (error: Error): void => {
      done();
      reject(error);
    };
    const done = (): void => {
      clearTimeout(timer);
      child.stdout?.off('data', onData);
      child.stderr?.off('data', onData);
      child.off('exit', onExit);
      child.off('error', onError);
      // Keep reading, so a chatty server never blocks on a full pipe.
      child.stdout?.resume();
      child.stderr?.resume();
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', onExit);
    child.once('error', onError);
  });
  return child;
}

/** Polls `check` every 50 ms until it resolves `true`; rejects after `timeoutMs`. */
export async function waitUntil(
  check: () => Promise<boolean>,
  what: string,
  timeoutMs = 10_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`${what} did not happen within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
