import { expect } from 'chai';
import { createServer } from 'node:http';
import type { Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { HostCapabilities } from '../../../lib/sandbox/capabilities/host-capabilities.js';
import type { ExecutionGate } from '../../../lib/sandbox/execution-gate.js';
import {
  codeVersion,
  handlerCode,
  messagesOfSuccess,
  runOnce,
  sandboxRunner,
} from '../fixtures/sandbox-helpers.js';
import { until } from '../../support/until.js';

/**
 * A server that holds `/hold` requests until stopped, answers `/slow` ones once four wait (so
 * four are in flight together) and others at once; counts sockets.
 */
class SocketCountingServer {
  readonly held: ServerResponse[] = [];
  readonly #slow: ServerResponse[] = [];
  open = 0;
  opened = 0;
  readonly #server: Server = createServer((req, res) => {
    if (req.url === '/hold') this.held.push(res);
    else if (req.url === '/slow') {
      this.#slow.push(res);
      if (this.#slow.length === 4) for (const slow of this.#slow.splice(0)) slow.end('{}');
    } else res.end('{}');
  });

  constructor() {
    this.#server.on('connection', (socket) => {
      this.open += 1;
      this.opened += 1;
      socket.on('close', () => (this.open -= 1));
    });
  }

  get host(): string {
    return `127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
  }

  async start(): Promise<void> {
    await new Promise<void>((resolve) => this.#server.listen(0, '127.0.0.1', resolve));
  }

  async until(condition: () => boolean, timeoutMs = 3_000): Promise<void> {
    await until(condition, `the condition (${this.open} sockets open now)`, timeoutMs);
  }

  async stop(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}

describe('fetch from actions is capped, and its sockets close with the execution', function () {
  this.timeout(20_000);
  let server: SocketCountingServer;
  let capabilities: HostCapabilities;
  let runner: ExecutionGate;
  const version = (body: string, overrides = {}) =>
    codeVersion(handlerCode(body), {
      allowed_hosts: [server.host],
      allowed_private_networks: ['127.0.0.1/32'],
      ...overrides,
    });

  beforeEach(async () => {
    server = new SocketCountingServer();
    await server.start();
    capabilities = new HostCapabilities();
    runner = sandboxRunner({ capabilities });
  });
  afterEach(async () => {
    await runner.close();
    capabilities.close();
    await server.stop();
  });

  it('allows 20 fetch calls per execution, 4 of them at once', async () => {
    const outcome = await runOnce(
      runner,
      version(`
        const attempt = (path) =>
          fetch('http://${server.host}' + path).then(() => 'ok', (e) => e.code + ': ' + e.message);
        const slow = [1, 2, 3, 4].map(() => attempt('/slow'));
        console.log(await attempt('/fast'));
        console.log((await Promise.all(slow)).join(' '));
        let answered = 0;
        for (let i = 0; i < 17; i++) if ((await attempt('/fast')) === 'ok') answered++;
        console.log(answered, await attempt('/fast'));
        api.authentication.setUserById('u');
      `),
    );
    expect(messagesOfSuccess(outcome)).to.deep.equal([
      'ERR_FETCH_LIMIT: fetch: at most 4 fetch calls of one execution at once (a limit of the action sandbox)',
      'ok ok ok ok',
      '16 ERR_FETCH_LIMIT: fetch: at most 20 fetch calls per execution (a limit of the action sandbox)',
    ]);
    expect(server.opened).to.equal(20);
    await server.until(() => server.open === 0);
  });

  it('allows 32 fetch calls in flight for one action, all its executions together', async () => {
    const holding = version(`
      const origin = 'http://${server.host}';
      const outcomes = await Promise.all([1, 2, 3, 4].map(() => fetch(origin + '/hold').then(() => 'ok', (e) => e.code)));
      console.log(outcomes.join(' '));
    `);
    const runs = Array.from({ length: 9 }, () => runOnce(runner, holding));
    await server.until(() => server.held.length === 32);
    // The ninth execution's fetches are refused at once, so it ends while the others wait.
    const refused = await Promise.race(runs);
    expect(refused.console.map((line) => line.message)).to.deep.equal([
      'ERR_FETCH_LIMIT ERR_FETCH_LIMIT ERR_FETCH_LIMIT ERR_FETCH_LIMIT',
    ]);
    expect(server.held).to.have.length(32);
    // Another action is not counted with this one.
    const other = await runOnce(
      runner,
      version(
        `await fetch('http://${server.host}/fast'); api.authentication.setUserById('other');`,
      ),
    );
    expect(other.commands).to.deep.equal([{ type: 'setUserById', user_id: 'other' }]);
    for (const res of server.held.splice(0)) res.end('{}');
    const lines = (await Promise.all(runs)).flatMap((outcome) =>
      outcome.console.map((line) => line.message),
    );
    expect(lines.filter((line) => line === 'ok ok ok ok')).to.have.length(8);
    expect(lines.filter((line) => line.includes('ERR_FETCH_LIMIT'))).to.deep.equal([
      'ERR_FETCH_LIMIT ERR_FETCH_LIMIT ERR_FETCH_LIMIT ERR_FETCH_LIMIT',
    ]);
  });

  it('closes the sockets of an execution that ends while its requests are in flight', async () => {
    const outcome = await runOnce(
      runner,
      version(
        `
        for (let i = 0; i < 4; i++) fetch('http://${server.host}/hold').catch(() => {});
        await new Promise((resolve) => setTimeout(resolve, 200));
        api.authentication.setUserById('u');
      `,
        { limits: { timeoutMs: 5_000, cpuTimeMs: 100, memoryMb: 64, maxConcurrency: 32 } },
      ),
    );
    expect(outcome.failure).to.equal(undefined);
    expect(server.held).to.have.length(4);
    await server.until(() => server.open === 0, 1_000);
  });
});
