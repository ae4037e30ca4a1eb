// Guest code (see encoding.js): executions. One context serves every execution of one action
// version, possibly several at once. What an execution owns is created for it: its state record,
// `module` and `exports`, and the module body's own variables (the compiled action wrapper is
// called afresh each time). What it is handed besides (`api`, `console`, `require`, `fetch`,
// `setTimeout`, the jose facade) is made once per context and frozen with everything else by the
// lockdown, and acts for `current`: the execution whose entry is running. That is always the right
// one, since an execution's code runs only in its own entries (entries drain their microtasks,
// and executions share nothing they could call each other through).
//
// The host drives executions through `execute`, `settle` and `abandon`; the guest answers through
// the host callbacks. Every entry begins with `beginEntry`: see there why.

/** @typedef {{ resolve: (value: unknown) => void, reject: (reason: unknown) => void }} PendingCall */
/**
 * @typedef {object} ExecutionState
 * @property {number} id
 * @property {boolean} ended
 * @property {Map<number, PendingCall> | null} calls host calls not answered yet, by call id
 * @property {number} nextCall
 * @property {Map<number, true> | null} timers timers set and not yet fired or cleared
 * @property {number} nextTimer
 * @property {number} consoleLines
 */

/** @type {((this: unknown, ...args: unknown[]) => void) | null} */
let actionWrapper = null;
/** @type {RegExp | null} */
let actionFramePattern = null;
/** @type {ExecutionState | null} */
let current = null;
/** Executions with host calls pending, by id: the ones `settle` and `abandon` may address. */
/** @type {Map<number, ExecutionState>} */
const waiting = new Map();
/** @type {Promise<never> | undefined} */
let entrySentinel;

// Limits on what one call copies out to the host (the host checks its own limits again).
const MAX_API_ARGUMENT_CHARS = 64 * 1024;
const MAX_CAPABILITY_ARGUMENT_CHARS = 2 * 1024 * 1024;

// isolated-vm ends every entry by copying the reason of the first promise left rejected without a
// handler out of the isolate, reading its `message` and `stack` (getters included) where no
// timeout or watchdog can stop them: a hostile reason would hang the process. So each entry first
// leaves a promise of its own rejected, with a string: isolated-vm finds it first, copies the
// string, and drops the rest. The host expects ENTRY_END thrown out of every entry. A rejection
// nobody handles is therefore ignored, as a browser does, never read.
function beginEntry() {
  entrySentinel = Promise.reject(ENTRY_END);
}

/** @returns {ExecutionState} */
function newExecution(id) {
  return {
    id: id,
    ended: false,
    calls: null,
    nextCall: 1,
    timers: null,
    nextTimer: 1,
    consoleLines: 0,
  };
}

function endExecution(state) {
  state.ended = true;
  if (state.calls !== null) {
    waiting.delete(state.id);
    state.calls = null;
  }
  state.timers = null;
}

// The outcome goes to the host at once; the host ends the execution after the entry.
function finish(state, ok, message) {
  if (state.ended) return;
  endExecution(state);
  hostFinish(ok, message);
}

function finishCurrent() {
  if (current !== null) finish(current, true, '');
}

function failCurrent(thrown) {
  if (current !== null) finish(current, false, describeThrown(thrown));
}

function revokedError(name) {
  return toGuestError({
    name: 'Error',
    code: 'ERR_CAPABILITY_REVOKED',
    message: name + " cannot be used: the action's execution has ended",
  });
}

// Starts a host call for the current execution. The host answers at once ([ok, value]) when it
// can, without leaving this entry; otherwise the promise settles when the host calls `settle`.
function invoke(name, args) {
  const state = current;
  if (state === null || state.ended) return Promise.reject(revokedError(name));
  let copies;
  let answer;
  const callId = state.nextCall++;
  try {
    copies = plainCopy(args, MAX_CAPABILITY_ARGUMENT_CHARS, name);
    answer = hostInvoke(callId, name, copies);
  } catch (error) {
    return Promise.reject(error);
  }
  if (answer !== undefined) {
    return answer[0] ? Promise.resolve(answer[1]) : Promise.reject(toGuestError(answer[1]));
  }
  if (state.calls === null) {
    state.calls = new Map();
    waiting.set(state.id, state);
  }
  const calls = state.calls;
  return new Promise(function (resolve, reject) {
    calls.set(callId, { resolve: resolve, reject: reject });
  });
}

function liveExecution(what) {
  const state = current;
  if (state === null || state.ended)
    throw new Error(what + " cannot be used: the action's execution has ended");
  return state;
}

function callApi(method, args) {
  liveExecution('api.' + method);
  const refusal = hostApi(method, plainCopy(args, MAX_API_ARGUMENT_CHARS, 'api.' + method));
  if (refusal !== undefined) {
    const error = new Error(refusal);
    error.name = 'ActionApiError';
    throw error;
  }
}

function callCache(operation, args) {
  liveExecution('api.cache.' + operation);
  const answer = hostCache(
    operation,
    plainCopy(args, MAX_API_ARGUMENT_CHARS, 'api.cache.' + operation),
  );
  if (answer[0] !== true) throw new Error(answer[1]);
  return answer[1];
}

function apiMethod(method) {
  return function () {
    callApi(method, Array.prototype.slice.call(arguments));
  };
}

const actionCache = {
  get: function (key) {
    return callCache('get', [key]);
  },
  set: function (key, value, options) {
    return callCache('set', [key, value, options]);
  },
  delete: function (key) {
    return callCache('delete', [key]);
  },
};

