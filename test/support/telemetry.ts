/**
 * An OpenTelemetry SDK for tests: a tracer provider exporting to memory, a meter provider read on
 * demand, and the process-wide context manager and W3C propagator a host's SDK would register.
 */
import { context, propagation } from '@opentelemetry/api';
import { expect } from 'chai';
import type { Attributes, AttributeValue } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics';
import type { DataPoint, Histogram, MetricData } from '@opentelemetry/sdk-metrics';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import type { ObservabilityOptions } from '../../lib/index.js';

/** A reader the test collects from when it wants to. */
class CollectingReader extends MetricReader {
  protected onForceFlush(): Promise<void> {
    return Promise.resolve();
  }
  protected onShutdown(): Promise<void> {
    return Promise.resolve();
  }
}

export interface TestTelemetry {
  tracerProvider: BasicTracerProvider;
  meterProvider: MeterProvider;
  exporter: InMemorySpanExporter;
  /** The finished spans so far. */
  spans(): ReadableSpan[];
  /** Every metric collected now, by name. */
  metrics(): Promise<Map<string, MetricData>>;
  shutdown(): Promise<void>;
}

/** A fresh SDK: spans and metrics of the routers given its providers only. */
export function testTelemetry(): TestTelemetry {
  const exporter = new InMemorySpanExporter();
  const tracerProvider = new BasicTracerProvider({
    spanProcessors: [new SimpleSpanProcessor(exporter)],
  });
  const reader = new CollectingReader();
  const meterProvider = new MeterProvider({ readers: [reader] });
  return {
    tracerProvider,
    meterProvider,
    exporter,
    spans: () => exporter.getFinishedSpans(),
    async metrics() {
      const { resourceMetrics, errors } = await reader.collect();
      if (errors.length > 0) throw errors[0];
      const found = new Map<string, MetricData>();
      for (const scope of resourceMetrics.scopeMetrics) {
        for (const metric of scope.metrics) found.set(metric.descriptor.name, metric);
      }
      return found;
    },
    async shutdown() {
      await tracerProvider.shutdown();
      await meterProvider.shutdown();
    },
  };
}

/**
 * Registers the context manager (so a span stays active across `await`) and the W3C propagator
 * process-wide, as a host's SDK does; the returned function unregisters them.
 */
export function registerGlobalContext(): () => void {
  const manager = new AsyncLocalStorageContextManager().enable();
  context.setGlobalContextManager(manager);
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  return () => {
    context.disable();
    propagation.disable();
  };
}

/** A {@link TestTelemetry} that is always the running test's, with the options that wire a router to it. */
export interface TelemetryPerTest extends TestTelemetry {
  /** `observability` options with this test's providers, `extra` merged over them. */
  observability(extra?: ObservabilityOptions): ObservabilityOptions;
}

/**
 * Registers the mocha hooks of a describe block that traces: a fresh SDK before each test, shut
 * down after it, and (unless `globalContext` is false) the global context manager and propagator
 * for the whole block. The returned object reads through to the running test's SDK.
 */
export function telemetryPerTest({ globalContext = true } = {}): TelemetryPerTest {
  let current: TestTelemetry | undefined;
  if (globalContext) {
    let unregister = (): void => undefined;
    before(() => {
      unregister = registerGlobalContext();
    });
    after(() => unregister());
  }
  beforeEach(() => {
    current = testTelemetry();
  });
  afterEach(() => current?.shutdown());
  const sdk = (): TestTelemetry => {
    if (current === undefined) throw new Error('telemetry is read outside a test');
    return current;
  };
  return {
    get tracerProvider() {
      return sdk().tracerProvider;
    },
    get meterProvider() {
      return sdk().meterProvider;
    },
    get exporter() {
      return sdk().exporter;
    },
    spans: () => sdk().spans(),
    metrics: () => sdk().metrics(),
    shutdown: () => sdk().shutdown(),
    observability: (extra = {}) => ({
      tracerProvider: sdk().tracerProvider,
      meterProvider: sdk().meterProvider,
      ...extra,
    }),
  };
}

