import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { expect } from 'chai';
import {
  exited,
  findBinary,
  onExitCleanup,
  removeDirectory,
  signal,
  temporaryDirectory,
} from '../support/server-process.js';

const HELPERS = fileURLToPath(new URL('../support/server-process.ts', import.meta.url));

describe('test servers: the helpers they share', () => {
  it('fails with how to install a server that is missing', () => {
    expect(() =>
      findBinary('no-such-server-binary', 'install it with `apt-get install no-such-server`'),
    ).to.throw(
      Error,
      'no-such-server-binary is not installed: install it with `apt-get install no-such-server`',
    );
  });

  it('runs a clean-up once when asked, ending what it started', async () => {
    const child = spawn('sleep', ['60'], { stdio: 'ignore' });
    let runs = 0;
    const cleanup = onExitCleanup(() => {
      runs += 1;
      signal(child.pid!, 'SIGKILL');
    });
    cleanup();
    cleanup();
    await exited(child);
    expect(runs).to.equal(1);
    expect(child.signalCode).to.equal('SIGKILL');
  });

  it('runs the clean-ups still due when the process exits early', async function () {
    this.timeout(20_000);
    const script = `
      import { onExitCleanup, removeDirectory, temporaryDirectory } from ${JSON.stringify(HELPERS)};
      const dir = await temporaryDirectory('cte-exit-test-');
      console.log(dir);
      onExitCleanup(() => removeDirectory(dir));
      process.exit(3);
    `;
    const result = await promisify(execFile)(
      process.execPath,
      ['--import', 'tsx', '--input-type=module', '-e', script],
      { timeout: 15_000 },
    ).then(
      () => expect.fail('the script exited 0'),
      (error: { code: number; stdout: string }) => error,
    );
    expect(result.code).to.equal(3);
    const dir = result.stdout.trim();
    expect(dir).to.match(/cte-exit-test-/);
    expect(existsSync(dir)).to.equal(false);
    removeDirectory(dir);
  });

  it('makes a fresh temporary directory each time', async () => {
    const [a, b] = await Promise.all([temporaryDirectory('cte-t-'), temporaryDirectory('cte-t-')]);
    try {
      expect(a).not.to.equal(b);
      expect(existsSync(a) && existsSync(b)).to.equal(true);
    } finally {
      removeDirectory(a);
      removeDirectory(b);
    }
  });
});