// `api.replay.consume(key, { expiresAt })`: a host call that settles once the replay store answers.
const actionReplay = {
  consume: function (key, options) {
    return invoke('replay.consume', [key, options]);
  },
};

// The `api` of each trigger, by the trigger's name.
const actionApis = {
  'custom-token-exchange': {
    access: {
      deny: apiMethod('access.deny'),
      rejectInvalidSubjectToken: apiMethod('access.rejectInvalidSubjectToken'),
    },
    authentication: {
      setUserById: apiMethod('authentication.setUserById'),
      setUserByConnection: apiMethod('authentication.setUserByConnection'),
      setActor: apiMethod('authentication.setActor'),
      setOrganization: apiMethod('authentication.setOrganization'),
    },
    user: {
      setAppMetadata: apiMethod('user.setAppMetadata'),
      setUserMetadata: apiMethod('user.setUserMetadata'),
    },
    cache: actionCache,
    replay: actionReplay,
  },
  'post-exchange': {
    access: { deny: apiMethod('access.deny') },
    accessToken: { setCustomClaim: apiMethod('accessToken.setCustomClaim') },
    idToken: { setCustomClaim: apiMethod('idToken.setCustomClaim') },
    multifactor: { enable: apiMethod('multifactor.enable') },
    cache: actionCache,
  },
};
// The export each trigger calls.
const ENTRY_POINTS = {
  'custom-token-exchange': 'onExecuteCustomTokenExchange',
  'post-exchange': 'onExecutePostExchange',
};

function require(name) {
  if (name === 'jose') return joseFacade;
  const error = new Error(
    "Cannot find module '" +
      String(name) +
      "' (actions can require only 'jose'; fetch, console, URL, " +
      'URLSearchParams, TextEncoder, TextDecoder, atob, btoa and crypto are globals)',
  );
  Reflect.defineProperty(error, 'code', {
    value: 'MODULE_NOT_FOUND',
    writable: true,
    enumerable: true,
    configurable: true,
  });
  throw error;
}

function noop() {}

// A host timer bounded by the execution's deadline; its callback runs only while the execution is
// alive, inside an entry of its own.
function setTimeout(callback) {
  if (typeof callback !== 'function') {
    throw new TypeError('setTimeout: the callback must be a function (strings are not evaluated)');
  }
  const state = liveExecution('setTimeout');
  const delay = Math.max(0, Number(arguments[1]) || 0);
  const extra = Array.prototype.slice.call(arguments, 2);
  const timerId = state.nextTimer++;
  if (state.timers === null) state.timers = new Map();
  state.timers.set(timerId, true);
  invoke('timer', [delay]).then(function () {
    if (state.ended || state.timers === null || !state.timers.delete(timerId)) return;
    try {
      Reflect.apply(callback, undefined, extra);
    } catch (thrown) {
      finish(state, false, describeThrown(thrown));
    }
  }, noop);
  return timerId;
}

function clearTimeout(timerId) {
  const state = current;
  if (state !== null && state.timers !== null) state.timers.delete(timerId);
}

function missingExport(entry) {
  return (
    'exports.' +
    entry +
    ' is not a function: the action must assign ' +
    'exports.' +
    entry +
    ' = async (event, api) => { ... }'
  );
}

// Runs the action's module body afresh and calls the trigger's export with the event (a copy made
// for this execution, its secrets the version's).
function execute(id, event, secrets, trigger) {
  beginEntry();
  const state = newExecution(id);
  current = state;
  let result;
  try {
    if (actionWrapper === null) throw new Error('the action is not installed');
    event.secrets = secrets;
    const exports = {};
    const module = { exports: exports };
    Reflect.apply(actionWrapper, exports, [
      exports,
      require,
      module,
      actionConsole,
      fetch,
      setTimeout,
      clearTimeout,
    ]);
    const exported = module.exports;
    const entry =
      ENTRY_POINTS[trigger === 'post-exchange' ? 'post-exchange' : 'custom-token-exchange'];
    const handler =
      (typeof exported === 'object' && exported !== null) || typeof exported === 'function'
        ? exported[entry]
        : undefined;
    if (typeof handler !== 'function') {
      finish(state, false, missingExport(entry));
      return;
    }
    result = Reflect.apply(handler, exported, [
      event,
      actionApis[trigger === 'post-exchange' ? 'post-exchange' : 'custom-token-exchange'],
    ]);
    // A thenable's getters and `then` run inside the promise machinery, inside this execution.
    Promise.resolve(result).then(finishCurrent, failCurrent);
  } catch (thrown) {
    finish(state, false, describeThrown(thrown));
  }
}

function settle(id, callId, ok, value) {
  beginEntry();
  const state = waiting.get(id);
  if (state === undefined || state.calls === null) return;
  current = state;
  const pending = state.calls.get(callId);
  if (pending === undefined) return;
  state.calls.delete(callId);
  if (state.calls.size === 0) {
    waiting.delete(id);
    state.calls = null;
  }
  if (ok) pending.resolve(value);
  else pending.reject(toGuestError(value));
}

// The host ended the execution (deadline, closing): its pending calls will never settle.
function abandon(id) {
  beginEntry();
  const state = waiting.get(id);
  if (state !== undefined) endExecution(state);
}

// Takes the action's compiled wrapper; frozen, so that no execution can leave anything on it
// (`arguments.callee` is the wrapper).
function install(wrapper, filename) {
  actionWrapper = harden(wrapper);
  const escaped = filename.replace(/[.*+?^$()|[\]\\{}]/g, '\\$&');
  actionFramePattern = new RegExp(escaped + ':(\\d+):(\\d+)');
}
