import { expect } from 'chai';
import { createLocalJWKSet, jwtVerify } from 'jose';
import type { JSONWebKeySet } from 'jose';
import { startExample, type ExampleProcess } from '../support/example-process.js';
import { openPool } from '../support/postgres-databases.js';
import { startPostgres, type PostgresServer } from '../support/postgres-server.js';
import { exited } from '../support/server-process.js';

const FIXTURE = 'test/stores/fixtures/postgres-router-process.ts';
const API = 'https://api.example.com/';
const USERS = ['p-1', 'p-2', 'p-3', 'p-4'];

interface Tokens {
  access_token: string;
  refresh_token: string;
  id_token: string;
}

/**
 * A router process on PostgreSQL is killed (SIGKILL, no shutdown) and started again; a second
 * process then joins on the same database. Everything over HTTP, as clients see it. Each process
 * and the server are stopped by `after`, whatever happened.
 */
describe('a router on PostgreSQL, killed and restarted, then joined by a second process', function () {
  // The hard deadline of the whole file: three process starts and a server on a busy machine.
  this.timeout(120_000);
  let server: PostgresServer | undefined;
  const processes: ExampleProcess[] = [];

  const start = async (): Promise<ExampleProcess> => {
    const started = await startExample(FIXTURE, {
      ready: /router ready on \d+/,
      env: { DATABASE_URL: server!.url },
      timeoutMs: 60_000,
    });
    processes.push(started);
    return started;
  };
  const token = async (router: ExampleProcess, body: Record<string, string>) => {
    const res = await fetch(`http://127.0.0.1:${router.port}/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        client_id: 'app',
        client_secret: 'app-secret-0123456789abcdef',
        ...body,
      }),
    });
    return { status: res.status, body: (await res.json()) as Tokens & Record<string, unknown> };
  };
  const exchange = (router: ExampleProcess, subjectToken: string) =>
    token(router, {
      grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
      subject_token_type: 'urn:partner:token',
      subject_token: subjectToken,
      scope: 'openid offline_access read:orders',
    });
  const refresh = (router: ExampleProcess, refreshToken: string) =>
    token(router, { grant_type: 'refresh_token', refresh_token: refreshToken });
  const jwks = async (router: ExampleProcess) =>
    (await (
      await fetch(`http://127.0.0.1:${router.port}/.well-known/jwks.json`)
    ).json()) as JSONWebKeySet;
  const verifies = async (accessToken: string, keys: JSONWebKeySet) =>
    (await jwtVerify(accessToken, createLocalJWKSet(keys), { audience: API })).payload.sub;

  before(async () => {
    server = await startPostgres();
  });

  after(async () => {
    await Promise.all(processes.map((child) => child.stop()));
    await server?.stop();
  });

  it('keeps every refresh token and user across a kill, and a second process accepts them', async () => {
    const first = await start();
    const issued = new Map<string, Tokens>();
    for (const id of USERS) {
      const res = await exchange(first, `partner:${id}`);
      expect(res.status, JSON.stringify(res.body)).to.equal(200);
      issued.set(id, res.body);
    }
    // One family rotated once before the kill: its successor is what the client holds now.
    const rotated = await refresh(first, issued.get('p-1')!.refresh_token);
    expect(rotated.status).to.equal(200);
    issued.set('p-1', rotated.body);
    const keysBefore = await jwks(first);

    first.child.kill('SIGKILL');
    await exited(first.child);
    const restarted = await start();

    expect(await jwks(restarted)).to.deep.equal(keysBefore);
    const afterRestart = new Map<string, Tokens>();
    for (const [id, tokens] of issued) {
      // Tokens issued before the kill verify against the restarted process's keys.
      expect(await verifies(tokens.access_token, await jwks(restarted))).to.equal(`partner|${id}`);
      const res = await refresh(restarted, tokens.refresh_token);
      expect(res.status, `${id}: ${JSON.stringify(res.body)}`).to.equal(200);
      expect(await verifies(res.body.access_token, keysBefore)).to.equal(`partner|${id}`);
      afterRestart.set(id, res.body);
      const known = await exchange(restarted, `known:partner|${id}`);
      expect(known.status, JSON.stringify(known.body)).to.equal(200);
    }
    const db = openPool(server!);
    try {
      const users = await db.query<{ user_id: string; logins_count: number }>(
        'SELECT user_id, logins_count FROM cte_users ORDER BY user_id',
      );
      expect(users).to.deep.equal(
        USERS.map((id) => ({ user_id: `partner|${id}`, logins_count: 2 })),
      );
    } finally {
      await db.close();
    }

    const second = await start();
    expect(await jwks(second)).to.deep.equal(await jwks(restarted));
    for (const [id, tokens] of afterRestart) {
      expect(await verifies(tokens.access_token, await jwks(second))).to.equal(`partner|${id}`);
      const res = await refresh(second, tokens.refresh_token);
      expect(res.status, `${id}: ${JSON.stringify(res.body)}`).to.equal(200);
      expect(await verifies(res.body.access_token, await jwks(restarted))).to.equal(
        `partner|${id}`,
      );
      // The token it rotated away from is reuse now, on either process.
      const reused = await refresh(restarted, tokens.refresh_token);
      expect(reused.status).to.equal(400);
    }
  });
});
