/**
 * An OpenTelemetry SDK as a host would install one (the `cte-sandbox-otel` scenario): a registered
 * tracer provider (context manager, W3C propagator) that samples every span and hands it to a
 * batch processor, and a global meter provider with a periodic reader. Both exporters discard what
 * they get, so the scenario measures the instrumentation and the SDK, not a network.
 */
import { metrics } from '@opentelemetry/api';
import { ExportResultCode } from '@opentelemetry/core';
import type { ExportResult } from '@opentelemetry/core';
import { MeterProvider, PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics';
import type { PushMetricExporter, ResourceMetrics } from '@opentelemetry/sdk-metrics';
import { BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';

const SUCCESS: ExportResult = { code: ExportResultCode.SUCCESS };

class DiscardingSpanExporter implements SpanExporter {
  export(_spans: ReadableSpan[], done: (result: ExportResult) => void): void {
    done(SUCCESS);
  }
  shutdown(): Promise<void> {
    return Promise.resolve();
  }
}

class DiscardingMetricExporter implements PushMetricExporter {
  export(_metrics: ResourceMetrics, done: (result: ExportResult) => void): void {
    done(SUCCESS);
  }
  forceFlush(): Promise<void> {
    return Promise.resolve();
  }
  shutdown(): Promise<void> {
    return Promise.resolve();
  }
}

/** Installs the SDK process-wide; call it before `customTokenExchange()`. */
export function installOpenTelemetrySdk(): void {
  new NodeTracerProvider({
    spanProcessors: [new BatchSpanProcessor(new DiscardingSpanExporter())],
  }).register();
  metrics.setGlobalMeterProvider(
    new MeterProvider({
      readers: [
        new PeriodicExportingMetricReader({
          exporter: new DiscardingMetricExporter(),
          exportIntervalMillis: 5_000,
        }),
      ],
    }),
  );
}
