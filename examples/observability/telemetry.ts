/**
 * The host's OpenTelemetry SDK, set up before the router is created: metrics read by a Prometheus
 * scrape of `/metrics`, and traces kept in a small in-memory ring (`/debug/spans`) so the example
 * needs no collector. In production, replace the ring with an OTLP exporter, e.g.
 * `new BatchSpanProcessor(new OTLPTraceExporter())` from `@opentelemetry/exporter-trace-otlp-http`.
 */
import { metrics } from '@opentelemetry/api';
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { ExportResultCode } from '@opentelemetry/core';
import type { ExportResult } from '@opentelemetry/core';
import { SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';

/** What `/debug/spans` shows of a finished span. */
export interface SpanSummary {
  name: string;
  traceId: string;
  spanId: string;
  parentSpanId: string | undefined;
  durationMs: number;
  status: string;
  attributes: Record<string, unknown>;
}

/** Keeps the last `capacity` finished spans. */
class RingSpanExporter implements SpanExporter {
  readonly spans: SpanSummary[] = [];
  constructor(private readonly capacity: number) {}

  export(spans: ReadableSpan[], done: (result: ExportResult) => void): void {
    for (const span of spans) {
      this.spans.push({
        name: span.name,
        traceId: span.spanContext().traceId,
        spanId: span.spanContext().spanId,
        parentSpanId: span.parentSpanContext?.spanId,
        durationMs: span.duration[0] * 1000 + span.duration[1] / 1e6,
        status: ['unset', 'ok', 'error'][span.status.code] ?? 'unset',
        attributes: { ...span.attributes },
      });
    }
    this.spans.splice(0, Math.max(0, this.spans.length - this.capacity));
    done({ code: ExportResultCode.SUCCESS });
  }

  shutdown(): Promise<void> {
    return Promise.resolve();
  }
}

/** The SDK of the example: start it before `customTokenExchange()`. */
export function startTelemetry() {
  const spans = new RingSpanExporter(500);
  // register(): the global tracer provider, the AsyncLocalStorage context manager (a span stays
  // active across `await`) and the W3C trace-context propagator (actions' fetch carry traceparent).
  const tracerProvider = new NodeTracerProvider({
    spanProcessors: [new SimpleSpanProcessor(spans)],
  });
  tracerProvider.register();

  // Prometheus scrapes the host's own /metrics route: no second HTTP server.
  const prometheus = new PrometheusExporter({ preventServerStart: true });
  const meterProvider = new MeterProvider({ readers: [prometheus] });
  metrics.setGlobalMeterProvider(meterProvider);

  return {
    prometheus,
    recentSpans: (): readonly SpanSummary[] => spans.spans,
    async shutdown(): Promise<void> {
      await Promise.all([tracerProvider.shutdown(), meterProvider.shutdown()]);
    },
  };
}
