import { randomFillSync, randomUUID } from 'node:crypto';
import type { ConsoleLine } from '../action-types.js';
import { plainDataSize } from '../../plain-data-size.js';
import type { ActionApiMethod, ActionApiRecorder } from '../action-runner.js';
import type { ActionCache } from '../capabilities/action-cache.js';
import type { CapabilityName } from '../capabilities/host-capabilities.js';
import type { HostFunctions } from './isolate-pool.js';

/** Characters of one console line's parts the host takes (the guest sends at most as many). */
const MAX_CONSOLE_LINE_CHARS = 16 * 1024;
/** Characters of a host call's arguments the host takes (the guest sends at most as many). */
export const MAX_HOST_CALL_ARGUMENT_CHARS = 2 * 1024 * 1024;
/** Characters of a URL the guest may have parsed (the guest sends at most as many). */
const MAX_URL_INPUT = 64 * 1024;

const API_METHODS: ReadonlySet<string> = new Set<ActionApiMethod>([
  'access.deny',
  'access.rejectInvalidSubjectToken',
  'authentication.setUserById',
  'authentication.setUserByConnection',
  'authentication.setActor',
  'authentication.setOrganization',
  'user.setAppMetadata',
  'user.setUserMetadata',
  'accessToken.setCustomClaim',
  'idToken.setCustomClaim',
  'multifactor.enable',
]);
const CONSOLE_LEVELS: ReadonlySet<string> = new Set<ConsoleLine['level']>([
  'log',
  'info',
  'warn',
  'error',
]);
/** What a guest's host call may name: a capability, the runner's bounded timer, `api.replay`. */
export type HostCallName = CapabilityName | 'timer' | 'replay.consume';

/** Host calls a guest may start. */
const HOST_CALLS: ReadonlySet<string> = new Set<HostCallName>([
  'jose.jwtVerify',
  'jose.checkKey',
  'fetch',
  'timer',
  'replay.consume',
]);
const URL_COMPONENTS = [
  'protocol',
  'username',
  'password',
  'host',
  'hostname',
  'port',
  'pathname',
  'search',
  'hash',
] as const;

/** What the host functions need of the execution whose entry is running. */
export interface HostExecution {
  readonly recorder: ActionApiRecorder;
  /** `api.cache`, when the execution was given one. */
  readonly cache: ActionCache | undefined;
  /** Set once the guest reports that the action's promise settled. */
  outcome: { ok: boolean; message: string } | undefined;
}

/** The error data a guest turns into an Error (see guest/jose.js `toGuestError`). */
export interface GuestErrorData {
  name: string;
  code: string;
  message: string;
  claim?: string;
  reason?: string;
}

/** What the host functions call back into. */
export interface HostCallDispatch<X extends HostExecution> {
  /** The execution whose entry is running, while it may still act; `undefined` otherwise. */
  current(): X | undefined;
  /**
   * Starts host call `callId` of `execution`: `[ok, value]` when it is over at once, `undefined`
   * when it settles later (the dispatcher then enters the guest's `settle`).
   */
  invoke(
    execution: X,
    callId: number,
    name: HostCallName,
    args: unknown[],
  ): [boolean, unknown] | undefined;
}

/**
 * The functions the prelude receives (see guest/guest-globals.d.ts for their contract). They run
 * on the host, synchronously inside a guest entry, on data isolated-vm copied out of the guest:
 * every rule on that data is checked here again, whatever the guest checked before sending it.
 */
