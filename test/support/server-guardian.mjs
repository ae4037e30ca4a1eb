/**
 * Stops a test server when the test process that started it is gone, however it went (a SIGKILL
 * runs none of its exit handlers). Started by server-guardian.ts with its stdin a pipe from the
 * test process and in a process group of its own: the pipe closes when the test process ends, or
 * when it lets the guardian go after stopping the server itself. Then every process named in a
 * pid file of the spec is continued (it may be frozen), with its children, and sent the spec's
 * signal; once they have gone, the server's directory is removed.
 *
 * Spec (argv[2], JSON): { dir, pidFiles: [{ path, signal, command }] }. A pid is signalled only
 * while its command line contains `command`: a pid file left by a killed server may name a pid
 * that another process has since taken.
 */
import { readFileSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';

const spec = JSON.parse(process.argv[2] ?? '{}');
/** How long the servers get to go before the directory is removed anyway. */
const EXIT_WAIT_MS = 10_000;

let stopping = false;
process.stdin.on('data', () => undefined);
process.stdin.on('end', stop);
process.stdin.on('error', stop);
for (const name of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(name, stop);
// Tells the test process that the guardian watches (it starts the server only then).
process.stdout.write('watching\n');

async function stop() {
  if (stopping) return;
  stopping = true;
  const pids = [];
  for (const { path, signal, command } of spec.pidFiles ?? []) {
    const pid = pidIn(path);
    if (pid === undefined || !commandOf(pid).includes(command)) continue;
    for (const child of childrenOf(pid)) send(child, 'SIGCONT');
    send(pid, 'SIGCONT');
    send(pid, signal);
    pids.push(pid);
  }
  const deadline = Date.now() + EXIT_WAIT_MS;
  while (pids.some(alive) && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  if (spec.dir) rmSync(spec.dir, { recursive: true, force: true });
  process.exit(0);
}

function pidIn(path) {
  try {
    const pid = Number(readFileSync(path, 'utf8').split('\n')[0]);
    return Number.isInteger(pid) && pid > 1 ? pid : undefined;
  } catch {
    return undefined;
  }
}

function commandOf(pid) {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
  } catch {
    return '';
  }
}

/** Process ids whose parent is `pid` (a PostgreSQL server's backends). */
function childrenOf(pid) {
  const children = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let stat = '';
    try {
      stat = readFileSync(join('/proc', entry, 'stat'), 'utf8');
    } catch {
      continue;
    }
    // Fields after the command name (in parentheses): state, then the parent's pid.
    if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === pid) {
      children.push(Number(entry));
    }
  }
  return children;
}

function send(pid, signal) {
  try {
    process.kill(pid, signal);
  } catch {
    // Gone already.
  }
}

/** Whether `pid` still runs (a zombie, exited but not yet reaped by its parent, does not). */
function alive(pid) {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}
