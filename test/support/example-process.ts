/**
 * Runs an example server the way its npm script does (`node --no-node-snapshot --import tsx
 * <file>`), on a free port given as PORT, and waits until its stdout shows it is ready.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** A port nothing listens on right now: listen on 0, read the port, close. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export interface ExampleProcess {
  child: ChildProcess;
  port: number;
  /** Everything printed so far. */
  output: { stdout: string; stderr: string };
  /** SIGTERM, then SIGKILL if the process is still there after 5 s. */
  stop(): Promise<void>;
}

export interface StartExampleOptions {
  /** Ready once stdout matches this. */
  ready: RegExp;
  /** Extra environment (PORT is set to a free port unless given). */
  env?: Record<string, string>;
  timeoutMs?: number;
}

/** Starts `file` (relative to the project root) and resolves once stdout matches `ready`. */
export async function startExample(
  file: string,
  { ready, env = {}, timeoutMs = 25_000 }: StartExampleOptions,
): Promise<ExampleProcess> {
  const port = env.PORT ? Number(env.PORT) : await freePort();
  const child = spawn(process.execPath, ['--no-node-snapshot', '--import', 'tsx', file], {
    cwd: ROOT,
    env: { ...process.env, PORT: String(port), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output = { stdout: '', stderr: '' };
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (output.stdout += chunk));
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (output.stderr += chunk));
  const example: ExampleProcess = { child, port, output, stop: () => stop(child) };
  try {
    await waitFor(child, output, ready, timeoutMs, file);
  } catch (err) {
    await example.stop();
    throw err;
  }
  return example;
}

function waitFor(
  child: ChildProcess,
  output: { stdout: string; stderr: string },
  ready: RegExp,
  timeoutMs: number,
  file: string,
): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      cleanup();
      reject(
        new Error(`${file} was not ready in ${timeoutMs} ms:\n${output.stdout}\n${output.stderr}`),
      );
    }, timeoutMs);
    const onData = (): void => {
      if (!ready.test(output.stdout)) return;
      cleanup();
      resolve();
    };
    const onExit = (code: number | null, signal: string | null): void => {
      cleanup();
      reject(
        new Error(`${file} exited (${code ?? signal}) before it was ready:\n${output.stderr}`),
      );
    };
    const cleanup = (): void => {
      clearTimeout(timer);
      child.stdout?.off('data', onData);
      child.off('exit', onExit);
    };
    child.stdout?.on('data', onData);
    child.on('exit', onExit);
    onData();
  });
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
  await exited;
  clearTimeout(timer);
}

/** The first group of `pattern` in an example's output; throws naming `what` when it is not there. */
export function capture(text: string, pattern: RegExp, what: string): string {
  const match = pattern.exec(text);
  if (match?.[1] === undefined) throw new Error(`the example did not print ${what}:\n${text}`);
  return match[1];
}
