import { expect } from 'chai';
import type { ExecutionGate } from '../../../lib/sandbox/execution-gate.js';
import {
  PendingCapabilities,
  codeVersion,
  evaluate,
  handlerCode,
  runOnce,
  testEvent,
  EMPTY_FETCH_RESPONSE,
  sandboxRunner,
} from '../fixtures/sandbox-helpers.js';

describe('the sandbox: no state leaks between executions', () => {
  let runner: ExecutionGate;
  before(() => {
    runner = sandboxRunner({ capabilities: new PendingCapabilities() });
  });
  after(() => runner.close());

  it('shows the next execution nothing the previous one left in globals, prototypes or module state', async () => {
    // The same version runs twice: the first execution tries every way to leave something behind,
    // the second one reports what it finds.
    const version = codeVersion(`
      let counter = 0;
      const moduleLevel = [];
      exports.onExecuteCustomTokenExchange = async (event, api) => {
        counter++;
        moduleLevel.push(event.request.body.extra);
        const found = {
          counter,
          moduleLevel: moduleLevel.length,
          globalX: typeof globalThis.x,
          sloppyGlobal: typeof leakedWithoutDeclaration,
          polluted: ({}).polluted,
          pushIsNative: Array.prototype.push.toString().includes('[native code]'),
          jsonParseIsNotHijacked: !JSON.parse.toString().includes('hijacked'),
          mathRandomIsNative: Math.random.toString().includes('[native code]'),
          regexpLastMatch: typeof RegExp.$1 + typeof RegExp.lastMatch,
          prepareStackTrace: typeof Error.prepareStackTrace,
          urlPatched: typeof URL.prototype.leak,
          symbolTag: Object.prototype.toString.call([]),
        };
        if (event.request.body.extra === 'first') {
          globalThis.x = 'leaked';
          leakedWithoutDeclaration = 'leaked';
          Object.prototype.polluted = 'leaked';
          try { Array.prototype.push = function () { return 'hijacked'; }; } catch (e) {}
          try { JSON.parse = () => 'hijacked'; } catch (e) {}
          try { Math.random = () => 4; } catch (e) {}
          try { Error.prepareStackTrace = (error, frames) => frames; } catch (e) {}
          try { URL.prototype.leak = 'leaked'; } catch (e) {}
          try { Object.defineProperty(Array.prototype, Symbol.toStringTag, { value: 'Leak' }); } catch (e) {}
          /(secret-[a-z]+)/.exec('token secret-abc');
        }
        api.user.setAppMetadata('found', found);
      };
    `);
    const run = async (extra: string): Promise<unknown> => {
      const event = testEvent();
      event.request.body = { extra };
      const outcome = await runOnce(runner, version, event);
      expect(outcome.failure).to.equal(undefined);
      const command = outcome.commands[0];
      return command?.type === 'setAppMetadata' ? command.value : undefined;
    };
    const clean = {
      counter: 1,
      moduleLevel: 1,
      globalX: 'undefined',
      sloppyGlobal: 'undefined',
      pushIsNative: true,
      jsonParseIsNotHijacked: true,
      mathRandomIsNative: true,
      regexpLastMatch: 'undefinedundefined',
      prepareStackTrace: 'undefined',
      urlPatched: 'undefined',
      symbolTag: '[object Array]',
    };
    expect(await run('first')).to.deep.equal(clean);
    expect(await run('second')).to.deep.equal(clean);
  });

  it('carries nothing from one execution to the next through the module wrapper (arguments.callee)', async () => {
    const version = codeVersion(`
      const wrapper = arguments.callee;
      exports.onExecuteCustomTokenExchange = async (event, api) => {
        const found = wrapper.leak === undefined ? 'nothing' : wrapper.leak;
        try { wrapper.leak = event.transaction.subject_token; } catch (e) {}
        try { wrapper.prototype.leak = event.transaction.subject_token; } catch (e) {}
        try { Object.defineProperty(wrapper, 'other', { value: 1 }); } catch (e) {}
        api.user.setAppMetadata('found', [found, String(wrapper.prototype.leak), String(wrapper.other), Object.isFrozen(wrapper)]);
      };
    `);
    const found = async (token: string): Promise<unknown> => {
      const event = testEvent();
      event.transaction.subject_token = token;
      const outcome = await runOnce(runner, version, event);
      expect(outcome.failure).to.equal(undefined);
      const command = outcome.commands[0];
      return command?.type === 'setAppMetadata' ? command.value : undefined;
    };
    expect(await found('first-subject-token')).to.deep.equal([
      'nothing',
      'undefined',
      'undefined',
      true,
    ]);
    expect(await found('second-subject-token')).to.deep.equal([
      'nothing',
      'undefined',
      'undefined',
      true,
    ]);
  });

  it('hands every execution only fresh objects or deeply frozen ones', async () => {
    // Walks everything an execution can reach from what it is handed (module body parameters,
    // this, arguments.callee, the api, require('jose')) and from the global object, and lists
    // what is neither frozen nor one of the objects made for this execution.
    const outcome = await runOnce(
      runner,
      codeVersion(`
        const fresh = new Set([exports, module, this]);
        const roots = [arguments.callee, require, console, fetch, setTimeout, clearTimeout, require('jose'), globalThis];
        exports.onExecuteCustomTokenExchange = async function (event, api) {
          // This handler and its prototype were made by this execution's module body.
          fresh.add(arguments.callee).add(arguments.callee.prototype);
          const mutable = [];
          const seen = new Set();
          const queue = [...roots, api, arguments.callee, this];
          const isEvent = (value) => {
            for (let v = event, stack = [event]; stack.length > 0; ) {
              v = stack.pop();
              if (v === value) return true;
              if (v !== null && typeof v === 'object') stack.push(...Object.values(v));
            }
            return false;
          };
          while (queue.length > 0) {
            const value = queue.pop();
            if ((typeof value !== 'object' || value === null) && typeof value !== 'function') continue;
            if (seen.has(value) || fresh.has(value) || isEvent(value)) continue;
            seen.add(value);
            if (!Object.isFrozen(value)) mutable.push(typeof value === 'function' ? value.name : Object.keys(value).join(','));
            queue.push(Object.getPrototypeOf(value));
            for (const key of Reflect.ownKeys(value)) {
              const descriptor = Reflect.getOwnPropertyDescriptor(value, key);
              if ('value' in descriptor) queue.push(descriptor.value);
              else queue.push(descriptor.get, descriptor.set);
            }
          }
          api.user.setAppMetadata('reached', { count: seen.size, mutable });
        };
      `),
    );
    expect(outcome.failure).to.equal(undefined);
    const reached = outcome.commands[0]?.type === 'setAppMetadata' ? outcome.commands[0].value : {};
    expect((reached as { count: number }).count).to.be.above(500);
    expect((reached as { mutable: string[] }).mutable).to.deep.equal([]);
  });

  it('keeps concurrent executions of one version apart', async () => {
    const capabilities = new PendingCapabilities();
    const local = sandboxRunner({ capabilities });
    try {
      const version = codeVersion(`
        let mine;
        exports.onExecuteCustomTokenExchange = async (event, api) => {
          mine = event.request.body.extra;
          await fetch('https://idp.example.com/' + mine);
          api.authentication.setUserById(mine + ':' + event.request.body.extra);
        };
      `);
      const runs = ['a', 'b', 'c'].map((extra) => {
        const event = testEvent();
        event.request.body = { extra };
        return runOnce(local, version, event);
      });
      await capabilities.waitForCalls(3);
      for (const call of [...capabilities.calls].reverse()) call.resolve(EMPTY_FETCH_RESPONSE);
      const users = (await Promise.all(runs)).map((outcome) => outcome.commands[0]);
      expect(users).to.deep.equal([
        { type: 'setUserById', user_id: 'a:a' },
        { type: 'setUserById', user_id: 'b:b' },
        { type: 'setUserById', user_id: 'c:c' },
      ]);
    } finally {
      await local.close();
    }
  });

  it('keeps ordinary assignments working on frozen intrinsics (override mistake tamed)', async () => {
    const result = await evaluate(
      runner,
      `
      'use strict';
      const plain = {};
      plain.toString = () => 'custom';
      plain.constructor = 'mine';
      plain.hasOwnProperty = 5;
      class AppError extends Error {
        constructor(message) {
          super(message);
          this.name = 'AppError';
          this.code = 'E_APP';
        }
      }
      const typeError = new TypeError('t');
      typeError.name = 'Renamed';
      const fn = function () {};
      fn.toString = () => 'fn';
      const list = [1];
      list.toString = () => 'list';
      let refused = 'no';
      try { Object.prototype.toString = () => 'x'; } catch (error) { refused = error.constructor.name; }
      return [String(plain), plain.constructor, plain.hasOwnProperty, new AppError('m').name,
        new AppError('m') instanceof Error, typeError.name, String(fn), String(list), refused,
        Object.isFrozen(Object.prototype), Object.isFrozen(globalThis)];
      `,
    );
    expect(result).to.deep.equal([
      'custom',
      'mine',
      5,
      'AppError',
      true,
      'Renamed',
      'fn',
      'list',
      'TypeError',
      true,
      true,
    ]);
  });
});

