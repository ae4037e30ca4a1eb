import { expect } from 'chai';
import { migrate } from '../../lib/stores/postgres/migrate.js';
import { PostgresReplayStore } from '../../lib/stores/postgres/postgres-replay-store.js';
import { mfaServer, mfaToken, redeemOtp } from '../support/mfa.js';
import type { MfaHarness } from '../support/mfa.js';
import { openPGlite, type TestDatabase } from '../support/postgres-databases.js';

/**
 * Two routers sharing one PostgreSQL replay store (PGlite, one process: the SQL is the same) and
 * one `mfa.secret`: an `mfa_token` from one is redeemed once, even when both race for it.
 */
describe('MFA across two instances sharing a PostgreSQL replay store', function () {
  this.timeout(30_000);
  let db: TestDatabase | undefined;
  let instances: MfaHarness[] = [];

  before(async () => {
    db = await openPGlite();
    await migrate(db.database);
  });

  after(async () => {
    await db?.close();
  });

  beforeEach(async () => {
    for (let i = 0; i < 2; i++) {
      const server = await mfaServer(
        { maxAttempts: 2 },
        { stores: { replay: new PostgresReplayStore({ database: db!.database }) } },
      );
      server.behave.current = (_event, api) => api.multifactor.enable('any');
      instances.push(server);
    }
  });

  afterEach(async () => {
    await Promise.all(instances.map((server) => server.cte.close()));
    instances = [];
  });

  it('redeems a token the other instance issued once, when both redeem it at the same time', async () => {
    const [a, b] = instances as [MfaHarness, MfaHarness];
    const token = await mfaToken(a);
    const answers = await Promise.all([
      redeemOtp(a, token, '123456'),
      redeemOtp(b, token, '123456'),
    ]);
    expect(answers.map(({ status }) => status).sort()).to.deep.equal([200, 401]);
    expect(answers.find(({ status }) => status === 401)!.body).to.deep.equal({
      error: 'expired_token',
      error_description: 'mfa_token is expired',
    });
  });

  it('counts wrong codes on both instances together', async () => {
    const [a, b] = instances as [MfaHarness, MfaHarness];
    const token = await mfaToken(b);
    a.verifier.answer = async () => false;
    b.verifier.answer = async () => false;
    expect((await redeemOtp(a, token, '1')).status).to.equal(403);
    expect((await redeemOtp(b, token, '2')).status).to.equal(403);
    a.verifier.answer = async () => true;
    const third = await redeemOtp(a, token, '3');
    expect(third.status).to.equal(429);
    expect(third.body.error).to.equal('too_many_attempts');
  });
});
