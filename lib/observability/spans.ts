import type { Attributes, Span, SpanKind, SpanOptions, Tracer } from '@opentelemetry/api';
import { SpanStatusCode, context, trace } from '@opentelemetry/api';
import { ATTR_ERROR_TYPE } from '@opentelemetry/semantic-conventions';

/** A span's name and options, made once where the span is started (nothing to build per span). */
export interface SpanTemplate {
  readonly name: string;
  readonly options: SpanOptions;
}

/** A {@link SpanTemplate}; `attributes` are constant for every span started from it. */
export function spanTemplate(name: string, kind?: SpanKind, attributes?: Attributes): SpanTemplate {
  return Object.freeze({
    name,
    options: Object.freeze({
      ...(kind === undefined ? {} : { kind }),
      ...(attributes === undefined ? {} : { attributes: Object.freeze({ ...attributes }) }),
    }),
  });
}

/**
 * Runs `fn` in a span started from `template` as a child of the active context, active itself
 * while `fn` runs (so spans `fn` starts, the router's or an instrumented client's, are its
 * children), and ends it when `fn` returns or its promise settles. A failure is recorded by
 * {@link endFailed} and passed on. A span that does not record (no SDK, or not sampled) is ended
 * at once and `fn` runs as it would without one: the cost is the API's no-op span.
 */
export function traced<T>(tracer: Tracer, template: SpanTemplate, fn: (span: Span) => T): T {
  const span = tracer.startSpan(template.name, template.options);
  if (!span.isRecording()) {
    span.end();
    return fn(span);
  }
  let result: T;
  try {
    result = context.with(trace.setSpan(context.active(), span), fn, undefined, span);
  } catch (err) {
    endFailed(span, err);
    throw err;
  }
  if (isThenable(result)) {
    return Promise.resolve(result).then(
      (value: unknown) => {
        span.end();
        return value;
      },
      (err: unknown) => {
        endFailed(span, err);
        throw err;
      },
    ) as T;
  }
  span.end();
  return result;
}

/**
 * Ends `span` as failed: status `ERROR` and `error.type` with {@link errorType}. Never the
 * error's message or stack, which may quote what a caller sent.
 */
export function endFailed(span: Span, err: unknown): void {
  failed(span, errorType(err));
  span.end();
}

/** Marks `span` as failed with `type` (an OAuth error code, an error code or name). */
export function failed(span: Span, type: string): void {
  span.setAttribute(ATTR_ERROR_TYPE, type);
  span.setStatus({ code: SpanStatusCode.ERROR, message: type });
}

/** What an `error.type` may be: an identifier, never free text. */
const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_.-]{0,63}$/;

/**
 * The `error.type` of a failure: an OAuth error's `error` code (`invalid_grant`), else an error
 * code (`ERR_FETCH_TIMEOUT`, `ECONNREFUSED`), else the error's class name; `_OTHER` (the
 * semantic conventions' fallback) for anything else. Only identifiers: no message, no value.
 */
export function errorType(err: unknown): string {
  if (typeof err === 'object' && err !== null) {
    const { error, status, code, name } = err as Record<string, unknown>;
    if (typeof error === 'string' && typeof status === 'number' && IDENTIFIER.test(error)) {
      return error;
    }
    if (typeof code === 'string' && IDENTIFIER.test(code)) return code;
    if (typeof name === 'string' && IDENTIFIER.test(name)) return name;
  }
  return '_OTHER';
}

/** Whether `value` is a promise or another thenable (a user store's own promise library). */
export function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { then?: unknown }).then === 'function'
  );
}
