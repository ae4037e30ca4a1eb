/**
 * Real Redis servers for tests: one node, or a three-master Redis Cluster, each on free ports in
 * a temporary directory without persistence. Stopped by `stop()` (call it in `after`) or, at the
 * latest, when the test process exits; a guardian process stops them when the test process is
 * killed outright (see server-guardian.ts).
 */
import type { ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { startGuardian, type GuardedPidFile } from './server-guardian.js';
import {
  exited,
  findBinary,
  onExitCleanup,
  removeDirectory,
  run,
  signal,
  spawnUntilReady,
  temporaryDirectory,
  waitUntil,
} from './server-process.js';

const INSTALL = 'install Redis, e.g. `apt-get install redis-server` on Debian or Ubuntu';

/** One redis-server process. */
export interface RedisNode {
  readonly host: '127.0.0.1';
  readonly port: number;
  /** `redis://127.0.0.1:<port>` */
  readonly url: string;
  /** Runs `redis-cli` against the node and answers its output. */
  cli(...args: string[]): Promise<string>;
  /** Kills the server (SIGKILL: no goodbye to clients). */
  kill(): Promise<void>;
  /** Starts it again on the same port, after `kill()`. */
  restart(): Promise<void>;
  /** SIGSTOP: the server keeps its connections but answers nothing, as a hung server would. */
  freeze(): void;
  /** SIGCONT after `freeze()`. */
  thaw(): void;
}

/** A single Redis node. */
export interface RedisServer extends RedisNode {
  /** Its temporary directory, removed by `stop()`. */
  readonly dir: string;
  /** Stops the server and removes its directory. */
  stop(): Promise<void>;
}

/** A three-master Redis Cluster. */
export interface RedisClusterServer {
  readonly nodes: readonly RedisNode[];
  /** Stops every node and removes their directories. */
  stop(): Promise<void>;
}

/** Starts one Redis node; `args` are extra `redis-server` options (`--maxmemory-policy`, ...). */
export async function startRedis(args: string[] = []): Promise<RedisServer> {
  const dir = await temporaryDirectory('cte-redis-');
  const node = new Node(dir, 0, args);
  const guardian = await startGuardian(dir, [node.guarded()]);
  const cleanup = onExitCleanup(() => {
    node.killNow();
    removeDirectory(dir);
    guardian.release();
  });
  try {
    await node.start();
  } catch (error) {
    cleanup();
    throw error;
  }
  return Object.assign(node.handle(), {
    dir,
    async stop() {
      await node.kill();
      cleanup();
    },
  });
}

/** Starts three cluster-enabled nodes and joins them into one cluster, each a master. */
export async function startRedisCluster(): Promise<RedisClusterServer> {
  const dir = await temporaryDirectory('cte-redis-cluster-');
  const nodes = [0, 1, 2].map(
    (i) =>
      new Node(dir, i, [
        '--cluster-enabled',
        'yes',
        '--cluster-config-file',
        `nodes-${i}.conf`,
        '--cluster-node-timeout',
        '2000',
      ]),
  );
  const guardian = await startGuardian(
    dir,
    nodes.map((node) => node.guarded()),
  );
  const cleanup = onExitCleanup(() => {
    for (const node of nodes) node.killNow();
    removeDirectory(dir);
    guardian.release();
  });
  try {
    for (const node of nodes) await node.start(true);
    const cli = findBinary('redis-cli', INSTALL);
    await run(
      cli,
      [
        '--cluster',
        'create',
        ...nodes.map((node) => `127.0.0.1:${node.port}`),
        '--cluster-replicas',
        '0',
        '--cluster-yes',
      ],
      { timeout: 20_000 },
    );
    for (const node of nodes) {
      await waitUntil(
        async () => /cluster_state:ok/.test(await node.cli('CLUSTER', 'INFO')),
        `cluster state ok on ${node.port}`,
      );
    }
  } catch (error) {
    cleanup();
    throw error;
  }
  return {
    nodes: nodes.map((node) => node.handle()),
    async stop() {
      await Promise.all(nodes.map((node) => node.kill()));
      cleanup();
    },
  };
}

class Node {
  port = 0;
  #child: ChildProcess | undefined;
  readonly #binary = findBinary('redis-server', INSTALL);
  /** Where the server writes its pid, for the guardian. */
  readonly #pidFile: string;

  constructor(
    readonly dir: string,
    index: number,
    readonly args: string[],
  ) {
    this.#pidFile = join(dir, `redis-${index}.pid`);
  }

  /** What the guardian stops: this node's server. */
  guarded(): GuardedPidFile {
    return { path: this.#pidFile, signal: 'SIGKILL', command: 'redis-server' };
  }

  async start(needsBusPort = false): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      const port = this.port || (await freePorts(needsBusPort));
      try {
        await this.#spawn(port);
        this.port = port;
        return;
      } catch (error) {
        // Another process took the port between the check and the start: try another.
        if (this.port || attempt >= 4 || !/Address already in use/.test(String(error))) throw error;
      }
    }
  }

  async #spawn(port: number): Promise<void> {
    this.#child = await spawnUntilReady(
      this.#binary,
      [
        '--port',
        String(port),
        '--bind',
        '127.0.0.1',
        '--save',
        '',
        '--appendonly',
        'no',
        '--dir',
        this.dir,
        '--pidfile',
        this.#pidFile,
        ...this.args,
      ],
      /Ready to accept connections/,
    );
  }

  cli(...args: string[]): Promise<string> {
    const cli = findBinary('redis-cli', INSTALL);
    return run(cli, ['-p', String(this.port), ...args], { timeout: 5_000 }).then((r) => r.stdout);
  }

  async kill(): Promise<void> {
    const child = this.#child;
    if (!child?.pid) return;
    signal(child.pid, 'SIGCONT');
    signal(child.pid, 'SIGKILL');
    await exited(child);
    // A SIGKILLed server leaves its pid file: its pid may be another process's later.
    rmSync(this.#pidFile, { force: true });
  }

  killNow(): void {
    if (this.#child?.pid) signal(this.#child.pid, 'SIGKILL');
  }

  handle(): RedisNode {
    return {
      host: '127.0.0.1',
      port: this.port,
      url: `redis://127.0.0.1:${this.port}`,
      cli: (...args) => this.cli(...args),
      kill: () => this.kill(),
      restart: () => this.start(),
      freeze: () => this.#child?.pid && signal(this.#child.pid, 'SIGSTOP'),
      thaw: () => this.#child?.pid && signal(this.#child.pid, 'SIGCONT'),
    };
  }
}

/** A free port (and, for a cluster node, a free bus port 10000 above it). */
async function freePorts(withBus: boolean): Promise<number> {
  for (;;) {
    const port = await listenOnce(0);
    if (port > 55_000) continue;
    if (!withBus || (await listenOnce(port + 10_000).catch(() => 0))) return port;
  }
}

function listenOnce(port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      const { port: bound } = server.address() as { port: number };
      server.close(() => resolve(bound));
    });
  });
}
