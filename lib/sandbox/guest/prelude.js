// Guest code (see encoding.js): the end of the prelude, run once per context after the other
// guest files. It installs the action globals and the guards on the built-ins, then locks the
// context down; guest-source.ts returns `control` to the host, which keeps references to its
// functions and hands out none of them.

function queueMicrotask(callback) {
  if (typeof callback !== 'function')
    throw new TypeError('queueMicrotask: the callback must be a function');
  Promise.resolve().then(function () {
    callback();
  });
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
installGuards(MEMORY_LIMIT_BYTES);
// Besides the global object, everything an execution is handed or can reach through what it is
// handed: frozen once here, so that no execution can leave anything on it for the next.
lockdown(globalThis, [
  joseFacade,
  actionApis,
  actionConsole,
  require,
  fetch,
  setTimeout,
  clearTimeout,
  finishCurrent,
  failCurrent,
  STANDARD_ERRORS,
  ImportedKey,
  hostApi,
  hostCache,
  hostConsole,
  hostInvoke,
  hostFinish,
  hostUrl,
  hostRandom,
]);
const control = Object.freeze({
  execute: execute,
  settle: settle,
  abandon: abandon,
  install: install,
});
