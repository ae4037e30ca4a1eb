import { expect } from 'chai';
import { MemoryStore } from 'express-rate-limit';
import type { Store } from 'express-rate-limit';
import { ManagementError, MemoryAttemptStore, customTokenExchange } from '../../lib/index.js';
import type { CustomTokenExchangeOptions } from '../../lib/index.js';
import { parseAttackProtection } from '../../lib/attack-protection/attack-protection-options.js';
import { API, ISSUER, SECRET, testSigningKeys } from '../support/fixtures.js';

const APP = {
  client_id: 'app',
  client_secret: SECRET,
  name: 'App',
  token_exchange: { allow_any_profile_of_type: ['custom_authentication'] },
};

async function options(extra: Record<string, unknown>): Promise<CustomTokenExchangeOptions> {
  return {
    issuer: ISSUER,
    keys: await testSigningKeys(),
    sandbox: false,
    clients: [APP],
    resourceServers: [{ identifier: API }],
    ...extra,
  };
}

function constructionError(opts: CustomTokenExchangeOptions): string {
  try {
    customTokenExchange(opts);
  } catch (err) {
    expect(err).to.be.instanceOf(TypeError);
    return (err as TypeError).message;
  }
  throw new Error('construction should throw');
}

const P = 'customTokenExchange: options.attackProtection';

