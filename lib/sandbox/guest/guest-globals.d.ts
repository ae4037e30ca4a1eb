// What the host installs for the guest code in this folder: the parameters of the prelude function
// (see ../isolated-vm/guest-source.ts), declared here as globals so that `tsc` can check the
// guest files, which are scripts sharing one scope. Host functions are isolated-vm Callbacks:
// synchronous, arguments and results copied.

/** Records `api.<method>(...args)`; `undefined`, or the message the call is refused with. */
declare function hostApi(method: string, args: unknown[]): string | undefined;
/** `api.cache.<operation>(...args)`: `[true, result]` or `[false, message]`. */
declare function hostCache(operation: string, args: unknown[]): [true, unknown] | [false, string];
/** Captures one console line of the current execution (no parts: only counted). */
declare function hostConsole(level: string, parts: readonly string[]): void;
/**
 * Starts host call `callId` (a capability or a timer) for the current execution: `[ok, value]`
 * when it is over at once, `undefined` when it settles later through `settle`.
 */
declare function hostInvoke(
  callId: number,
  name: string,
  args: unknown[],
): [boolean, unknown] | undefined;
/** The current execution's outcome: its promise settled (`ok`) or failed with `message`. */
declare function hostFinish(ok: boolean, message: string): void;
/** URL parsing and setters with Node's WHATWG URL: the components, or why parsing failed. */
declare function hostUrl(
  operation: 'parse' | 'set',
  first: unknown,
  second?: unknown,
  third?: unknown,
): Record<string, string> | string;
/** A random UUID, or `length` random bytes. */
declare function hostRandom(kind: 'uuid', length: number): string;
declare function hostRandom(kind: 'bytes', length: number): Uint8Array;
/** What every entry throws out of the isolate (see beginEntry in execution.js). */
declare const ENTRY_END: string;
/** The isolate's memory limit, in bytes. */
declare const MEMORY_LIMIT_BYTES: number;

/** The components url.js defines on URL.prototype in a loop (each a getter, most a setter). */
interface URL {
  href: string;
  readonly origin: string;
  protocol: string;
  username: string;
  password: string;
  host: string;
  hostname: string;
  port: string;
  pathname: string;
  search: string;
  hash: string;
}
