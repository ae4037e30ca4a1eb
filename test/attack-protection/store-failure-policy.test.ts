import { expect } from 'chai';
import { StoreFailurePolicy } from '../../lib/attack-protection/store-failure-policy.js';
import { OAuthError } from '../../lib/errors.js';

const DOWN = new Error('connect ECONNREFUSED 10.0.0.5:6379');

describe('StoreFailurePolicy', () => {
  it('fail-closed: a 503 temporarily_unavailable with Retry-After and the cause, no warning', () => {
    const warnings: string[] = [];
    const policy = new StoreFailurePolicy({
      mode: 'fail-closed',
      warn: (message) => warnings.push(message),
    });
    const error = policy.failure('the suspicious IP throttling store', DOWN);
    expect(error).to.be.instanceOf(OAuthError);
    expect(error).to.include({
      status: 503,
      error: 'temporarily_unavailable',
      privateCause:
        'the suspicious IP throttling store failed: Error: connect ECONNREFUSED 10.0.0.5:6379',
    });
    expect(error!.headers).to.deep.equal({ 'Retry-After': '5' });
    expect(warnings).to.deep.equal([]);
  });

  it('fail-open: lets the request go on and warns at most once a minute, counting what it kept quiet', () => {
    let now = 0;
    const warnings: string[] = [];
    const policy = new StoreFailurePolicy({
      mode: 'fail-open',
      warn: (message) => warnings.push(message),
      now: () => now,
    });
    const prefix =
      "customTokenExchange: the profile rate limit store failed; onStoreError is 'fail-open', " +
      'so requests proceed without this protection: ';
    expect(policy.failure('the profile rate limit store', DOWN)).to.equal(undefined);
    now = 30_000;
    expect(policy.failure('the profile rate limit store', 'timeout')).to.equal(undefined);
    now = 59_999;
    expect(policy.failure('the profile rate limit store', DOWN)).to.equal(undefined);
    expect(warnings).to.deep.equal([`${prefix}Error: connect ECONNREFUSED 10.0.0.5:6379`]);

    now = 60_000;
    policy.failure('the profile rate limit store', 'timeout');
    expect(warnings).to.deep.equal([
      `${prefix}Error: connect ECONNREFUSED 10.0.0.5:6379`,
      `${prefix}timeout (2 more store failures since the last warning)`,
    ]);
    now = 200_000;
    policy.failure('the profile rate limit store', DOWN);
    expect(warnings[2]).to.equal(`${prefix}Error: connect ECONNREFUSED 10.0.0.5:6379`);
  });
});
