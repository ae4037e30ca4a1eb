import { expect } from 'chai';
import { customTokenExchange } from '../../lib/index.js';
import type { CustomTokenExchangeOptions } from '../../lib/index.js';
import { API, ISSUER, SECRET, testSigningKeys } from '../support/fixtures.js';
import { testTelemetry } from '../support/telemetry.js';

describe('observability: options.observability', () => {
  async function options(observability: unknown): Promise<CustomTokenExchangeOptions> {
    return {
      issuer: ISSUER,
      keys: await testSigningKeys(),
      sandbox: false,
      clients: [{ client_id: 'app', client_secret: SECRET, name: 'App' }],
      resourceServers: [{ identifier: API, signing_alg: 'ES256' }],
      ...(observability === undefined
        ? {}
        : {
            observability: observability as NonNullable<
              CustomTokenExchangeOptions['observability']
            >,
          }),
    };
  }

  const cases: Array<[string, unknown, string]> = [
    ['not an object', 'otel', 'options.observability must be a plain object'],
    ['an unknown key', { tracer: {} }, 'options.observability.tracer is not a known property'],
    [
      'a tracer provider without getTracer',
      { tracerProvider: {} },
      'options.observability.tracerProvider must be an OpenTelemetry TracerProvider (with getTracer)',
    ],
    [
      'a meter provider without getMeter',
      { meterProvider: { getTracer: () => undefined } },
      'options.observability.meterProvider must be an OpenTelemetry MeterProvider (with getMeter)',
    ],
    [
      'enduserId not a boolean',
      { enduserId: 'yes' },
      'options.observability.enduserId must be a boolean',
    ],
    [
      'clientIdInMetrics not a boolean',
      { clientIdInMetrics: 1 },
      'options.observability.clientIdInMetrics must be a boolean',
    ],
  ];
  for (const [what, value, message] of cases) {
    it(`refuses ${what}`, async () => {
      const given = await options(value);
      expect(() => customTokenExchange(given)).to.throw(
        TypeError,
        `customTokenExchange: ${message}`,
      );
    });
  }

  it('accepts the documented shape, and no observability at all', async () => {
    const sdk = testTelemetry();
    try {
      for (const value of [
        undefined,
        {},
        {
          tracerProvider: sdk.tracerProvider,
          meterProvider: sdk.meterProvider,
          enduserId: true,
          clientIdInMetrics: true,
        },
      ]) {
        expect(customTokenExchange(await options(value)).health).to.be.a('function');
      }
    } finally {
      await sdk.shutdown();
    }
  });
});
