/**
 * The harness's parts: the subject tokens every scenario verifies, benchmark servers started as
 * child processes pinned to core 0 (the load generator pins itself to core 1), and autocannon
 * runs against them.
 */
import { execFileSync, spawn } from 'node:child_process';
import { Agent, request } from 'node:http';
import type { ChildProcess } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { SignJWT, exportJWK, generateKeyPair } from 'jose';
import type { BenchConfig, BenchServerModule, ProcessStats } from './servers/child.js';

export const TOKEN_COUNT = 100;

/** Pins this process (every thread) to core 1 when the machine has two cores and taskset. */
export function pinLoadGenerator(): boolean {
  if (availableParallelism() < 2) return false;
  try {
    execFileSync('taskset', ['-a', '-p', '-c', '1', String(process.pid)], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** A fresh ES256 subject key and {@link TOKEN_COUNT} subject tokens (subjects user-0…user-99). */
export async function makeSubjects(
  mode: string,
): Promise<{ config: BenchConfig; tokens: string[] }> {
  const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
  const config: BenchConfig = {
    subjectJwk: { ...(await exportJWK(publicKey)), kid: 'idp-1', alg: 'ES256' },
    subjectIssuer: 'https://idp.bench.example/',
    subjectAudience: 'bench',
    audience: 'https://api.bench.example/',
    client: { id: 'bench-client', secret: 'bench-client-secret-0123456789' },
    mode,
  };
  const tokens = await Promise.all(
    Array.from({ length: TOKEN_COUNT }, (_, i) =>
      new SignJWT({})
        .setProtectedHeader({ alg: 'ES256', kid: 'idp-1' })
        .setIssuer(config.subjectIssuer)
        .setAudience(config.subjectAudience)
        .setSubject(`bench|user-${i}`)
        .setIssuedAt()
        .setExpirationTime('6h')
        .sign(privateKey),
    ),
  );
  return { config, tokens };
}

export interface BenchServer {
  url: string;
  module: BenchServerModule;
  stats(): Promise<ProcessStats>;
  /** The same after a full garbage collection (when the server runs with --expose-gc). */
  statsAfterGc(): Promise<ProcessStats>;
  stop(): Promise<void>;
}

/**
 * Starts `bench/servers/<file>.ts` with `config`, on core 0 when `pin` (taskset starts it there,
 * so every thread it makes stays there too).
 */
export async function startServer(
  file: string,
  config: BenchConfig,
  pin: boolean,
  /** Write a V8 CPU profile of the server there (`--cpu-prof`), for `--profile`. */
  profileDir?: string,
  /** More Node flags for the server. */
  flags: readonly string[] = [],
): Promise<BenchServer> {
  const script = fileURLToPath(new URL(`./servers/${file}.ts`, import.meta.url));
  const module = (await import(`./servers/${file}.js`)) as BenchServerModule;
  const node = [
    process.execPath,
    '--no-node-snapshot',
    ...(profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : []),
    ...flags,
    // Extra Node flags for the servers, e.g. BENCH_SERVER_FLAGS=--trace-gc.
    ...(process.env.BENCH_SERVER_FLAGS?.split(' ').filter(Boolean) ?? []),
    '--import',
    'tsx',
    script,
    JSON.stringify(config),
  ];
  const [command, ...args] = pin ? ['taskset', '-c', '0', ...node] : node;
  const child = spawn(command!, args, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const port = await new Promise<number>((resolve, reject) => {
    child.once('message', (message) => resolve((message as { port: number }).port));
    child.once('exit', (code) => reject(new Error(`${file} exited (${code}) before listening`)));
  });
  return {
    url: `http://127.0.0.1:${port}${module.path}`,
    module,
    stats: () => ask<ProcessStats>(child, 'stats'),
    statsAfterGc: () => ask<ProcessStats>(child, 'stats-after-gc'),
    stop: () => stop(child),
  };
}

function ask<T>(child: ChildProcess, message: string): Promise<T> {
  return new Promise((resolve) => {
    child.once('message', (reply) => resolve(reply as T));
    child.send(message);
  });
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.send('exit');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
  await exited;
  clearTimeout(timer);
}

export interface LoadOptions {
  seconds: number;
  connections: number;
}

export interface LoadResult {
  rps: number;
  p50_ms: number;
  p99_ms: number;
  errors: number;
  requests: number;
  /** Responses by status code, and network errors and timeouts, when anything failed. */
  failures?: Record<string, number>;
}

/** Drives `url` at saturation with form POSTs cycling through `bodies`. */
export async function load(
  url: string,
  bodies: string[],
  options: LoadOptions,
): Promise<LoadResult> {
  let next = 0;
  return summarize(
    await autocannon({
      ...formPosts(url, options),
      requests: [
        { setupRequest: (request) => ({ ...request, body: bodies[next++ % bodies.length] }) },
      ],
    }),
  );
}

/** How one connection's requests follow each other: the body of each, from a value each answer gives. */
export interface RequestChain {
  /** The form body carrying `value`. */
  body(value: string): string;
  /** The value the next request carries, from a successful answer's body. */
  next(answer: string): string;
}

/**
 * Drives `url` at saturation, each connection with a chain of its own: connection i's first
 * request carries `starts[i]`, every later one the value its previous answer gave (as a rotating
 * refresh token's successor). A failed answer leaves the value as it was, so the errors show.
 * autocannon's own per-request context starts afresh at each pass through its request list (with
 * one request, at each request), so each connection keeps its value in a closure of its own.
 */
export async function loadChains(
  url: string,
  starts: readonly string[],
  chain: RequestChain,
  options: LoadOptions,
): Promise<LoadResult> {
  if (starts.length < options.connections) {
    throw new Error(`${options.connections} connections need as many chains, not ${starts.length}`);
  }
  let connection = 0;
  return summarize(
    await autocannon({
      ...formPosts(url, options),
      setupClient: (client) => {
        let value = starts[connection++]!;
        client.setRequests([
          {
            setupRequest: (request) => ({ ...request, body: chain.body(value) }),
            onResponse: (status, answer) => {
              if (status === 200) value = chain.next(answer);
            },
          },
        ]);
      },
    }),
  );
}

function formPosts(url: string, options: LoadOptions): autocannon.Options {
  return {
    url,
    method: 'POST',
    connections: options.connections,
    duration: options.seconds,
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
  };
}

function summarize(result: autocannon.Result): LoadResult {
  const errors = result.errors + result.timeouts + result.non2xx;
  const failures: Record<string, number> = {};
  if (result.errors > 0) failures.network = result.errors;
  if (result.timeouts > 0) failures.timeouts = result.timeouts;
  for (const [status, { count }] of Object.entries(result.statusCodeStats ?? {})) {
    if (!status.startsWith('2')) failures[status] = count ?? 0;
  }
  return {
    rps: Math.round(result.requests.average),
    p50_ms: result.latency.p50,
    p99_ms: result.latency.p99,
    errors,
    requests: result.requests.total,
    ...(errors > 0 ? { failures } : {}),
  };
}

/**
 * Sends requests at a steady `rate` (one every 1000/rate ms, not autocannon's burst at the start of
 * each second), each timed from when it was due rather than when it left, so a stalled server
 * shows up in the percentiles instead of slowing the sender down (no coordinated omission).
 */
export async function paced(
  url: string,
  bodies: string[],
  options: { rate: number; seconds: number; connections: number },
): Promise<LoadResult> {
  const agent = new Agent({ keepAlive: true, maxSockets: options.connections });
  const target = new URL(url);
  const latencies: number[] = [];
  const failures: Record<string, number> = {};
  const fail = (why: string): void => {
    failures[why] = (failures[why] ?? 0) + 1;
  };
  const total = Math.round(options.rate * options.seconds);
  const interval = 1000 / options.rate;
  const start = performance.now();
  let sent = 0;
  let settled = 0;
  await new Promise<void>((resolve) => {
    const done = (): void => {
      settled += 1;
      if (settled === total) resolve();
    };
    const send = (due: number): void => {
      const body = bodies[sent % bodies.length]!;
      const req = request(
        {
          host: target.hostname,
          port: target.port,
          path: target.pathname,
          method: 'POST',
          agent,
          headers: {
            'content-type': 'application/x-www-form-urlencoded',
            'content-length': Buffer.byteLength(body),
          },
        },
        (res) => {
          res.resume();
          res.on('end', () => {
            latencies.push(performance.now() - due);
            if (res.statusCode === undefined || res.statusCode >= 300) fail(String(res.statusCode));
            done();
          });
        },
      );
      req.on('error', () => {
        fail('network');
        done();
      });
      req.end(body);
    };
    const tick = (): void => {
      const now = performance.now();
      while (sent < total && start + sent * interval <= now) {
        send(start + sent * interval);
        sent += 1;
      }
      if (sent < total) setTimeout(tick, Math.max(0, start + sent * interval - performance.now()));
    };
    tick();
  });
  agent.destroy();
  latencies.sort((a, b) => a - b);
  const percentile = (p: number): number =>
    +latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))]!.toFixed(
      2,
    );
  const errors = Object.values(failures).reduce((a, b) => a + b, 0);
  return {
    rps: Math.round(total / ((performance.now() - start) / 1000)),
    p50_ms: percentile(50),
    p99_ms: percentile(99),
    errors,
    requests: total,
    ...(errors > 0 ? { failures } : {}),
  };
}
