import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import { RedisReplayStore } from '../../lib/stores/redis/redis-replay-store.js';
import { REDIS_CLIENTS } from '../support/redis-clients.js';
import type { TestRedisClient } from '../support/redis-clients.js';
import { startRedis } from '../support/redis-server.js';
import type { RedisServer } from '../support/redis-server.js';
import { mfaToken, redeemOtp } from '../support/mfa.js';
import { itCountsWrongCodesTogether, twoMfaInstances } from './shared-mfa-cases.js';

/**
 * Two routers sharing one Redis replay store and one `mfa.secret`, as two instances behind a
 * load balancer: an `mfa_token` from one is redeemed on the other, once, and its attempts are
 * counted together.
 */
describe('MFA across two instances sharing a Redis replay store', function () {
  this.timeout(30_000);
  let redis: RedisServer | undefined;
  let connection: TestRedisClient | undefined;

  before(async () => {
    redis = await startRedis();
    connection = await REDIS_CLIENTS[0]!.connect(redis);
  });

  after(async () => {
    await connection?.close();
    await redis?.stop();
  });

  // One key prefix per test, shared by its two instances.
  let prefix = '';
  beforeEach(() => {
    prefix = `mfa:${randomUUID()}:`;
  });
  const instances = twoMfaInstances(
    () => new RedisReplayStore({ client: connection!.client, prefix }),
  );

  it('redeems on one instance a token the other issued, and only once on either', async () => {
    const [a, b] = instances();
    const token = await mfaToken(a);
    const res = await redeemOtp(b, token, '123456');
    expect(res.status, JSON.stringify(res.body)).to.equal(200);
    expect(b.verifications).to.have.length(1);
    const again = await redeemOtp(a, token, '123456');
    expect(again.status).to.equal(401);
    expect(again.body).to.deep.equal({
      error: 'expired_token',
      error_description: 'mfa_token is expired',
    });
  });

  itCountsWrongCodesTogether(instances);
});
