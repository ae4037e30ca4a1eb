import type { MeterProvider, TracerProvider } from '@opentelemetry/api';
import { metrics, trace } from '@opentelemetry/api';
import { checkKnownKeys, checkObject, checkOptionalBoolean, fail } from '../definition-checks.js';

/**
 * Where the router's OpenTelemetry spans and metrics go, and what they may say. Part of
 * `CustomTokenExchangeOptions`. Without an OpenTelemetry SDK in the process, every span and
 * instrument is the API's no-op.
 */
export interface ObservabilityOptions {
  /**
   * Makes the router's tracer. Default: the global tracer provider, which forwards to the SDK's
   * once one is registered (before or after the router is created).
   */
  tracerProvider?: TracerProvider;
  /**
   * Makes the router's meter. Default: the global meter provider as it is when the router is
   * created: start the SDK (`NodeSDK.start()`, `metrics.setGlobalMeterProvider()`) before calling
   * `customTokenExchange()`, or pass the provider here.
   */
  meterProvider?: MeterProvider;
  /**
   * Records the end user's id as `enduser.id` on request spans. Default `false`: a user id
   * identifies a person, and traces often go to a vendor.
   */
  enduserId?: boolean;
  /**
   * Adds the `cte.client_id` attribute to the exchange and refresh counters and the request
   * duration histogram. Default `false`: every client is a new time series, and the number of
   * clients has no bound. Spans always carry `cte.client_id`.
   */
  clientIdInMetrics?: boolean;
}

/** {@link ObservabilityOptions} validated, with the providers resolved. */
export interface ObservabilityConfig {
  tracerProvider: TracerProvider;
  meterProvider: MeterProvider;
  enduserId: boolean;
  clientIdInMetrics: boolean;
}

const KEYS = ['tracerProvider', 'meterProvider', 'enduserId', 'clientIdInMetrics'];

/** Validates `options.observability`; a mistake throws a `TypeError` naming its path. */
export function parseObservabilityOptions(input: unknown, path: string): ObservabilityConfig {
  const options = input === undefined ? {} : checkObject(input, path);
  checkKnownKeys(options, KEYS, path);
  const tracerProvider = options.tracerProvider ?? trace.getTracerProvider();
  if (typeof (tracerProvider as Partial<TracerProvider>).getTracer !== 'function') {
    fail(`${path}.tracerProvider`, 'must be an OpenTelemetry TracerProvider (with getTracer)');
  }
  const meterProvider = options.meterProvider ?? metrics.getMeterProvider();
  if (typeof (meterProvider as Partial<MeterProvider>).getMeter !== 'function') {
    fail(`${path}.meterProvider`, 'must be an OpenTelemetry MeterProvider (with getMeter)');
  }
  return {
    tracerProvider: tracerProvider as TracerProvider,
    meterProvider: meterProvider as MeterProvider,
    enduserId: checkOptionalBoolean(options.enduserId, `${path}.enduserId`, false),
    clientIdInMetrics: checkOptionalBoolean(
      options.clientIdInMetrics,
      `${path}.clientIdInMetrics`,
      false,
    ),
  };
}
