import type { Counter, Histogram, Tracer } from '@opentelemetry/api';

/** The router's counters and histograms. */
export interface RouterInstruments {
  exchanges: Counter;
  refreshes: Counter;
  suspiciousIpBlocks: Counter;
  suspiciousIpRefusals: Counter;
  rateLimitRefusals: Counter;
  storeErrors: Counter;
  requestDuration: Histogram;
  actionDuration: Histogram;
}

/** What spans and metrics name of a profile. */
export interface ProfileLike {
  id: string;
  name: string;
}

/** What a request's observation reads of the router's instrumentation. */
export interface RequestTelemetry {
  readonly tracer: Tracer;
  readonly instruments: RouterInstruments;
  /** Whether spans name the end user. */
  readonly enduserId: boolean;
  /** Whether metrics carry the client id. */
  readonly clientIdInMetrics: boolean;
  /** False while metrics go to a no-op meter: nothing is measured then. */
  readonly recordsMetrics: boolean;
  readonly profileOf: (subjectTokenType: string) => ProfileLike | undefined;
}
