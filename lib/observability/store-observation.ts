import { context, trace } from '@opentelemetry/api';
import { ATTR_ERROR_TYPE } from '@opentelemetry/semantic-conventions';
import { ATTR, SPAN } from './names.js';
import { endFailed, errorType, isThenable, spanTemplate } from './spans.js';
import type { Telemetry } from './telemetry.js';

/**
 * The stores the router calls, by their name in `options.stores` (`attempts` is
 * `attackProtection.suspiciousIpThrottling.store`, `users` is `options.users`, `clients` is
 * `options.clients` when it is a `ClientStore`).
 */
export type StoreName =
  | 'replay'
  | 'revokedTokens'
  | 'refreshTokens'
  | 'actionCache'
  | 'attempts'
  | 'users'
  | 'clients'
  | 'keys';

/**
 * The store the router calls instead of `store`: every method of `store` (its own and its
 * class's, whatever interface it implements: memory, Redis, PostgreSQL or the host's own) is
 * called inside a span `cte.store.{name}.{method}` (attributes `cte.store`,
 * `cte.store.operation`), and a call that throws or rejects is counted in `cte.store.errors`.
 * What a method returns, promise or value, is passed on as it is. Other properties read
 * through to `store`.
 *
 * The wrapper is built once, where the router assembles its stores: a call costs one no-op span
 * without an SDK.
 */
export function observeStore<S extends object>(telemetry: Telemetry, name: StoreName, store: S): S {
  const observed: Record<string, unknown> = {};
  for (const [key, descriptor] of properties(store)) {
    if (typeof descriptor.value === 'function') {
      observed[key] = observedMethod(telemetry, name, key, store, descriptor.value as Method);
    } else {
      Object.defineProperty(observed, key, {
        get: () => (store as Record<string, unknown>)[key],
        enumerable: true,
      });
    }
  }
  return observed as S;
}

type Method = (...args: unknown[]) => unknown;

function observedMethod(
  telemetry: Telemetry,
  name: StoreName,
  method: string,
  store: object,
  original: Method,
): Method {
  const template = spanTemplate(`${SPAN.storePrefix}.${name}.${method}`, undefined, {
    [ATTR.store]: name,
    [ATTR.storeOperation]: method,
  });
  const { tracer } = telemetry;
  const failure = (span: ReturnType<typeof tracer.startSpan>, err: unknown): void => {
    telemetry.storeFailed({
      [ATTR.store]: name,
      [ATTR.storeOperation]: method,
      [ATTR_ERROR_TYPE]: errorType(err),
    });
    endFailed(span, err);
  };
  return function observedStoreCall(...args: unknown[]): unknown {
    const span = tracer.startSpan(template.name, template.options);
    const recording = span.isRecording();
    if (!recording && !telemetry.recordsMetrics) {
      span.end();
      return original.apply(store, args);
    }
    let result: unknown;
    try {
      result = recording
        ? context.with(trace.setSpan(context.active(), span), original, store, ...args)
        : original.apply(store, args);
    } catch (err) {
      failure(span, err);
      throw err;
    }
    if (!isThenable(result)) {
      span.end();
      return result;
    }
    return Promise.resolve(result).then(
      (value) => {
        span.end();
        return value;
      },
      (err: unknown) => {
        failure(span, err);
        throw err;
      },
    );
  };
}

/**
 * `value`'s own and inherited properties (the nearest definition of each), up to
 * `Object.prototype`, without `constructor`: read as descriptors, so no getter runs.
 */
function properties(value: object): Map<string, PropertyDescriptor> {
  const found = new Map<string, PropertyDescriptor>();
  for (
    let proto: object | null = value;
    proto !== null && proto !== Object.prototype;
    proto = Object.getPrototypeOf(proto) as object | null
  ) {
    for (const key of Object.getOwnPropertyNames(proto)) {
      if (key === 'constructor' || found.has(key)) continue;
      found.set(key, Object.getOwnPropertyDescriptor(proto, key)!);
    }
  }
  return found;
}

/** {@link observeStore} for each of the router's stores. */
export function observeStores<T extends Partial<Record<StoreName, object>>>(
  telemetry: Telemetry,
  stores: T,
): T {
  const observed: Partial<Record<StoreName, object>> = {};
  for (const name of Object.keys(stores) as StoreName[]) {
    observed[name] = observeStore(telemetry, name, stores[name]!);
  }
  return observed as T;
}
