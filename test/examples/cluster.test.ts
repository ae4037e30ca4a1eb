import { execFile, spawn } from 'node:child_process';
import { connect } from 'node:net';
import { promisify } from 'node:util';
import { expect } from 'chai';
import { capture, freePort, startExample } from '../support/example-process.js';
import type { ExampleProcess } from '../support/example-process.js';

const run = promisify(execFile);

/** Whether something accepts connections on the port. */
function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

describe('examples/cluster (npm run example:cluster)', function () {
  this.timeout(90_000);
  let example: ExampleProcess | undefined;

  before(async () => {
    example = await startExample('examples/cluster/server.ts', {
      ready: /Ready; Ctrl-C stops/,
      timeoutMs: 60_000,
    });
  });

  after(async () => {
    await example?.stop();
  });

  it('shows a refresh on one instance and the reuse of its token refused on the other', () => {
    const out = example!.output.stdout;
    const first = capture(
      out,
      /^exchange {3}served by (A|B): 200, refresh token issued$/m,
      'step 1',
    );
    const other = first === 'A' ? 'B' : 'A';
    expect(out).to.match(
      new RegExp(`^refresh {4}served by ${other}: 200, a new refresh token$`, 'm'),
    );
    expect(out).to.match(new RegExp(`^reuse {6}served by ${first}: 400 invalid_grant: `, 'm'));
  });

  it('prints curl commands that do the same through the proxy', async () => {
    const out = example!.output.stdout;
    const script = capture(
      out,
      /^(TOKENS=\$\(curl[\s\S]*?refresh_token=\$RT\n[^\n]*refresh_token=\$RT)$/m,
      'the curls',
    );
    const { stdout } = await run('bash', ['-c', script], { timeout: 30_000 });
    const answers = stdout.split(/(?=HTTP\/1\.1 \d{3} )/);
    expect(answers).to.have.length(2);
    const [refresh, reuse] = answers as [string, string];
    expect(refresh).to.match(/^HTTP\/1\.1 200 /);
    expect(refresh).to.match(/"refresh_token":"cte_rt_/);
    expect(reuse).to.match(/^HTTP\/1\.1 400 /);
    expect(reuse).to.include('"error":"invalid_grant"');
    const servedBy = (answer: string) =>
      capture(answer, /^x-served-by: (\S+)\r?$/im, 'X-Served-By');
    expect(servedBy(refresh)).not.to.equal(servedBy(reuse));
  });

  it('stops Redis and both instances when it is stopped', async () => {
    const out = example!.output.stdout;
    const redisPort = Number(
      capture(out, /^Redis: redis:\/\/127\.0\.0\.1:(\d+);/m, 'the Redis port'),
    );
    const [a, b] = capture(out, /instances A and B on ports (\d+ and \d+);/, 'the ports')
      .split(' and ')
      .map(Number) as [number, number];
    for (const port of [redisPort, a, b, example!.port])
      expect(await listening(port)).to.equal(true);
    await example!.stop();
    const deadline = Date.now() + 10_000;
    for (const port of [redisPort, a, b, example!.port]) {
      while ((await listening(port)) && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      expect(await listening(port), `port ${port}`).to.equal(false);
    }
  });

  it('says how to install Redis when it is not installed', async () => {
    const child = spawn(
      process.execPath,
      ['--no-node-snapshot', '--import', 'tsx', 'examples/cluster/server.ts'],
      {
        env: {
          ...process.env,
          PORT: String(await freePort()),
          REDIS_SERVER: '/nonexistent/redis-server',
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    const code = await new Promise((resolve) => child.once('exit', resolve));
    clearTimeout(timer);
    expect(code).to.equal(1);
    expect(stderr).to.include(
      'redis-server is not installed. Install Redis (Debian or Ubuntu: apt-get install redis-server; macOS: brew install redis), or set REDIS_URL to a running Redis.',
    );
  });
});
