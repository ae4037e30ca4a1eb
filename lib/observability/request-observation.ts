import type { Attributes, Span } from '@opentelemetry/api';
import { context, trace } from '@opentelemetry/api';
import {
  ATTR_CLIENT_ADDRESS,
  ATTR_HTTP_REQUEST_METHOD,
  ATTR_HTTP_RESPONSE_STATUS_CODE,
  ATTR_HTTP_ROUTE,
} from '@opentelemetry/semantic-conventions';
import {
  ATTR,
  ENDUSER_ID,
  REFRESH_TOKEN_GRANT_TYPE,
  SPAN,
  SUCCESS,
  TOKEN_EXCHANGE_GRANT_TYPE,
} from './names.js';
import { errorType, failed } from './spans.js';
import type { ProfileLike, Telemetry } from './telemetry.js';

/** The router's endpoints that answer requests of their own. */
export type Endpoint = 'token' | 'revocation' | 'introspection';

const ENDPOINTS: Readonly<Record<Endpoint, { span: string; route: string }>> = {
  token: { span: SPAN.tokenRequest, route: '/oauth/token' },
  revocation: { span: SPAN.revocationRequest, route: '/oauth/revoke' },
  introspection: { span: SPAN.introspectionRequest, route: '/oauth/introspect' },
};

/**
 * What a request's span and metrics say about it once answered: what the request's log trail
 * established (the token endpoint passes its `RequestTrail`).
 */
export interface RequestFacts {
  ip?: string;
  client?: { client_id: string };
  /** The registered client a request claimed to be when its authentication failed. */
  claimedClient?: { client_id: string };
  profile?: ProfileLike;
  subjectTokenType?: string;
  user?: { user_id: string };
}

/** What the span reads of the Express request. */
interface HttpRequest {
  method: string;
  baseUrl: string;
}

/**
 * One request the router answers, from the moment it is known to be the router's: its span
 * (`cte.token`, `cte.revocation`, `cte.introspection`; a child of the host's HTTP server span
 * when the host has one) and, once answered, its metrics.
 */
export class RequestObservation {
  readonly #telemetry: Telemetry;
  readonly #endpoint: Endpoint;
  readonly #grantType: string | undefined;
  readonly #span: Span;
  readonly #started: number;

  constructor(telemetry: Telemetry, endpoint: Endpoint, req: HttpRequest, grantType?: string) {
    this.#telemetry = telemetry;
    this.#endpoint = endpoint;
    this.#grantType = grantType;
    this.#started = telemetry.recordsMetrics ? performance.now() : 0;
    const { span, route } = ENDPOINTS[endpoint];
    this.#span = telemetry.tracer.startSpan(span);
    if (this.#span.isRecording()) {
      this.#span.setAttributes({
        [ATTR_HTTP_REQUEST_METHOD]: req.method,
        [ATTR_HTTP_ROUTE]: req.baseUrl + route,
        [ATTR.endpoint]: endpoint,
        ...(grantType === undefined ? {} : { [ATTR.grantType]: grantType }),
      });
    }
  }

  /** Runs the request's steps with its span active: their spans are its children. */
  run<T>(steps: () => Promise<T>): Promise<T> {
    if (!this.#span.isRecording()) return steps();
    return context.with(trace.setSpan(context.active(), this.#span), steps);
  }

  /**
   * The request was answered with `statusCode`; `error` is what it failed with (an `OAuthError`,
   * whose code becomes `cte.result` and `error.type`). Ends the span and records the metrics.
   */
  end(statusCode: number, facts: RequestFacts, error?: unknown): void {
    const telemetry = this.#telemetry;
    const span = this.#span;
    if (!span.isRecording() && !telemetry.recordsMetrics) {
      span.end();
      return;
    }
    const result = error === undefined ? SUCCESS : errorType(error);
    const profile =
      facts.profile ??
      (facts.subjectTokenType === undefined
        ? undefined
        : telemetry.profileOf(facts.subjectTokenType));
    const clientId = facts.client?.client_id ?? facts.claimedClient?.client_id;

    if (span.isRecording()) {
      const attributes: Attributes = {
        [ATTR_HTTP_RESPONSE_STATUS_CODE]: statusCode,
        [ATTR.result]: result,
      };
      if (facts.ip !== undefined) attributes[ATTR_CLIENT_ADDRESS] = facts.ip;
      if (clientId !== undefined) attributes[ATTR.clientId] = clientId;
      if (profile !== undefined) {
        attributes[ATTR.profile] = profile.name;
        attributes[ATTR.profileId] = profile.id;
      }
      if (telemetry.enduserId && facts.user !== undefined) {
        attributes[ENDUSER_ID] = facts.user.user_id;
      }
      span.setAttributes(attributes);
      if (error !== undefined) failed(span, result);
    }
    span.end();
    if (!telemetry.recordsMetrics) return;

    const { instruments } = telemetry;
    const byClient =
      telemetry.clientIdInMetrics && clientId !== undefined ? { [ATTR.clientId]: clientId } : {};
    instruments.requestDuration.record((performance.now() - this.#started) / 1000, {
      [ATTR.endpoint]: this.#endpoint,
      ...(this.#grantType === undefined ? {} : { [ATTR.grantType]: this.#grantType }),
      [ATTR.result]: result,
      ...byClient,
    });
    const byProfile = profile === undefined ? {} : { [ATTR.profile]: profile.name };
    if (this.#grantType === TOKEN_EXCHANGE_GRANT_TYPE) {
      instruments.exchanges.add(1, { ...byProfile, [ATTR.result]: result, ...byClient });
      if (result === 'too_many_attempts') instruments.suspiciousIpRefusals.add(1, byProfile);
      else if (result === 'too_many_requests') instruments.rateLimitRefusals.add(1, byProfile);
    } else if (this.#grantType === REFRESH_TOKEN_GRANT_TYPE) {
      instruments.refreshes.add(1, { [ATTR.result]: result, ...byClient });
    }
  }
}
