import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import { RedisReplayStore } from '../../lib/stores/redis/redis-replay-store.js';
import { REDIS_CLIENTS } from '../support/redis-clients.js';
import type { TestRedisClient } from '../support/redis-clients.js';
import { startRedis } from '../support/redis-server.js';
import type { RedisServer } from '../support/redis-server.js';
import { mfaServer, mfaToken, redeemOtp } from '../support/mfa.js';
import type { MfaHarness } from '../support/mfa.js';

/**
 * Two routers sharing one Redis replay store and one `mfa.secret`, as two instances behind a
 * load balancer: an `mfa_token` from one is redeemed on the other, once, and its attempts are
 * counted together.
 */
describe('MFA across two instances sharing a Redis replay store', function () {
  this.timeout(30_000);
  let redis: RedisServer | undefined;
  let connection: TestRedisClient | undefined;
  let a: MfaHarness;
  let b: MfaHarness;

  before(async () => {
    redis = await startRedis();
    connection = await REDIS_CLIENTS[0]!.connect(redis);
  });

  after(async () => {
    await connection?.close();
    await redis?.stop();
  });

  beforeEach(async () => {
    const prefix = `mfa:${randomUUID()}:`;
    const instance = async (): Promise<MfaHarness> => {
      const server = await mfaServer(
        { maxAttempts: 2 },
        { stores: { replay: new RedisReplayStore({ client: connection!.client, prefix }) } },
      );
      server.behave.current = (_event, api) => api.multifactor.enable('any');
      return server;
    };
    [a, b] = await Promise.all([instance(), instance()]);
  });

  it('redeems on one instance a token the other issued, and only once on either', async () => {
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

  it('counts wrong codes on every instance together', async () => {
    const token = await mfaToken(b);
    a.verifier.answer = async () => false;
    b.verifier.answer = async () => false;
    expect((await redeemOtp(a, token, '1')).status).to.equal(403);
    expect((await redeemOtp(b, token, '2')).status).to.equal(403);
    a.verifier.answer = async () => true;
    const third = await redeemOtp(a, token, '3');
    expect(third.status).to.equal(429);
    expect(third.body.error).to.equal('too_many_attempts');
    expect(a.verifications.map(({ otp }) => otp)).to.deep.equal(['1']);
  });
});