export function hostFunctions<X extends HostExecution>(
  dispatch: HostCallDispatch<X>,
): HostFunctions {
  const hostApi = (method: unknown, args: unknown): string | undefined => {
    const name = String(method);
    const execution = dispatch.current();
    if (execution === undefined)
      return `api.${name} cannot be used: the action's execution has ended`;
    if (!API_METHODS.has(name)) return `api.${name} is not an api method`;
    try {
      execution.recorder.call(name as ActionApiMethod, Array.isArray(args) ? args : []);
      return undefined;
    } catch (err) {
      return err instanceof Error && err.name === 'ActionApiError'
        ? err.message
        : `api.${name} failed`;
    }
  };
  const hostCache = (operation: unknown, args: unknown): [boolean, unknown] => {
    const label = `api.cache.${String(operation)}`;
    const execution = dispatch.current();
    if (execution === undefined)
      return [false, `${label} cannot be used: the action's execution has ended`];
    const cache = execution.cache;
    if (cache === undefined) {
      return [
        false,
        `${label} is unavailable: api.cache is loaded for actions whose code names it (api.cache)`,
      ];
    }
    const [key, value, options] = Array.isArray(args) ? (args as unknown[]) : [];
    try {
      switch (operation) {
        case 'get':
          return [true, cache.get(key)];
        case 'set':
          return [true, cache.set(key, value, options)];
        case 'delete':
          return [true, cache.delete(key)];
        default:
          return [false, `${label} is not a function`];
      }
    } catch {
      return [false, `${label} failed`];
    }
  };
  const hostConsole = (level: unknown, parts: unknown): void => {
    const execution = dispatch.current();
    if (execution === undefined || typeof level !== 'string' || !CONSOLE_LEVELS.has(level)) return;
    try {
      execution.recorder.console(level as ConsoleLine['level'], consoleParts(parts));
    } catch {
      // A console line is never worth failing the execution.
    }
  };
  const hostInvoke = (
    callId: unknown,
    name: unknown,
    args: unknown,
  ): [boolean, unknown] | undefined => {
    const label = String(name);
    const execution = dispatch.current();
    if (execution === undefined) {
      return [
        false,
        guestError(
          'Error',
          'ERR_CAPABILITY_REVOKED',
          `${label} cannot be used: the action's execution has ended`,
        ),
      ];
    }
    if (!HOST_CALLS.has(label) || typeof callId !== 'number' || !Array.isArray(args)) {
      return [
        false,
        guestError('TypeError', 'ERR_CAPABILITY_UNKNOWN', `unknown capability "${label}"`),
      ];
    }
    if (plainDataSize(args, MAX_HOST_CALL_ARGUMENT_CHARS) > MAX_HOST_CALL_ARGUMENT_CHARS) {
      return [
        false,
        guestError(
          'RangeError',
          'ERR_INVALID_ARGUMENT',
          `${label}: the arguments are larger than ${MAX_HOST_CALL_ARGUMENT_CHARS} characters`,
        ),
      ];
    }
    return dispatch.invoke(execution, callId, label as HostCallName, args);
  };
  const hostFinish = (ok: unknown, message: unknown): void => {
    const execution = dispatch.current();
    if (execution === undefined || execution.outcome !== undefined) return;
    execution.outcome = {
      ok: ok === true,
      message: typeof message === 'string' ? clip(message, 2000) : '',
    };
  };
  return { hostApi, hostCache, hostConsole, hostInvoke, hostFinish, hostUrl, hostRandom };
}

export function guestError(name: string, code: string, message: string): GuestErrorData {
  return { name, code, message };
}

/** The strings of a console line, cut to the line's limit. */
function consoleParts(parts: unknown): string[] {
  if (!Array.isArray(parts)) return [];
  const kept: string[] = [];
  let room = MAX_CONSOLE_LINE_CHARS;
  for (const part of parts) {
    if (room <= 0) break;
    const text = typeof part === 'string' ? clip(part, room) : '';
    room -= text.length + 1;
    kept.push(text);
  }
  return kept;
}

/** URL parsing and setters for the guest's URL class, with Node's WHATWG URL. */
function hostUrl(
  operation: unknown,
  first: unknown,
  second: unknown,
  third: unknown,
): Record<string, string> | string {
  for (const input of [first, second, third]) {
    if (typeof input === 'string' && input.length > MAX_URL_INPUT) {
      return `Invalid URL: longer than ${MAX_URL_INPUT} characters`;
    }
  }
  try {
    let url: URL;
    if (operation === 'parse') {
      // As `new URL(input, base)` does: both are strings by now, whatever the guest passed.
      // eslint-disable-next-line @typescript-eslint/no-base-to-string
      url = new URL(String(first), second === undefined ? undefined : String(second));
    } else if (operation === 'set' && (URL_COMPONENTS as readonly unknown[]).includes(second)) {
      url = new URL(String(first));
      url[second as (typeof URL_COMPONENTS)[number]] = String(third);
    } else {
      return 'Invalid URL operation';
    }
    return {
      href: url.href,
      origin: url.origin,
      protocol: url.protocol,
      username: url.username,
      password: url.password,
      host: url.host,
      hostname: url.hostname,
      port: url.port,
      pathname: url.pathname,
      search: url.search,
      hash: url.hash,
    };
  } catch {
    return `Invalid URL: ${clip(String(first), 200)}`;
  }
}

function hostRandom(kind: unknown, length: unknown): string | Uint8Array {
  if (kind === 'uuid') return randomUUID();
  const size = typeof length === 'number' && Number.isInteger(length) ? length : 0;
  return randomFillSync(new Uint8Array(Math.min(Math.max(size, 0), 65_536)));
}

export function clip(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max)}...` : text;
}