/** One span as a test reads it: its name, its parent's name, and its attributes. */
export interface SpanNode {
  name: string;
  parent: string | undefined;
  attributes: Attributes;
  status: { code: number; message?: string };
  kind: number;
}

/** The spans of one trace, parent names resolved, in the order they ended. */
export function spanNodes(spans: readonly ReadableSpan[]): SpanNode[] {
  const byId = new Map(spans.map((span) => [span.spanContext().spanId, span]));
  return spans.map((span) => {
    const parentId = span.parentSpanContext?.spanId;
    return {
      name: span.name,
      parent: parentId === undefined ? undefined : (byId.get(parentId)?.name ?? '(outside)'),
      attributes: span.attributes,
      status: span.status,
      kind: span.kind,
    };
  });
}

/** `parent > child` for every span, sorted: the shape of a trace, whatever the end order. */
export function spanTree(spans: readonly ReadableSpan[]): string[] {
  return spanNodes(spans)
    .map((node) => `${node.parent ?? '(root)'} > ${node.name}`)
    .sort();
}

/** The span tree of a token exchange that succeeds without fetching: one span per step. */
export const EXCHANGE_SPAN_TREE: readonly string[] = [
  '(root) > cte.token',
  'cte.throttle > cte.store.attempts.reserve',
  'cte.token > cte.action',
  'cte.token > cte.client_authentication',
  'cte.token > cte.sign',
  'cte.token > cte.store.users.getById',
  'cte.token > cte.store.users.update',
  'cte.token > cte.throttle',
];

/** The finished spans so far, after checking that their {@link spanTree} is exactly `expected`. */
export function spansWithTree(
  telemetry: Pick<TestTelemetry, 'spans'>,
  expected: readonly string[],
): ReadableSpan[] {
  const spans = telemetry.spans();
  expect(spanTree(spans)).to.deep.equal(expected);
  return spans;
}

/** The one span named `name` (fails when there is not exactly one). */
export function onlySpan(spans: readonly ReadableSpan[], name: string): ReadableSpan {
  const found = spans.filter((span) => span.name === name);
  if (found.length !== 1) {
    throw new Error(
      `expected one span ${name}, found ${found.length}: ${spans.map((s) => s.name).join(', ')}`,
    );
  }
  return found[0]!;
}

/** Every attribute value of every span, as text: for checking that no secret got in. */
export function attributeTexts(spans: readonly ReadableSpan[]): string[] {
  const texts: string[] = [];
  const add = (value: AttributeValue | undefined) => {
    if (Array.isArray(value)) for (const item of value) texts.push(String(item));
    else if (value !== undefined) texts.push(String(value));
  };
  for (const span of spans) {
    for (const value of Object.values(span.attributes)) add(value);
    if (span.status.message !== undefined) texts.push(span.status.message);
    for (const event of span.events) {
      texts.push(event.name);
      for (const value of Object.values(event.attributes ?? {})) add(value);
    }
  }
  return texts;
}

/** A counter's or gauge's data points as `{ attributes, value }`, sorted by attributes. */
export function points(
  metric: MetricData | undefined,
): Array<{ attributes: Attributes; value: number }> {
  if (metric === undefined) return [];
  return (metric.dataPoints as Array<DataPoint<number>>)
    .map((point) => ({ attributes: point.attributes, value: point.value }))
    .sort((a, b) => JSON.stringify(a.attributes).localeCompare(JSON.stringify(b.attributes)));
}

/** A histogram's data points as `{ attributes, count }`, sorted by attributes. */
export function histogramCounts(
  metric: MetricData | undefined,
): Array<{ attributes: Attributes; count: number }> {
  if (metric === undefined) return [];
  return (metric.dataPoints as Array<DataPoint<Histogram>>)
    .map((point) => ({ attributes: point.attributes, count: point.value.count }))
    .sort((a, b) => JSON.stringify(a.attributes).localeCompare(JSON.stringify(b.attributes)));
}
