/**
 * What every benchmark server shares: the configuration the harness hands it, and the child side
 * of the harness's IPC protocol (report the port, answer CPU and memory questions, exit on request).
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { JWK } from 'jose';

/** Given to each server as JSON in argv[2]. */
export interface BenchConfig {
  /** The public ES256 key (kid, alg) that signs the subject tokens. */
  subjectJwk: JWK;
  /** The subject tokens' `iss` and `aud`. */
  subjectIssuer: string;
  subjectAudience: string;
  /** The API the access tokens are for. */
  audience: string;
  client: { id: string; secret: string };
  /** Server-specific variant (e.g. which grant, which action). */
  mode: string;
  /** The Redis the server keeps its stores on, for the scenarios that use one. */
  redisUrl?: string;
}

export interface BenchServerModule {
  /** The form body of one request for a given subject token. */
  requestBody(subjectToken: string, config: BenchConfig): string;
  /** Path of the endpoint to load. */
  path: string;
}

export interface ProcessStats {
  cpuMicros: number;
  rss: number;
  heapUsed: number;
  /** Commands sent to a store server so far, by command name (servers with stores on Redis). */
  storeCommands?: Record<string, number>;
}

const storeCommands: Record<string, number> = {};

/** Counts one command sent to a store server, for the stats. */
export function countStoreCommand(name: string): void {
  storeCommands[name] = (storeCommands[name] ?? 0) + 1;
}

export function readConfig(): BenchConfig {
  return JSON.parse(process.argv[2] ?? '{}') as BenchConfig;
}

/** Listens on 127.0.0.1 (any port), tells the parent the port, then serves its questions. */
export async function serveToParent(server: Server): Promise<void> {
  if (!server.listening) {
    server.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
  }
  const { port } = server.address() as AddressInfo;
  process.on('message', (message) => {
    if (message === 'exit') process.exit(0);
    if (message === 'stats' || message === 'stats-after-gc') {
      // With --expose-gc, a full collection first: heap figures then compare across samples.
      if (message === 'stats-after-gc') (globalThis as { gc?: () => void }).gc?.();
      const cpu = process.cpuUsage();
      const memory = process.memoryUsage();
      const stats: ProcessStats = {
        cpuMicros: cpu.user + cpu.system,
        rss: memory.rss,
        heapUsed: memory.heapUsed,
        ...(Object.keys(storeCommands).length > 0 ? { storeCommands: { ...storeCommands } } : {}),
      };
      process.send!(stats);
    }
  });
  process.on('disconnect', () => process.exit(0));
  process.send!({ port });
}
