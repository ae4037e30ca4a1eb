import { SpanKind, context, propagation, trace } from '@opentelemetry/api';
import {
  ATTR_HTTP_REQUEST_METHOD,
  ATTR_HTTP_RESPONSE_STATUS_CODE,
  ATTR_SERVER_ADDRESS,
  ATTR_SERVER_PORT,
  ATTR_URL_SCHEME,
} from '@opentelemetry/semantic-conventions';
import { SPAN } from './names.js';
import { endFailed, failed } from './spans.js';
import type { Telemetry } from './telemetry.js';

/** An outgoing request of an action, as the sandbox's fetch validated it. */
export interface OutgoingRequest {
  method: string;
  url: URL;
  /** Lower-case names. */
  headers: ReadonlyArray<[string, string]>;
}

const DEFAULT_PORTS: Readonly<Record<string, number>> = { 'http:': 80, 'https:': 443 };
const FETCH_SPAN = Object.freeze({ kind: SpanKind.CLIENT });

/**
 * Sends an action's `fetch` (`kind` `fetch`) or a remote JWKS fetch (`jwks`) in a client span
 * (`cte.fetch`, `cte.jwks_fetch`), a child of the action's span, with the trace context in its
 * headers: `send` gets the request's headers plus whatever the global propagator injects
 * (`traceparent` and `tracestate` with the W3C propagator an SDK registers), except a header the
 * action set itself. The span says the method, the server's address and port, the scheme and
 * the status code; never the URL's path or query, where a secret may travel. A status of 400 or
 * more, or a failure, marks it failed.
 */
export async function observeFetch<R extends { status: number }>(
  telemetry: Telemetry,
  kind: 'fetch' | 'jwks',
  request: OutgoingRequest,
  send: (headers: Array<[string, string]>) => Promise<R>,
): Promise<R> {
  const span = telemetry.tracer.startSpan(
    kind === 'fetch' ? SPAN.fetch : SPAN.jwksFetch,
    FETCH_SPAN,
  );
  const recording = span.isRecording();
  if (recording) {
    const { url } = request;
    span.setAttributes({
      [ATTR_HTTP_REQUEST_METHOD]: request.method,
      [ATTR_SERVER_ADDRESS]: url.hostname,
      [ATTR_SERVER_PORT]: url.port === '' ? (DEFAULT_PORTS[url.protocol] ?? 0) : Number(url.port),
      [ATTR_URL_SCHEME]: url.protocol.slice(0, -1),
    });
  }
  const active = trace.setSpan(context.active(), span);
  const headers = withTraceContext(active, request.headers);
  let response: R;
  try {
    response = await context.with(active, send, undefined, headers);
  } catch (err) {
    endFailed(span, err);
    throw err;
  }
  if (recording) {
    span.setAttribute(ATTR_HTTP_RESPONSE_STATUS_CODE, response.status);
    if (response.status >= 400) failed(span, String(response.status));
  }
  span.end();
  return response;
}

/** `headers` plus the propagator's, where the action did not set a header of the same name. */
function withTraceContext(
  active: ReturnType<typeof context.active>,
  headers: ReadonlyArray<[string, string]>,
): Array<[string, string]> {
  const carrier: Record<string, string> = {};
  propagation.inject(active, carrier);
  const result = [...headers];
  for (const [name, value] of Object.entries(carrier)) {
    const lower = name.toLowerCase();
    if (!headers.some(([own]) => own === lower)) result.push([lower, value]);
  }
  return result;
}
