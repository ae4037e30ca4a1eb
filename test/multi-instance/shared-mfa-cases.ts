import { expect } from 'chai';
import type { ReplayStore } from '../../lib/stores/replay-store.js';
import { mfaServer, mfaToken, redeemOtp, type MfaHarness } from '../support/mfa.js';

/**
 * Two routers sharing `replay()`'s store and one `mfa.secret`, as two instances behind a load
 * balancer, made afresh for each test and closed after it: the harnesses' getter, for the tests.
 */
export function twoMfaInstances(replay: () => ReplayStore): () => [MfaHarness, MfaHarness] {
  let instances: [MfaHarness, MfaHarness] | undefined;
  beforeEach(async () => {
    const instance = async (): Promise<MfaHarness> => {
      const server = await mfaServer({ maxAttempts: 2 }, { stores: { replay: replay() } });
      server.behave.current = (_event, api) => api.multifactor.enable('any');
      return server;
    };
    instances = await Promise.all([instance(), instance()]);
  });
  afterEach(async () => {
    await Promise.all((instances ?? []).map((server) => server.cte.close()));
    instances = undefined;
  });
  return () => instances!;
}

/** Wrong codes sent to either instance count against one `mfa_token`. */
export function itCountsWrongCodesTogether(instances: () => [MfaHarness, MfaHarness]): void {
  it('counts wrong codes on every instance together', async () => {
    const [a, b] = instances();
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
}
