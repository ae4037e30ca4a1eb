// Guest code (see encoding.js): the `console` actions receive, one for every execution of the
// context, writing for the current one. Lines are formatted here and cross as strings.

const MAX_CONSOLE_LINE_CHARS = 16 * 1024;
// The host keeps the first 100 lines of an execution; later ones only need counting, so they
// cross the boundary without their text.
const KEPT_CONSOLE_LINES = 100;
/** @type {readonly string[]} */
const NO_PARTS = Object.freeze([]);

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

function consoleMethod(level) {
  return function () {
    const state = current;
    if (state === null || state.ended) return;
    if (++state.consoleLines > KEPT_CONSOLE_LINES) {
      hostConsole(level, NO_PARTS);
      return;
    }
    const parts = [];
    let room = MAX_CONSOLE_LINE_CHARS;
    for (let i = 0; i < arguments.length && room > 0; i++) {
      const text = clip(formatConsoleArgument(arguments[i]), room);
      room -= text.length + 1;
      parts.push(text);
    }
    hostConsole(level, parts);
  };
}

const consoleLog = consoleMethod('log');
const consoleError = consoleMethod('error');
const actionConsole = {
  log: consoleLog,
  info: consoleMethod('info'),
  warn: consoleMethod('warn'),
  error: consoleError,
  debug: consoleLog,
  trace: consoleLog,
  dir: consoleLog,
  assert: function (condition) {
    if (condition) return;
    const rest = Array.prototype.slice.call(arguments, 1);
    Reflect.apply(consoleError, undefined, ['Assertion failed'].concat(rest));
  },
};
