import { expect } from 'chai';
import { migrate } from '../../lib/stores/postgres/migrate.js';
import { PostgresReplayStore } from '../../lib/stores/postgres/postgres-replay-store.js';
import { mfaToken, redeemOtp } from '../support/mfa.js';
import { openPGlite, type TestDatabase } from '../support/postgres-databases.js';
import { itCountsWrongCodesTogether, twoMfaInstances } from './shared-mfa-cases.js';

/**
 * Two routers sharing one PostgreSQL replay store (PGlite, one process: the SQL is the same) and
 * one `mfa.secret`: an `mfa_token` from one is redeemed once, even when both race for it.
 */
describe('MFA across two instances sharing a PostgreSQL replay store', function () {
  this.timeout(30_000);
  let db: TestDatabase | undefined;

  before(async () => {
    db = await openPGlite();
    await migrate(db.database);
  });

  after(async () => {
    await db?.close();
  });

  const instances = twoMfaInstances(() => new PostgresReplayStore({ database: db!.database }));

  it('redeems a token the other instance issued once, when both redeem it at the same time', async () => {
    const [a, b] = instances();
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

  itCountsWrongCodesTogether(instances);
});
