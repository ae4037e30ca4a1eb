import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import request from 'supertest';
import type { LogEntry } from '../../lib/index.js';
import { basic, exchangeBody, form, testServer } from '../support/fixtures.js';
import { INVALID_CLIENT } from '../support/oauth-responses.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const FLOOD = 'test/http/fixtures/log-flood.ts';

describe('tenant-log entries are bounded, whatever a request sends', () => {
  it('a 401 with a 1 MB subject_token_type and a 12 kB User-Agent writes a small entry to the ring and to every sink', async () => {
    const received: LogEntry[] = [];
    const server = await testServer({
      logSinks: [{ write: (entry) => void received.push(entry) }],
    });
    const type = `urn:acme:${'t'.repeat(1_000_000)}`;
    const res = await request(server.app)
      .post('/oauth/token')
      .set('Authorization', basic('app', 'wrong-secret'))
      .set('User-Agent', 'u'.repeat(12_000))
      .type('form')
      .send(form(exchangeBody({ subject_token: 'user:auth0|alice', subject_token_type: type })));
    expect(res.status).to.equal(401);
    expect(res.body).to.deep.equal(INVALID_CLIENT);
    expect(res.headers).to.include({
      'cache-control': 'no-store',
      pragma: 'no-cache',
      'www-authenticate': 'Basic realm="token", error="invalid_client"',
    });

    const [entry] = await server.cte.logs.list();
    expect(await server.cte.logs.list()).to.have.length(1);
    const { log_id: _id, date: _date, ...rest } = entry!;
    expect(rest).to.deep.equal({
      type: 'fecte',
      description: 'Client authentication failed.',
      client_id: 'app',
      client_name: 'First-party app',
      ip: '127.0.0.1',
      user_agent: `${'u'.repeat(503)}…[+11497]`,
      hostname: '127.0.0.1',
      details: {
        client_authenticated: false,
        subject_token_type: `urn:acme:${'t'.repeat(237)}…[+999763]`,
        error: 'invalid_client',
        error_description: 'Client authentication failed.',
        cause: 'wrong client secret (client_secret_basic)',
      },
    });
    expect(Buffer.byteLength(JSON.stringify(entry))).to.be.below(2048);
    expect(received).to.have.length(1);
    expect(received[0]).to.deep.equal(entry);
    expect(Object.isFrozen(received[0])).to.equal(true);
    await server.cte.close();
  });

  it('the ring keeps within logCapacityBytes, dropping the oldest entries', async () => {
    const server = await testServer({ logCapacityBytes: 32 * 1024 });
    for (let i = 0; i < 60; i++) {
      const res = await request(server.app)
        .post('/oauth/token')
        .set('Authorization', basic('app', 'wrong-secret'))
        .set('User-Agent', `${i} ${'u'.repeat(8000)}`)
        .type('form')
        .send(form(exchangeBody({ subject_token: 'user:auth0|alice' })));
      expect(res.status).to.equal(401);
    }
    const ring = await server.cte.logs.list();
    const bytes = ring.reduce((sum, entry) => sum + Buffer.byteLength(JSON.stringify(entry)), 0);
    expect(bytes).to.be.at.most(32 * 1024);
    expect(bytes).to.be.above(32 * 1024 - 1024);
    expect(ring.length).to.be.within(20, 59);
    expect(ring[0]!.user_agent).to.match(/^59 u+…\[\+7499\]$/);
    await server.cte.close();
  });

  it('1,100 such requests keep the heap bounded (a child process, after a forced GC)', async function () {
    this.timeout(120_000);
    const output = await new Promise<string>((resolve, reject) => {
      execFile(
        process.execPath,
        ['--no-node-snapshot', '--expose-gc', '--max-old-space-size=512', '--import', 'tsx', FLOOD],
        { cwd: ROOT, timeout: 110_000, killSignal: 'SIGKILL', maxBuffer: 1024 * 1024 },
        (error, stdout, stderr) => {
          if (error) reject(new Error(`${error.message}\n${stdout}\n${stderr.slice(-2000)}`));
          else resolve(stdout);
        },
      );
    });
    const result = JSON.parse(output.trim().split('\n').pop()!) as {
      requests: number;
      statuses: number[];
      ringEntries: number;
      ringBytes: number;
      largestEntryBytes: number;
      heapBeforeMb: number;
      heapAfterMb: number;
    };
    expect(result.requests).to.equal(1100);
    expect(result.statuses).to.deep.equal([401]);
    expect(result.ringEntries).to.equal(1000);
    expect(result.largestEntryBytes).to.be.below(2048);
    expect(result.ringBytes).to.be.below(2 * 1024 * 1024);
    // Generous: the old entries (900 kB each) took the heap from 10 MB to 1 GB.
    expect(result.heapAfterMb - result.heapBeforeMb).to.be.below(64);
  });
});
