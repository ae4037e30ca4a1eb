import type { Attributes, Meter, Tracer } from '@opentelemetry/api';
import { ProxyTracerProvider, context, createNoopMeter, trace } from '@opentelemetry/api';
import type { ObservabilityConfig } from './observability-options.js';
import type { ProfileLike, RouterInstruments } from './request-telemetry.js';
import { ATTR, METRIC, SPAN, SUCCESS } from './names.js';
import { RequestObservation } from './request-observation.js';
import type { Endpoint } from './request-observation.js';
import { errorType, failed, spanTemplate, traced } from './spans.js';
import type { SpanTemplate } from './spans.js';

export type { ProfileLike, RouterInstruments } from './request-telemetry.js';

/** The instrumentation scope of every span and metric of the router. */
export const INSTRUMENTATION_SCOPE = 'express-custom-token-exchange';

/** Request and action durations, in seconds (the semantic conventions' HTTP buckets). */
const DURATION_BUCKETS = [
  0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10,
];

/** Options of {@link Telemetry} besides the router's `observability` options. */
export interface TelemetryOptions {
  /** The instrumentation scope's version: the package's. */
  version?: string;
  /**
   * The profile that claims a `subject_token_type`: names the profile of an exchange refused
   * before its profile was looked up (a blocked IP, a rate limit).
   */
  profileOf?: (subjectTokenType: string) => ProfileLike | undefined;
}

/** What the client-authentication span reads of an authenticated client. */
interface AuthenticatedClient {
  client_id: string;
  token_endpoint_auth_method?: string;
}

/** Spans of one action execution, by trigger: made once. */
const DEFAULT_ACTION_SPAN = spanTemplate(SPAN.action);
const ACTION_SPANS = new Map<string, SpanTemplate>([
  ['custom-token-exchange', DEFAULT_ACTION_SPAN],
  ['post-exchange', spanTemplate(SPAN.postExchangeAction)],
]);
const CLIENT_AUTHENTICATION_SPAN = spanTemplate(SPAN.clientAuthentication);
const THROTTLE_SPAN = spanTemplate(SPAN.throttle);
const SIGN_SPAN = spanTemplate(SPAN.sign);
const MFA_VERIFY_SPAN = spanTemplate(SPAN.mfaVerify);

/**
 * One router's OpenTelemetry instrumentation: its tracer, its instruments, and the spans the
 * steps of a request start through it. Built once per router from `options.observability`;
 * without an SDK everything here is the API's no-op.
 */
export class Telemetry {
  readonly tracer: Tracer;
  readonly meter: Meter;
  readonly instruments: RouterInstruments;
  /** Whether request spans carry `enduser.id`. */
  readonly enduserId: boolean;
  /** Whether request counters and durations carry `cte.client_id`. */
  readonly clientIdInMetrics: boolean;
  /**
   * `false` when the meter is the API's no-op (no SDK when the router was created): the
   * attributes and timings of metrics are then not even built.
   */
  readonly recordsMetrics: boolean;

  /** See {@link TelemetryOptions.profileOf}. */
  readonly profileOf: (subjectTokenType: string) => ProfileLike | undefined;

  constructor(config: ObservabilityConfig, options: TelemetryOptions = {}) {
    this.tracer = config.tracerProvider.getTracer(INSTRUMENTATION_SCOPE, options.version);
    this.meter = config.meterProvider.getMeter(INSTRUMENTATION_SCOPE, options.version);
    this.enduserId = config.enduserId;
    this.clientIdInMetrics = config.clientIdInMetrics;
    this.profileOf = options.profileOf ?? (() => undefined);
    this.instruments = createInstruments(this.meter);
    // The API's no-op meter hands out one shared no-op counter.
    this.recordsMetrics = this.instruments.exchanges !== createNoopMeter().createCounter('probe');
  }

  /**
   * Starts observing a request that is the router's (see {@link RequestObservation}); for the
   * token endpoint, `grantType` is the grant that answers it.
   */
  request(
    endpoint: Endpoint,
    req: { method: string; baseUrl: string },
    grantType?: string,
  ): RequestObservation {
    return new RequestObservation(this, endpoint, req, grantType);
  }

  /**
   * Wraps client authentication in its span; the span names the client it authenticated and
   * how (`cte.client_auth_method`).
   */
  clientAuthentication<A extends unknown[], C extends AuthenticatedClient>(
    authenticate: (...args: A) => Promise<C>,
  ): (...args: A) => Promise<C> {
    return (...args) =>
      traced(this.tracer, CLIENT_AUTHENTICATION_SPAN, async (span) => {
        const client = await authenticate(...args);
        if (span.isRecording()) {
          span.setAttribute(ATTR.clientId, client.client_id);
          if (client.token_endpoint_auth_method !== undefined) {
            span.setAttribute(ATTR.clientAuthMethod, client.token_endpoint_auth_method);
          }
        }
        return client;
      });
  }

  /** The suspicious-IP throttle's admission of an exchange (it may wait for an attempt). */
  throttle<T>(admit: () => Promise<T>): Promise<T> {
    return traced(this.tracer, THROTTLE_SPAN, admit);
  }

