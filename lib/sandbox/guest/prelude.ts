import { CRYPTO_SOURCE } from './crypto.js';
import { ENCODING_SOURCE } from './encoding.js';
import { EXECUTION_SOURCE } from './execution.js';
import { FETCH_SOURCE } from './fetch.js';
import { JOSE_SOURCE } from './jose.js';
import { LOCKDOWN_SOURCE } from './lockdown.js';
import { URL_SOURCE } from './url.js';

/**
 * The host functions the prelude receives, in this order, as isolated-vm `Callback`s (synchronous;
 * arguments and results are copied). They exist only as parameters of the prelude's closure: no
 * global ever holds them, so action code cannot call them.
 * - `hostApi(executionId, method, args)` → `undefined`, or the refusal message of `api.<method>`
 * - `hostCache(executionId, 'get' | 'set' | 'delete', args)` → `[true, result]` or `[false, message]`
 * - `hostConsole(executionId, level, parts)` → nothing
 * - `hostInvoke(executionId, callId, capability, args)` → `undefined` (started; the host later
 *   calls `settle`) or `[ok, value]` when it is over at once (a refusal is `[false, error data]`)
 * - `hostUrl('parse', input, base)` / `hostUrl('set', href, component, value)` → URL components or
 *   a parse-error message
 * - `hostRandom('uuid' | 'bytes', length)` → a UUID string or a Uint8Array
 */
export const PRELUDE_HOST_FUNCTIONS = [
  'hostApi',
  'hostCache',
  'hostConsole',
  'hostInvoke',
  'hostUrl',
  'hostRandom',
] as const;

/**
 * The prelude: a function expression run once per context. It defines the action globals (URL,
 * URLSearchParams, TextEncoder, TextDecoder, atob, btoa, crypto, Headers, Response,
 * queueMicrotask), locks the context down, and returns the frozen control object the host keeps
 * references to: `execute(id, event, trigger)`, `settle(id, callId, ok, value)`, `abandon(id)` and
 * `install(wrapper, filename)`. `execute` and `settle` return the execution's report,
 * `{ done, ok, message }`, `done` once the action's promise has settled.
 */
export const PRELUDE_SOURCE = [
  `(function (${PRELUDE_HOST_FUNCTIONS.join(', ')}) {`,
  "'use strict';",
  ENCODING_SOURCE,
  URL_SOURCE,
  CRYPTO_SOURCE,
  FETCH_SOURCE,
  JOSE_SOURCE,
  EXECUTION_SOURCE,
  LOCKDOWN_SOURCE,
  String.raw`
function queueMicrotask(callback) {
  if (typeof callback !== 'function') throw new TypeError('queueMicrotask: the callback must be a function');
  Promise.resolve().then(function () { callback(); });
}

const actionGlobals = {
  URL: URL,
  URLSearchParams: URLSearchParams,
  TextEncoder: TextEncoder,
  TextDecoder: TextDecoder,
  atob: atob,
  btoa: btoa,
  crypto: crypto,
  Headers: Headers,
  Response: Response,
  queueMicrotask: queueMicrotask,
};
const globalNames = Object.keys(actionGlobals);
for (let i = 0; i < globalNames.length; i++) {
  Object.defineProperty(globalThis, globalNames[i], {
    value: actionGlobals[globalNames[i]],
    writable: true,
    enumerable: false,
    configurable: true,
  });
}
lockdown(globalThis, [joseErrors, joseBase64url, ImportedKey, STANDARD_ERRORS, hostApi, hostCache, hostConsole, hostInvoke, hostUrl, hostRandom]);
return Object.freeze({ execute: execute, settle: settle, abandon: abandon, install: install });
})`,
].join('\n');

/** The parameters every action's module body sees, as in a Node module plus the sandbox's own. */
export const ACTION_PARAMETERS = [
  'exports',
  'require',
  'module',
  'console',
  'fetch',
  'setTimeout',
  'clearTimeout',
] as const;

/**
 * The action's source inside a function expression, compiled once per version and called afresh
 * per execution. The source starts on the wrapper's second line: compile with `lineOffset: -1` and
 * V8 reports the author's own line numbers. The closing line stands alone so that a trailing
 * `// comment` in the source cannot swallow it.
 */
export function wrapActionSource(code: string): string {
  return `(function (${ACTION_PARAMETERS.join(', ')}) {\n${code}\n})`;
}
