/**
 * A real PostgreSQL server for tests: `initdb` into a temporary directory and `pg_ctl start` on a
 * free port, trust authentication for user `postgres`, no fsync. As root the server runs as the
 * `postgres` user (PostgreSQL refuses root), which then owns the directory. Stopped by `stop()`
 * (call it in `after`) or, at the latest, when the test process exits; a guardian process stops it
 * when the test process is killed outright (see server-guardian.ts).
 */
import { chown, readFile, readdir } from 'node:fs/promises';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort } from './example-process.js';
import { startGuardian } from './server-guardian.js';
import {
  onExitCleanup,
  removeDirectory,
  run,
  signal,
  temporaryDirectory,
  waitUntil,
} from './server-process.js';

const INSTALL =
  'install PostgreSQL, e.g. `apt-get install postgresql` on Debian or Ubuntu (initdb and pg_ctl ' +
  'are looked for in /usr/lib/postgresql/<version>/bin and on PATH)';

export interface PostgresServer {
  readonly port: number;
  /** Its temporary directory (data and socket), removed by `stop()`. */
  readonly dir: string;
  /** `postgres://postgres@127.0.0.1:<port>/postgres` */
  readonly url: string;
  /** Stops the server at once (`pg_ctl stop -m immediate`): clients lose their connections. */
  kill(): Promise<void>;
  /** Starts it again on the same port and data, after `kill()`. */
  restart(): Promise<void>;
  /** SIGSTOP to the server and its backends: connections stay open and nothing answers. */
  freeze(): Promise<void>;
  /** SIGCONT after `freeze()`. */
  thaw(): Promise<void>;
  /** Stops the server and removes its directory. */
  stop(): Promise<void>;
}

/** Starts a PostgreSQL server. */
export async function startPostgres(): Promise<PostgresServer> {
  const bin = await binDirectory();
  const asRoot = process.getuid?.() === 0;
  const dir = await temporaryDirectory('cte-pg-');
  const data = join(dir, 'data');
  const port = await freePort();
  const as = (command: string, args: string[]) =>
    asRoot
      ? run('runuser', ['-u', 'postgres', '--', join(bin, command), ...args], { timeout: 60_000 })
      : run(join(bin, command), args, { timeout: 60_000 });
  const postmasterPid = (): number | undefined => {
    const file = join(data, 'postmaster.pid');
    if (!existsSync(file)) return undefined;
    return Number(readFileSync(file, 'utf8').split('\n')[0]);
  };
  // Immediate shutdown (SIGQUIT): the postmaster ends its backends and exits.
  const guardian = await startGuardian(dir, [
    { path: join(data, 'postmaster.pid'), signal: 'SIGQUIT', command: 'postgres' },
  ]);
  const cleanup = onExitCleanup(() => {
    const pid = postmasterPid();
    if (pid) {
      signal(pid, 'SIGCONT');
      signal(pid, 'SIGQUIT');
    }
    removeDirectory(dir);
    guardian.release();
  });
  const start = () =>
    as('pg_ctl', [
      '-D',
      data,
      '-l',
      join(dir, 'server.log'),
      '-o',
      `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=50`,
      '-w',
      'start',
    ]);
  const kill = async () => {
    if (postmasterPid() === undefined) return;
    await thaw();
    await as('pg_ctl', ['-D', data, '-m', 'immediate', '-w', 'stop']);
  };
  const signalAll = async (name: NodeJS.Signals) => {
    const pid = postmasterPid();
    if (!pid) return;
    for (const child of await childrenOf(pid)) signal(child, name);
    signal(pid, name);
  };
  const thaw = () => signalAll('SIGCONT');
  try {
    if (asRoot) await chown(dir, ...(await postgresUser()));
    await as('initdb', ['-D', data, '-A', 'trust', '-U', 'postgres', '--no-sync']);
    await start();
  } catch (error) {
    cleanup();
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new Error(INSTALL);
    throw error;
  }
  return {
    port,
    dir,
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    kill,
    restart: async () => {
      await start();
    },
    freeze: () => signalAll('SIGSTOP'),
    thaw,
    async stop() {
      await kill().catch(() => undefined);
      cleanup();
    },
  };
}

/** The newest /usr/lib/postgresql/<version>/bin, or the directory of initdb on PATH. */
async function binDirectory(): Promise<string> {
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root)
    ? (await readdir(root)).filter((v) => /^\d+$/.test(v)).sort((a, b) => Number(b) - Number(a))
    : [];
  for (const version of versions) {
    const bin = join(root, version, 'bin');
    if (existsSync(join(bin, 'initdb'))) return bin;
  }
  for (const dir of (process.env.PATH ?? '').split(':')) {
    if (dir && existsSync(join(dir, 'initdb'))) return dir;
  }
  throw new Error(`initdb is not installed: ${INSTALL}`);
}

async function postgresUser(): Promise<[number, number]> {
  const passwd = await readFile('/etc/passwd', 'utf8');
  const line = passwd.split('\n').find((entry) => entry.startsWith('postgres:'));
  if (!line) throw new Error(`there is no postgres user to run the server as: ${INSTALL}`);
  const [, , uid, gid] = line.split(':');
  return [Number(uid), Number(gid)];
}

/** Process ids whose parent is `pid` (the server's backends). */
async function childrenOf(pid: number): Promise<number[]> {
  const children: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = await readFile(join('/proc', entry, 'stat'), 'utf8').catch(() => '');
    // Fields after the command name (in parentheses): state, then the parent's pid.
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    if (ppid === pid) children.push(Number(entry));
  }
  return children;
}

/** Waits until PostgreSQL at `port` accepts connections (after a restart). */
export function waitForPostgres(query: () => Promise<unknown>): Promise<void> {
  return waitUntil(async () => {
    await query();
    return true;
  }, 'PostgreSQL accepting queries');
}
