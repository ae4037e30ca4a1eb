/**
 * Guest-side source (see lockdown.ts for why it is text): executions. One context serves every
 * execution of one action version, possibly several at once, so everything an execution owns is
 * created per execution and reachable only from that execution's closures: its state record, the
 * `api`, `console`, `require`, `fetch`, `setTimeout` it receives, and the module body's own
 * variables (the compiled action wrapper is called afresh each time). The host drives executions
 * through `execute`, `settle` and `abandon`; the guest reports back through the host callbacks,
 * always passing the execution's id, which only these closures know.
 */
export const EXECUTION_SOURCE = String.raw`
const executions = new Map();
let actionWrapper = null;
let actionFramePattern = null;

// Limits on what one call copies out to the host (the host checks its own limits again).
const MAX_API_ARGUMENT_CHARS = 64 * 1024;
const MAX_CAPABILITY_ARGUMENT_CHARS = 2 * 1024 * 1024;
const MAX_CONSOLE_LINE_CHARS = 16 * 1024;
// The export each trigger calls; the host passes the trigger to execute().
const ENTRY_POINTS = { 'custom-token-exchange': 'onExecuteCustomTokenExchange', 'post-exchange': 'onExecutePostExchange' };

function missingExport(entry) {
  return 'exports.' + entry + ' is not a function: the action must assign ' +
    'exports.' + entry + ' = async (event, api) => { ... }';
}

// Rough size of a value in characters, stopping as soon as it passes the limit.
function exceedsCopyLimit(value, limit) {
  let budget = limit;
  const seen = new Set();
  const stack = [value];
  while (stack.length > 0) {
    const item = stack.pop();
    if (typeof item === 'string') budget -= item.length + 2;
    else if (item !== null && typeof item === 'object') {
      if (seen.has(item)) continue;
      seen.add(item);
      if (ArrayBuffer.isView(item) || item instanceof ArrayBuffer) {
        budget -= item.byteLength;
      } else {
        const keys = Object.keys(item);
        budget -= 2 + keys.length;
        for (let i = 0; i < keys.length; i++) {
          budget -= keys[i].length;
          stack.push(item[keys[i]]);
        }
      }
    } else budget -= 8;
    if (budget < 0) return true;
  }
  return false;
}

function clip(text, limit) {
  return text.length > limit ? text.slice(0, limit) + '...' : text;
}

function describeThrown(thrown) {
  try {
    if ((typeof thrown === 'object' && thrown !== null) || typeof thrown === 'function') {
      const rawName = thrown.name;
      const rawMessage = thrown.message;
      const name = typeof rawName === 'string' && rawName !== '' ? rawName : 'Error';
      const message = rawMessage === undefined ? '' : String(rawMessage);
      let where = '';
      const stack = thrown.stack;
      if (typeof stack === 'string' && actionFramePattern !== null) {
        const match = actionFramePattern.exec(stack);
        if (match !== null) where = ' (line ' + match[1] + ', column ' + match[2] + ')';
      }
      return clip(name + ': ' + message, 1000) + where;
    }
    const shown = typeof thrown === 'string' ? JSON.stringify(thrown) : String(thrown);
    return 'threw a non-Error value: ' + clip(shown, 200);
  } catch (error) {
    return 'threw a value that could not be described';
  }
}

function endExecution(state) {
  state.ended = true;
  executions.delete(state.id);
  state.pending.clear();
  state.timers.clear();
}

// The outcome goes back as the result of the entry that settles the action's promise: microtasks
// run before isolated-vm copies an entry's result, so execute() and settle() return the report and
// the host reads it once the entry is over (no extra crossing to say so).
function finish(state, ok, message) {
  if (state.ended) return;
  endExecution(state);
  state.report.done = true;
  state.report.ok = ok;
  state.report.message = message;
}

// Starts a host call. The host answers at once ([ok, value]) when it can, without leaving this
// entry; otherwise the promise settles when the host calls settle(id, callId, ...).
function invoke(state, name, args) {
  if (state.ended) {
    return Promise.reject(toGuestError({
      name: 'Error',
      code: 'ERR_CAPABILITY_REVOKED',
      message: name + ' cannot be used: the action\'s execution has ended',
    }));
  }
  if (exceedsCopyLimit(args, MAX_CAPABILITY_ARGUMENT_CHARS)) {
    return Promise.reject(new RangeError(name + ': the arguments are larger than ' + MAX_CAPABILITY_ARGUMENT_CHARS + ' characters'));
  }
  const callId = state.nextCall++;
  let answer;
  try {
    answer = hostInvoke(state.id, callId, name, args);
  } catch (error) {
    return Promise.reject(error);
  }
  if (answer !== undefined) {
    return answer[0] ? Promise.resolve(answer[1]) : Promise.reject(toGuestError(answer[1]));
  }
  return new Promise(function (resolve, reject) {
    state.pending.set(callId, { resolve: resolve, reject: reject });
  });
}

function callApi(state, method, args) {
  if (state.ended) throw new Error('api.' + method + ' cannot be used: the action\'s execution has ended');
  if (exceedsCopyLimit(args, MAX_API_ARGUMENT_CHARS)) {
    throw new RangeError('api.' + method + ': the arguments are larger than ' + MAX_API_ARGUMENT_CHARS + ' characters');
  }
  const refusal = hostApi(state.id, method, args);
  if (refusal !== undefined) {
    const error = new Error(refusal);
    error.name = 'ActionApiError';
    throw error;
  }
}

function callCache(state, operation, args) {
  if (state.ended) throw new Error('api.cache.' + operation + ' cannot be used: the action\'s execution has ended');
  if (exceedsCopyLimit(args, MAX_API_ARGUMENT_CHARS)) {
    throw new RangeError('api.cache.' + operation + ': the arguments are larger than ' + MAX_API_ARGUMENT_CHARS + ' characters');
  }
  const answer = hostCache(state.id, operation, args);
  if (answer[0] !== true) throw new Error(answer[1]);
  return answer[1];
}

function makeApi(state, trigger) {
  const method = function (name) {
    return function () {
      callApi(state, name, Array.prototype.slice.call(arguments));
    };
  };
  const cache = {
    get: function (key) { return callCache(state, 'get', [key]); },
    set: function (key, value, options) { return callCache(state, 'set', [key, value, options]); },
    delete: function (key) { return callCache(state, 'delete', [key]); },
  };
  if (trigger === 'post-exchange') {
    return {
      access: { deny: method('access.deny') },
      accessToken: { setCustomClaim: method('accessToken.setCustomClaim') },
      idToken: { setCustomClaim: method('idToken.setCustomClaim') },
      cache: cache,
    };
  }
  return {
    access: {
      deny: method('access.deny'),
      rejectInvalidSubjectToken: method('access.rejectInvalidSubjectToken'),
    },
    authentication: {
      setUserById: method('authentication.setUserById'),
      setUserByConnection: method('authentication.setUserByConnection'),
      setActor: method('authentication.setActor'),
      setOrganization: method('authentication.setOrganization'),
    },
    user: {
      setAppMetadata: method('user.setAppMetadata'),
      setUserMetadata: method('user.setUserMetadata'),
    },
    cache: cache,
  };
}

function formatConsoleArgument(value) {
  if (typeof value === 'string') return value;
  if (typeof value === 'function') return '[Function: ' + (value.name || '(anonymous)') + ']';
  if (typeof value === 'symbol') return value.toString();
  if (typeof value === 'bigint') return value.toString() + 'n';
  if (typeof value !== 'object' || value === null) return String(value);
  if (value instanceof Error) return String(value.name) + ': ' + String(value.message);
  try {
    const json = JSON.stringify(value, function (key, item) {
      return typeof item === 'bigint' ? item.toString() + 'n' : item;
    });
    if (json !== undefined) return json;
  } catch (error) {
    // A cycle, or a getter that throws: String() below.
  }
  try {
    return String(value);
  } catch (error) {
    return '[object]';
  }
}

// The host keeps the first 100 lines of an execution; later ones only need counting, so they
// cross the boundary without their text (formatting and copying them would be CPU the budget does
// not see).
const KEPT_CONSOLE_LINES = 100;
const NO_PARTS = Object.freeze([]);

function makeConsole(state) {
  let lines = 0;
  const line = function (level) {
    return function () {
      if (state.ended) return;
      if (++lines > KEPT_CONSOLE_LINES) {
        hostConsole(state.id, level, NO_PARTS);
        return;
      }
      const parts = [];
      let room = MAX_CONSOLE_LINE_CHARS;
      for (let i = 0; i < arguments.length && room > 0; i++) {
        const text = clip(formatConsoleArgument(arguments[i]), room);
        room -= text.length + 1;
        parts.push(text);
      }
      hostConsole(state.id, level, parts);
    };
  };
  const log = line('log');
  const error = line('error');
  return {
    log: log,
    info: line('info'),
    warn: line('warn'),
    error: error,
    debug: log,
    trace: log,
    dir: log,
    assert: function (condition) {
      if (condition) return;
      const rest = Array.prototype.slice.call(arguments, 1);
      error.apply(undefined, ['Assertion failed'].concat(rest));
    },
  };
}

function makeRequire(state) {
  return function require(name) {
    if (name === 'jose') {
      if (state.jose === undefined) state.jose = createJoseFacade(state);
      return state.jose;
    }
    const error = new Error(
      'Cannot find module \'' + String(name) + '\' (actions can require only \'jose\'; fetch, console, URL, ' +
        'URLSearchParams, TextEncoder, TextDecoder, atob, btoa and crypto are globals)',
    );
    error.code = 'MODULE_NOT_FOUND';
    throw error;
  };
}

// setTimeout is a host timer bounded by the execution's deadline; its callback runs only while
// the execution is alive.
function makeTimers(state) {
  const setTimeout = function (callback) {
    if (typeof callback !== 'function') {
      throw new TypeError('setTimeout: the callback must be a function (strings are not evaluated)');
    }
    const delay = Math.max(0, Number(arguments[1]) || 0);
    const extra = Array.prototype.slice.call(arguments, 2);
    const timerId = state.nextTimer++;
    state.timers.set(timerId, true);
    invoke(state, 'timer', [delay]).then(function () {
      if (state.ended || !state.timers.delete(timerId)) return;
      try {
        callback.apply(undefined, extra);
      } catch (thrown) {
        finish(state, false, describeThrown(thrown));
      }
    }, function () {});
    return timerId;
  };
  const clearTimeout = function (timerId) {
    state.timers.delete(timerId);
  };
  return { setTimeout: setTimeout, clearTimeout: clearTimeout };
}

function execute(id, event, trigger) {
  const state = {
    id: id, ended: false, nextCall: 1, nextTimer: 1, pending: new Map(), timers: new Map(), jose: undefined,
    report: { done: false, ok: false, message: '' },
  };
  executions.set(id, state);
  let result;
  try {
    if (actionWrapper === null) throw new Error('the action is not installed');
    const module = { exports: {} };
    const timers = makeTimers(state);
    actionWrapper.call(
      module.exports,
      module.exports,
      makeRequire(state),
      module,
      makeConsole(state),
      makeFetch(state),
      timers.setTimeout,
      timers.clearTimeout,
    );
    const exported = module.exports;
    const entry = trigger === 'post-exchange' ? ENTRY_POINTS['post-exchange'] : ENTRY_POINTS['custom-token-exchange'];
    const handler =
      (typeof exported === 'object' && exported !== null) || typeof exported === 'function'
        ? exported[entry]
        : undefined;
    if (typeof handler !== 'function') {
      finish(state, false, missingExport(entry));
      return state.report;
    }
    result = handler.call(exported, event, makeApi(state, trigger));
  } catch (thrown) {
    finish(state, false, describeThrown(thrown));
    return state.report;
  }
  // new Promise rather than Promise.resolve: a hostile thenable's getters run inside the promise
  // machinery and turn into a rejection instead of escaping here.
  new Promise(function (resolve) { resolve(result); }).then(
    function () { finish(state, true, ''); },
    function (thrown) { finish(state, false, describeThrown(thrown)); },
  );
  return state.report;
}

function settle(id, callId, ok, value) {
  const state = executions.get(id);
  if (state === undefined) return undefined;
  const pending = state.pending.get(callId);
  if (pending === undefined) return state.report;
  state.pending.delete(callId);
  if (ok) pending.resolve(value);
  else pending.reject(toGuestError(value));
  return state.report;
}

function abandon(id) {
  const state = executions.get(id);
  if (state !== undefined) endExecution(state);
}

function install(wrapper, filename) {
  actionWrapper = wrapper;
  const escaped = filename.replace(/[.*+?^$()|[\]\\{}]/g, '\\$&');
  actionFramePattern = new RegExp(escaped + ':(\\d+):(\\d+)');
}
`;