describe('the sandbox: no escape', () => {
  let runner: ExecutionGate;
  before(() => {
    runner = sandboxRunner({ capabilities: new PendingCapabilities() });
  });
  after(() => runner.close());

  it('has no process, no host require, no shared memory, no WebAssembly', async () => {
    const result = await evaluate(
      runner,
      `
      const attempt = (fn) => { try { return String(fn()); } catch (error) { return error.name + ': ' + error.message; } };
      return {
        process: typeof process,
        global: typeof global,
        sharedArrayBuffer: typeof SharedArrayBuffer,
        atomics: typeof Atomics,
        webAssembly: typeof WebAssembly,
        weakRef: typeof WeakRef + typeof FinalizationRegistry,
        requireFs: attempt(() => require('fs')),
        requireChildProcess: attempt(() => require('child_process')),
        constructorChain: attempt(() => this.constructor.constructor('return process')()),
        functionThis: attempt(() => Function('return typeof this.process')()),
        evalProcess: attempt(() => eval('process')),
        wasmMemory: attempt(() => new WebAssembly.Memory({ initial: 1, maximum: 1, shared: true })),
      };
      `,
    );
    expect(result).to.deep.equal({
      process: 'undefined',
      global: 'undefined',
      sharedArrayBuffer: 'undefined',
      atomics: 'undefined',
      webAssembly: 'undefined',
      weakRef: 'undefinedundefined',
      requireFs:
        "Error: Cannot find module 'fs' (actions can require only 'jose'; fetch, console, URL, URLSearchParams, TextEncoder, TextDecoder, atob, btoa and crypto are globals)",
      requireChildProcess:
        "Error: Cannot find module 'child_process' (actions can require only 'jose'; fetch, console, URL, URLSearchParams, TextEncoder, TextDecoder, atob, btoa and crypto are globals)",
      constructorChain: 'ReferenceError: process is not defined',
      functionThis: 'undefined',
      evalProcess: 'ReferenceError: process is not defined',
      wasmMemory: 'ReferenceError: WebAssembly is not defined',
    });
  });

  it('exposes only the standard globals and the documented action globals', async () => {
    const names = (await evaluate(
      runner,
      'return Reflect.ownKeys(globalThis).map(String).sort();',
    )) as string[];
    const standard = [
      'AggregateError',
      'Array',
      'ArrayBuffer',
      'BigInt',
      'BigInt64Array',
      'BigUint64Array',
      'Boolean',
      'DataView',
      'Date',
      'Error',
      'EvalError',
      'Float32Array',
      'Float64Array',
      'Function',
      'Infinity',
      'Int16Array',
      'Int32Array',
      'Int8Array',
      'Intl',
      'JSON',
      'Map',
      'Math',
      'NaN',
      'Number',
      'Object',
      'Promise',
      'Proxy',
      'RangeError',
      'ReferenceError',
      'Reflect',
      'RegExp',
      'Set',
      'String',
      'Symbol',
      'Symbol(Symbol.toStringTag)',
      'SyntaxError',
      'TypeError',
      'URIError',
      'Uint16Array',
      'Uint32Array',
      'Uint8Array',
      'Uint8ClampedArray',
      'WeakMap',
      'WeakSet',
      'decodeURI',
      'decodeURIComponent',
      'encodeURI',
      'encodeURIComponent',
      'escape',
      'eval',
      'globalThis',
      'isFinite',
      'isNaN',
      'parseFloat',
      'parseInt',
      'undefined',
      'unescape',
    ];
    const actionGlobals = [
      'Headers',
      'Response',
      'TextDecoder',
      'TextEncoder',
      'URL',
      'URLSearchParams',
      'atob',
      'btoa',
      'crypto',
      'queueMicrotask',
    ];
    expect(names.filter((name) => !standard.includes(name)).sort()).to.deep.equal(
      actionGlobals.sort(),
    );
  });

  it('gives no way up the call stack into the prelude', async () => {
    const outcome = await runOnce(
      runner,
      codeVersion(`
        exports.onExecuteCustomTokenExchange = function handler(event, api) {
          const chain = [];
          for (let fn = arguments.callee; fn; fn = fn.caller) chain.push(fn.name);
          let frames = 'refused';
          try {
            Error.prepareStackTrace = (error, sites) => sites.map((site) => typeof site.getFunction());
            frames = typeof new Error('x').stack;
          } catch (error) {}
          api.user.setAppMetadata('found', { chain, frames });
        };
      `),
    );
    expect(outcome.failure).to.equal(undefined);
    expect(outcome.commands).to.deep.equal([
      { type: 'setAppMetadata', key: 'found', value: { chain: ['handler'], frames: 'string' } },
    ]);
  });

  it('hands the host only copies: no prototype pollution through copied values or the event', async () => {
    const capabilities = new PendingCapabilities();
    const local = sandboxRunner({ capabilities });
    try {
      const event = testEvent();
      const run = runOnce(
        local,
        codeVersion(
          handlerCode(`
            const hostile = () => JSON.parse('{"__proto__": {"pollutedFromSandbox": true}, "kty": "EC", "constructor": {"prototype": {"pollutedFromSandbox": true}}}');
            try { api.user.setAppMetadata('profile', hostile()); } catch (error) { console.log(error.message); }
            event.transaction.requested_scopes.push('admin');
            event.__proto__.pollutedFromSandbox = true;
            Object.prototype.pollutedFromSandbox = true;
            await require('jose').importJWK(hostile(), 'ES256');
          `),
        ),
        event,
      );
      await capabilities.waitForCalls(1);
      const descriptor = capabilities.calls[0]?.args[0] as { jwk: object };
      expect(capabilities.calls[0]?.name).to.equal('jose.checkKey');
      expect(Object.getPrototypeOf(descriptor.jwk)).to.equal(Object.prototype);
      expect(Object.keys(descriptor.jwk)).to.deep.equal(['__proto__', 'kty', 'constructor']);
      capabilities.calls[0]?.resolve({ ok: true });
      const outcome = await run;
      expect(outcome.failure).to.equal(undefined);
      expect(outcome.console[0]?.message).to.match(/^api\.user\.setAppMetadata: /);
      expect(({} as Record<string, unknown>).pollutedFromSandbox).to.equal(undefined);
      expect(Object.prototype).not.to.have.property('pollutedFromSandbox');
      expect(event.transaction.requested_scopes).to.deep.equal(['read']);
    } finally {
      await local.close();
    }
  });
});
