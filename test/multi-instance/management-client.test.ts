/**
 * Auth0's own SDK drives the Management API of one router process, and a second process sharing
 * the PostgreSQL configuration store and log serves what it changed: the `auth0` package's
 * ManagementClient (static token, HTTPS as it requires) creates an action, deploys it, creates a
 * profile; an exchange through the other process runs it; a roll back is run by the next
 * exchange there; the exchange's log entry is read back through the SDK. Both processes are
 * started and stopped by the test, each start with a deadline, also on failure.
 */
import { randomBytes } from 'node:crypto';
import { ManagementClient } from 'auth0';
import { expect } from 'chai';
import { decodeJwt } from 'jose';
import { migrate } from '../../lib/stores/postgres/migrate.js';
import { SECRET, basic, exchangeBody, form, testSigningKeys } from '../support/fixtures.js';
import { startExample, type ExampleProcess } from '../support/example-process.js';
import { selfSignedCertificate, trustingFetch } from '../support/https-server.js';
import { openPool } from '../support/postgres-databases.js';
import { startPostgres, type PostgresServer } from '../support/postgres-server.js';
import { actionCode } from '../support/sandboxed-actions.js';
import { onExitCleanup, signal } from '../support/server-process.js';
import { signedToken, ALL_SCOPES } from '../management/management-support.js';
import type { ManagementInstanceConfig } from './management-instance.js';

const TYPE = 'urn:partner:sdk-token';
const ALICE = actionCode('api.authentication.setUserById(event.secrets.USER_ID);');
const DENY = actionCode("api.access.deny('second_version', 'the second version denies');");

/** Resolves once `condition` resolves true, or fails naming `what` after `timeoutMs`. */
async function eventually(
  condition: () => Promise<boolean>,
  what: string,
  timeoutMs = 5000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

describe('the auth0 ManagementClient against two router processes sharing PostgreSQL', function () {
  this.timeout(120_000);
  let postgres: PostgresServer | undefined;
  let a: ExampleProcess | undefined;
  let b: ExampleProcess | undefined;
  let fetchB: ReturnType<typeof trustingFetch>;
  let client: ManagementClient;

  before(async () => {
    postgres = await startPostgres();
    const admin = openPool(postgres);
    try {
      await migrate(admin.database);
    } finally {
      await admin.close();
    }
    const { cert, key } = selfSignedCertificate();
    const config: ManagementInstanceConfig = {
      postgresPort: postgres.port,
      keys: await testSigningKeys(),
      secretKey: randomBytes(32).toString('base64url'),
      cert,
      key,
    };
    const start = () =>
      startExample('test/multi-instance/management-instance.ts', {
        ready: /listening on \d+/,
        env: { CTE_MANAGEMENT_INSTANCE: JSON.stringify(config) },
        timeoutMs: 40_000,
      });
    [a, b] = await Promise.all([start(), start()]);
    for (const instance of [a, b]) onExitCleanup(() => signal(instance.child.pid!, 'SIGKILL'));
    fetchB = trustingFetch(cert, '127.0.0.1');
    client = new ManagementClient({
      domain: `localhost:${a.port}`,
      token: await signedToken({ scope: ALL_SCOPES.join(' ') }),
      fetch: trustingFetch(cert, '127.0.0.1'),
    });
  });

  after(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
    await postgres?.stop();
  });

  /** A token exchange on B. */
  async function exchangeOnB(): Promise<{ status: number; body: Record<string, unknown> }> {
    const res = await fetchB(`https://localhost:${b!.port}/oauth/token`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: basic('app', SECRET),
      },
      body: form(exchangeBody({ subject_token: 'opaque', subject_token_type: TYPE })),
      signal: AbortSignal.timeout(20_000),
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  }

  it('creates, deploys, binds and rolls back through A; B runs each live version; the log reads back', async () => {
    const action = await client.actions.create({
      name: 'sdk-action',
      supported_triggers: [{ id: 'custom-token-exchange', version: 'v1' }],
      code: ALICE,
      runtime: 'node22',
      secrets: [{ name: 'USER_ID', value: 'auth0|alice' }],
    });
    expect(action.id).to.be.a('string');
    expect(action.secrets).to.eql([{ name: 'USER_ID', updated_at: action.created_at }]);
    const v1 = await client.actions.deploy(action.id!);
    expect(v1).to.include({ number: 1, deployed: true });
    const profile = await client.tokenExchangeProfiles.create({
      name: 'SDK tokens',
      subject_token_type: TYPE,
      action_id: action.id!,
      type: 'custom_authentication',
    });
    expect(profile).to.include({ subject_token_type: TYPE, action_id: action.id });

    await eventually(async () => (await exchangeOnB()).status === 200, 'B serves the profile');
    const issued = await exchangeOnB();
    expect(decodeJwt(issued.body.access_token as string).sub).to.equal('auth0|alice');

    await client.actions.update(action.id!, { code: DENY });
    await client.actions.deploy(action.id!);
    await eventually(async () => (await exchangeOnB()).status === 400, 'B runs version 2');
    expect((await exchangeOnB()).body.error).to.equal('second_version');

    const versions = await client.actions.versions.list(action.id!);
    expect(versions.data.map((version) => version.number)).to.eql([2, 1]);
    await client.actions.versions.deploy(action.id!, v1.id!);
    await eventually(async () => (await exchangeOnB()).status === 200, 'B runs version 1 again');

    let entry: { log_id?: string | undefined; type?: string | undefined } | undefined;
    await eventually(async () => {
      const page = await client.logs.list({ search: 'type:secte' });
      entry = page.data[0];
      return entry !== undefined;
    }, 'the exchange is logged');
    expect(entry).to.include({ type: 'secte', user_id: 'auth0|alice', client_id: 'app' });
    const read = await client.logs.get(entry!.log_id!);
    expect(read).to.deep.include({ log_id: entry!.log_id, type: 'secte' });
    expect((read.details as { subject_token_type?: string }).subject_token_type).to.equal(TYPE);

    const audit = await client.logs.list({ search: 'type:sapi' });
    expect(audit.data.map((logged) => logged.description).reverse()).to.eql([
      'Create an action',
      'Deploy an action',
      'Create a token exchange profile',
      'Update an action',
      'Deploy an action',
      'Roll back an action to an earlier version',
    ]);
  });
});