describe('options.attackProtection', () => {
  it('defaults: throttling on (10 attempts, one back per 600 000 ms, /64), no rate limit, fail-closed', () => {
    expect(parseAttackProtection(undefined, 'options.attackProtection')).to.deep.equal({
      suspiciousIpThrottling: {
        enabled: true,
        maxAttempts: 10,
        rate: 600_000,
        allowlist: [],
        ipv6Subnet: 64,
        queueLimit: 100,
        queueTimeoutMs: 30_000,
        store: undefined,
      },
      profileRateLimit: { enabled: false, windowMs: 60_000, limit: 60, store: undefined },
      forwardedIpHeader: 'auth0-forwarded-for',
      onStoreError: 'fail-closed',
    });
  });

  it('enables the default rate limit when profileRateLimit is given, and takes every option', () => {
    const store = new MemoryAttemptStore();
    const makeStore = (): Store => new MemoryStore();
    const input = {
      suspiciousIpThrottling: {
        enabled: true,
        maxAttempts: 5,
        rate: 60_000,
        allowlist: ['203.0.113.7', '2001:db8::/32'],
        ipv6Subnet: 48,
        queueLimit: 50,
        queueTimeoutMs: 2000,
        store,
      },
      profileRateLimit: { windowMs: 1000, limit: 15, store: makeStore },
      forwardedIpHeader: 'X-End-User-IP',
      onStoreError: 'fail-open',
    };
    const parsed = parseAttackProtection(input, 'options.attackProtection');
    expect(parsed).to.deep.equal({
      suspiciousIpThrottling: { ...input.suspiciousIpThrottling },
      profileRateLimit: { enabled: true, windowMs: 1000, limit: 15, store: makeStore },
      forwardedIpHeader: 'x-end-user-ip',
      onStoreError: 'fail-open',
    });
    // The caller's object is neither kept nor changed.
    expect(parsed.suspiciousIpThrottling.allowlist).not.to.equal(
      input.suspiciousIpThrottling.allowlist,
    );
    expect(input.forwardedIpHeader).to.equal('X-End-User-IP');
    expect(parseAttackProtection({ profileRateLimit: {} }, 'p').profileRateLimit.enabled).to.equal(
      true,
    );
    expect(
      parseAttackProtection({ profileRateLimit: { enabled: false } }, 'p').profileRateLimit.enabled,
    ).to.equal(false);
  });

  type Case = [string, Record<string, unknown>, string];
  const cases: Case[] = [
    ['not an object', { attackProtection: true }, `${P} must be a plain object`],
    [
      'an unknown key',
      { attackProtection: { rateLimit: {} } },
      `${P}.rateLimit is not a known property`,
    ],
    [
      'maxAttempts 0',
      { attackProtection: { suspiciousIpThrottling: { maxAttempts: 0 } } },
      `${P}.suspiciousIpThrottling.maxAttempts must be an integer from 1 to 10000`,
    ],
    [
      'a rate that is not a number',
      { attackProtection: { suspiciousIpThrottling: { rate: '10m' } } },
      `${P}.suspiciousIpThrottling.rate must be an integer from 1 to 86400000`,
    ],
    [
      'enabled that is not a boolean',
      { attackProtection: { suspiciousIpThrottling: { enabled: 'yes' } } },
      `${P}.suspiciousIpThrottling.enabled must be a boolean`,
    ],
    [
      'an allow-list entry that is not an IP or CIDR',
      { attackProtection: { suspiciousIpThrottling: { allowlist: ['203.0.113.7', 'office'] } } },
      `${P}.suspiciousIpThrottling.allowlist[1] must be an IPv4 or IPv6 address or CIDR (e.g. 203.0.113.7, 198.51.100.0/24, 2001:db8::/32)`,
    ],
    [
      'more than 100 allow-list entries',
      {
        attackProtection: {
          suspiciousIpThrottling: {
            allowlist: Array.from({ length: 101 }, (_, i) => `10.0.${i}.0/24`),
          },
        },
      },
      `${P}.suspiciousIpThrottling.allowlist must have at most 100 entries`,
    ],
    [
      'an IPv6 prefix of 128',
      { attackProtection: { suspiciousIpThrottling: { ipv6Subnet: 128 } } },
      `${P}.suspiciousIpThrottling.ipv6Subnet must be an integer from 32 to 64`,
    ],
    [
      'a store without take',
      { attackProtection: { suspiciousIpThrottling: { store: { peek() {}, reset() {} } } } },
      `${P}.suspiciousIpThrottling.store.take must be a function (see the AttemptStore interface)`,
    ],
    [
      'a store without reserve (written before holds)',
      {
        attackProtection: {
          suspiciousIpThrottling: { store: { peek() {}, take() {}, reset() {} } },
        },
      },
      `${P}.suspiciousIpThrottling.store.reserve must be a function (see the AttemptStore interface)`,
    ],
    ...(
      [
        ['a queueLimit of 0', 'suspiciousIpThrottling', 'queueLimit', 0, '1 to 100000'],
        [
          'a queueTimeoutMs under 100 ms',
          'suspiciousIpThrottling',
          'queueTimeoutMs',
          10,
          '100 to 600000',
        ],
        ['a window under a second', 'profileRateLimit', 'windowMs', 10, '1000 to 86400000'],
        ['a limit of 0', 'profileRateLimit', 'limit', 0, '1 to 1000000'],
      ] as const
    ).map(([title, section, field, value, range]): Case => [
      title,
      { attackProtection: { [section]: { [field]: value } } },
      `${P}.${section}.${field} must be an integer from ${range}`,
    ]),
    [
      'a rate-limit Store instance instead of a function making one',
      { attackProtection: { profileRateLimit: { store: new MemoryStore() } } },
      `${P}.profileRateLimit.store must be a function returning a new express-rate-limit Store for each limiter (one Store instance cannot serve several limiters)`,
    ],
    [
      'a header name with a space',
      { attackProtection: { forwardedIpHeader: 'end user ip' } },
      `${P}.forwardedIpHeader must be an HTTP header name`,
    ],
    [
      'an unknown onStoreError',
      { attackProtection: { onStoreError: 'ignore' } },
      `${P}.onStoreError must be one of fail-closed, fail-open`,
    ],
    [
      'a client whose is_token_endpoint_ip_header_trusted is not a boolean',
      { clients: [{ ...APP, is_token_endpoint_ip_header_trusted: 'yes' }] },
      'customTokenExchange: options.clients[0].is_token_endpoint_ip_header_trusted must be a boolean',
    ],
  ];
  for (const [title, extra, message] of cases) {
    it(`refuses ${title}, naming the path`, async () => {
      expect(constructionError(await options(extra))).to.equal(message);
    });
  }

  it('refuses a store factory that does not return a Store', async () => {
    const opts = await options({
      attackProtection: { profileRateLimit: { store: () => ({}) as Store } },
    });
    expect(constructionError(opts)).to.equal(
      `${P}.profileRateLimit.store must return an express-rate-limit Store (got object for default)`,
    );
  });

  it('refuses, at setProfileRateLimit, a store factory that returns a store already in use', async () => {
    const shared = new MemoryStore();
    const cte = customTokenExchange(
      await options({ attackProtection: { profileRateLimit: { store: () => shared } } }),
    );
    const action = await cte.actions.create({ name: 'partner-action', handler: async () => {} });
    await cte.actions.deploy(action.id);
    const profile = await cte.profiles.create({
      name: 'Partner tokens',
      subject_token_type: 'urn:acme:partner',
      action_id: action.id,
      type: 'custom_authentication',
    });
    let error: unknown;
    try {
      await cte.attackProtection.setProfileRateLimit(profile.id, { limit: 1 });
    } catch (err) {
      error = err;
    }
    expect(error).to.be.instanceOf(ManagementError);
    expect(error).to.include({
      code: 'invalid_body',
      message:
        'options.attackProtection.profileRateLimit.store must return a new Store for each limiter (it returned one already in use)',
    });
    expect(cte.attackProtection.getProfileRateLimit(profile.id)).to.deep.equal({
      windowMs: 60_000,
      limit: 60,
    });
    await cte.close();
  });
});