  /**
   * Signing a response's tokens with `alg`: the span lasts until what `mint` returns settles, so
   * an asynchronous `Signer` (a KMS's call, and the spans its client starts) is inside it.
   */
  sign<T>(alg: string, mint: () => T): T {
    return traced(this.tracer, SIGN_SPAN, (span) => {
      if (span.isRecording()) span.setAttribute(ATTR.signingAlg, alg);
      return mint();
    });
  }

  /** The host's verifier checking an MFA code: its time is the span's. */
  mfaVerify<T>(verify: () => Promise<T>): Promise<T> {
    return traced(this.tracer, MFA_VERIFY_SPAN, verify);
  }

  /** An IP was blocked by suspicious IP throttling during an exchange of `profile`. */
  suspiciousIpBlocked(profile: { name: string } | undefined): void {
    if (!this.recordsMetrics) return;
    this.instruments.suspiciousIpBlocks.add(
      1,
      profile === undefined ? {} : { [ATTR.profile]: profile.name },
    );
  }

  /**
   * Runs one execution of an action in its span (`cte.action`, or `cte.post_exchange_action`
   * for that trigger) and records its duration in `cte.action.duration`, with `cte.result`
   * `success` or the failure's kind (`timeout`, `memory`, `overloaded`, ...).
   */
  actionExecution(
    execution: { actionId: string; trigger: string; runner: 'sandbox' | 'in-process' },
    run: () => Promise<void>,
  ): Promise<void> {
    const template = ACTION_SPANS.get(execution.trigger) ?? DEFAULT_ACTION_SPAN;
    const span = this.tracer.startSpan(template.name, template.options);
    const recording = span.isRecording();
    if (!recording && !this.recordsMetrics) {
      span.end();
      return run();
    }
    if (recording) {
      span.setAttributes({
        [ATTR.actionId]: execution.actionId,
        [ATTR.actionTrigger]: execution.trigger,
        [ATTR.actionRunner]: execution.runner,
      });
    }
    const started = performance.now();
    const ended = (result: string): void => {
      if (recording) {
        if (result !== SUCCESS) failed(span, result);
        span.end();
      }
      if (this.recordsMetrics) {
        this.instruments.actionDuration.record((performance.now() - started) / 1000, {
          [ATTR.actionId]: execution.actionId,
          [ATTR.actionTrigger]: execution.trigger,
          [ATTR.result]: result,
        });
      }
    };
    const running = recording ? context.with(trace.setSpan(context.active(), span), run) : run();
    return running.then(
      () => ended(SUCCESS),
      (err: unknown) => {
        ended(failureKind(err));
        throw err;
      },
    );
  }

  /** Counts a store call that failed. */
  storeFailed(attributes: Attributes): void {
    this.instruments.storeErrors.add(1, attributes);
  }
}

/** Instrumentation that records nothing: for parts built without a router (tests, tools). */
export const NO_TELEMETRY = new Telemetry({
  tracerProvider: new ProxyTracerProvider(),
  meterProvider: { getMeter: () => createNoopMeter() },
  enduserId: false,
  clientIdInMetrics: false,
});

/** An action's failure as `cte.result`: an `ActionFailure`'s kind, else its `error.type`. */
function failureKind(err: unknown): string {
  const kind = (err as { kind?: unknown } | null)?.kind;
  return typeof kind === 'string' && /^[a-z-]{1,32}$/.test(kind) ? kind : errorType(err);
}

function createInstruments(meter: Meter): RouterInstruments {
  const counter = (name: string, description: string, unit: string) =>
    meter.createCounter(name, { description, unit });
  const duration = (name: string, description: string) =>
    meter.createHistogram(name, {
      description,
      unit: 's',
      advice: { explicitBucketBoundaries: DURATION_BUCKETS },
    });
  return {
    exchanges: counter(
      METRIC.exchanges,
      'Token exchanges answered, by profile and result (success or the error code)',
      '{exchange}',
    ),
    refreshes: counter(
      METRIC.refreshes,
      'Refresh token requests answered, by result (success or the error code)',
      '{refresh}',
    ),
    suspiciousIpBlocks: counter(
      METRIC.suspiciousIpBlocks,
      'IP addresses blocked by suspicious IP throttling',
      '{block}',
    ),
    suspiciousIpRefusals: counter(
      METRIC.suspiciousIpRefusals,
      'Exchanges refused because their IP address is blocked (too_many_attempts)',
      '{request}',
    ),
    rateLimitRefusals: counter(
      METRIC.rateLimitRefusals,
      "Exchanges refused by their profile's rate limit (too_many_requests)",
      '{request}',
    ),
    storeErrors: counter(
      METRIC.storeErrors,
      'Store calls that failed, by store and operation',
      '{error}',
    ),
    requestDuration: duration(
      METRIC.requestDuration,
      'Duration of the token, revocation and introspection requests the router answered',
    ),
    actionDuration: duration(METRIC.actionDuration, 'Duration of action executions'),
  };
}
