import { expect } from 'chai';
import { loadChains, makeSubjects, startServer } from '../../bench/harness.js';
import type { BenchServer, RequestChain } from '../../bench/harness.js';
import type { BenchConfig } from '../../bench/servers/child.js';
import { refreshRequestBody } from '../../bench/servers/cte.js';

const CONNECTIONS = 4;

/** The load of `cte-refresh`: each connection chains its own family of rotating refresh tokens. */
describe('bench/harness.ts: loadChains', function () {
  // Starting the server, then two runs of one second each.
  this.timeout(30_000);

  let server: BenchServer | undefined;
  let config: BenchConfig;
  let subjects: string[];

  before(async () => {
    ({ config, tokens: subjects } = await makeSubjects('refresh'));
    server = await startServer('cte', config, false);
  });

  after(async () => {
    await server?.stop();
  });

  /** One new family per connection, from exchanges of distinct users' subject tokens. */
  const starts = async (offset: number): Promise<string[]> => {
    const tokens: string[] = [];
    for (const subject of subjects.slice(offset, offset + CONNECTIONS)) {
      const res = await fetch(server!.url, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: server!.module.requestBody(subject, config),
        signal: AbortSignal.timeout(10_000),
      });
      tokens.push(((await res.json()) as { refresh_token: string }).refresh_token);
    }
    return tokens;
  };

  const refresh: RequestChain = {
    body: (refreshToken) => refreshRequestBody(refreshToken, config),
    next: (answer) => (JSON.parse(answer) as { refresh_token: string }).refresh_token,
  };

  it('redeems each answer’s refresh token next, so rotation never sees a token twice', async () => {
    const result = await loadChains(server!.url, await starts(0), refresh, {
      connections: CONNECTIONS,
      seconds: 1,
    });
    expect(result.errors, JSON.stringify(result.failures)).to.equal(0);
    expect(result.requests).to.be.greaterThan(CONNECTIONS * 3);
  });

  it('counts the refusals when a chain redeems a spent token', async () => {
    const [spent] = await starts(2 * CONNECTIONS);
    const redeemed = await fetch(server!.url, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: refreshRequestBody(spent!, config),
      signal: AbortSignal.timeout(10_000),
    });
    expect(redeemed.status).to.equal(200);
    const result = await loadChains(
      server!.url,
      await starts(CONNECTIONS),
      { ...refresh, next: () => spent! },
      { connections: CONNECTIONS, seconds: 1 },
    );
    expect(result.requests).to.be.greaterThan(CONNECTIONS);
    expect(result.errors).to.equal(result.requests - CONNECTIONS);
    expect(result.failures).to.deep.equal({ 400: result.requests - CONNECTIONS });
  });

  it('refuses fewer chains than connections', async () => {
    let error: unknown;
    try {
      await loadChains(server!.url, ['cte_rt_a.b'], refresh, { connections: 2, seconds: 1 });
    } catch (err) {
      error = err;
    }
    expect(error)
      .to.be.instanceOf(Error)
      .with.property('message', '2 connections need as many chains, not 1');
  });
});
