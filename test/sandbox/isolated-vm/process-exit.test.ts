import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const SCRIPT = fileURLToPath(new URL('../fixtures/exit-after-exchange.ts', import.meta.url));

interface Ended {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
}

/** Runs exit-after-exchange.ts, which exits with `code`; killed after 20 s whatever happens. */
function exitAfterExchange(code: number): Promise<Ended> {
  const child = spawn(
    process.execPath,
    ['--no-node-snapshot', '--import', 'tsx', SCRIPT, String(code)],
    { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] },
  );
  let stdout = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  const killer = setTimeout(() => child.kill('SIGKILL'), 20_000);
  return new Promise((resolve) => {
    child.once('exit', (exitCode, signal) => {
      clearTimeout(killer);
      resolve({ code: exitCode, signal, stdout });
    });
  });
}

describe('a host process that exits right after a sandboxed exchange', function () {
  this.timeout(60_000);

  // Before the watchdog's round left at exit, every one of these ended in SIGSEGV.
  for (const code of [0, 0, 3]) {
    it(`exits with its own code (${code}), not a crash of the sandbox's threads`, async () => {
      const ended = await exitAfterExchange(code);
      expect(ended).to.deep.equal({ code, signal: null, stdout: '{"status":200}\n' });
    });
  }
});
