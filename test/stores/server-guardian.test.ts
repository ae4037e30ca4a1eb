import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { exited, removeDirectory, signal, waitUntil } from '../support/server-process.js';

const SCRIPT = fileURLToPath(new URL('./fixtures/server-until-killed.ts', import.meta.url));

/** Whether something accepts connections on 127.0.0.1:`port`. */
async function accepting(port: number): Promise<boolean> {
  const socket = connect(port, '127.0.0.1');
  try {
    await once(socket, 'connect');
    return true;
  } catch {
    return false;
  } finally {
    socket.destroy();
  }
}

/** After a failure: stops what the guardian left (by the pid files it reads), removes `dir`. */
function reapLeftovers(dir: string): void {
  for (const [file, name] of [
    ['redis-0.pid', 'SIGKILL'],
    [join('data', 'postmaster.pid'), 'SIGQUIT'],
  ] as const) {
    const path = join(dir, file);
    const pid = existsSync(path) ? Number(readFileSync(path, 'utf8').split('\n')[0]) : 0;
    if (pid > 1) {
      signal(pid, 'SIGCONT');
      signal(pid, name);
    }
  }
  removeDirectory(dir);
}

describe('test servers: a test process killed outright leaves no server behind', function () {
  this.timeout(90_000);

  for (const kind of ['redis', 'postgres'] as const) {
    it(`stops the ${kind} server and removes its directory once its test process is SIGKILLed`, async () => {
      const child = spawn(process.execPath, ['--import', 'tsx', SCRIPT, kind], {
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      let dir: string | undefined;
      try {
        const line = await new Promise<string>((resolve, reject) => {
          createInterface({ input: child.stdout }).once('line', resolve);
          child.once('exit', (code) => reject(new Error(`the test process exited (${code})`)));
        });
        const { port, dir: serverDir } = JSON.parse(line) as { port: number; dir: string };
        dir = serverDir;
        expect(await accepting(port)).to.equal(true);
        expect(existsSync(serverDir)).to.equal(true);

        child.kill('SIGKILL');
        await exited(child);
        await waitUntil(
          async () => !(await accepting(port)) && !existsSync(serverDir),
          `the ${kind} server on ${port} stopped and ${serverDir} removed`,
          20_000,
        );
      } finally {
        child.kill('SIGKILL');
        await exited(child);
        if (dir !== undefined && existsSync(dir)) reapLeftovers(dir);
      }
    });
  }
});
