// Guest code (see encoding.js). `lockdown(root, extraRoots)` makes one context safe to reuse across
// executions, the way Hardened JavaScript (SES) does: it removes what actions must not have, tames
// the "override mistake" for the properties ordinary code assigns (`obj.toString = ...`,
// `this.name = ...` in an Error subclass), then freezes the global object and every intrinsic
// reachable from it, plus the intrinsics only reachable through syntax (generator, async function
// and iterator prototypes, %ThrowTypeError%). After it, nothing an execution can reach from the
// global scope can carry state to the next one.

function harden(root) {
  const queue = [root];
  const seen = new WeakSet();
  while (queue.length > 0) {
    const value = queue.pop();
    if ((typeof value !== 'object' || value === null) && typeof value !== 'function') continue;
    if (seen.has(value)) continue;
    seen.add(value);
    Object.freeze(value);
    queue.push(Object.getPrototypeOf(value));
    const keys = Reflect.ownKeys(value);
    for (let i = 0; i < keys.length; i++) {
      const descriptor = Reflect.getOwnPropertyDescriptor(value, keys[i]);
      if (descriptor === undefined) continue;
      if ('value' in descriptor) queue.push(descriptor.value);
      else queue.push(descriptor.get, descriptor.set);
    }
  }
  return root;
}

// Turns a data property of a frozen prototype into an accessor whose setter defines an own
// property on the object assigned to, so that assignment keeps working on ordinary objects (the
// "override mistake": assigning over an inherited non-writable property fails).
function tameOverride(prototype, key) {
  const descriptor = Reflect.getOwnPropertyDescriptor(prototype, key);
  if (descriptor === undefined || !('value' in descriptor) || !descriptor.configurable) return;
  const value = descriptor.value;
  const name = String(key);
  const getter = function () {
    return value;
  };
  const setter = function (newValue) {
    if ((typeof this !== 'object' || this === null) && typeof this !== 'function') return;
    if (this === prototype) {
      throw new TypeError(
        "Cannot assign to read only property '" + name + "' of a frozen built-in prototype",
      );
    }
    if (Object.hasOwn(this, key)) {
      this[key] = newValue;
    } else {
      Reflect.defineProperty(this, key, {
        value: newValue,
        writable: true,
        enumerable: true,
        configurable: true,
      });
    }
  };
  Reflect.defineProperty(prototype, key, {
    get: getter,
    set: setter,
    enumerable: descriptor.enumerable,
    configurable: false,
  });
}

function lockdown(root, extraRoots) {
  // Shared memory, blocking waits, WebAssembly, GC-timed callbacks (they would run during another
  // execution) and V8's inert console have no place in an action.
  const removed = [
    'SharedArrayBuffer',
    'Atomics',
    'WebAssembly',
    'FinalizationRegistry',
    'WeakRef',
    'console',
  ];
  for (let i = 0; i < removed.length; i++) delete root[removed[i]];

  // RegExp.$1, RegExp.lastMatch, RegExp.input, ...: the last match of any execution.
  const regExpKeys = Reflect.ownKeys(RegExp);
  for (let i = 0; i < regExpKeys.length; i++) {
    const key = regExpKeys[i];
    const descriptor = Reflect.getOwnPropertyDescriptor(RegExp, key);
    if (typeof key === 'string' && descriptor !== undefined && !('value' in descriptor))
      delete RegExp[key];
  }

  // What ordinary code assigns over (SES's "moderate" list, without the properties V8 guards with
  // protectors, such as Promise.prototype.constructor or Array.prototype[Symbol.iterator], whose
  // change would slow every await or spread).
  const objectKeys = Reflect.ownKeys(Object.prototype);
  for (let i = 0; i < objectKeys.length; i++) tameOverride(Object.prototype, objectKeys[i]);
  const functionKeys = ['constructor', 'bind', 'toString'];
  for (let i = 0; i < functionKeys.length; i++) tameOverride(Function.prototype, functionKeys[i]);
  const errorKeys = ['constructor', 'message', 'name', 'toString'];
  for (let i = 0; i < errorKeys.length; i++) tameOverride(Error.prototype, errorKeys[i]);
  const nativeErrors = [
    EvalError,
    RangeError,
    ReferenceError,
    SyntaxError,
    TypeError,
    URIError,
    AggregateError,
  ];
  for (let i = 0; i < nativeErrors.length; i++) {
    tameOverride(nativeErrors[i].prototype, 'constructor');
    tameOverride(nativeErrors[i].prototype, 'message');
    tameOverride(nativeErrors[i].prototype, 'name');
  }
  tameOverride(Array.prototype, 'toString');

  // Intrinsics that only syntax reaches.
  const generatorFunction = function* () {};
  const asyncGeneratorFunction = async function* () {};
  const syntaxOnly = [
    Object.getPrototypeOf(generatorFunction),
    Object.getPrototypeOf(async function () {}),
    Object.getPrototypeOf(asyncGeneratorFunction),
    Object.getPrototypeOf(asyncGeneratorFunction()),
    Object.getPrototypeOf([][Symbol.iterator]()),
    Object.getPrototypeOf(new Map()[Symbol.iterator]()),
    Object.getPrototypeOf(new Set()[Symbol.iterator]()),
    Object.getPrototypeOf(''[Symbol.iterator]()),
    Object.getPrototypeOf(/a/[Symbol.matchAll]('a')),
    Object.getPrototypeOf(Int8Array),
    /** @type {PropertyDescriptor} */ (
      Reflect.getOwnPropertyDescriptor(Function.prototype, 'caller')
    ).get,
    (function () {
      'use strict';
      return /** @type {PropertyDescriptor} */ (
        Reflect.getOwnPropertyDescriptor(arguments, 'callee')
      ).get;
    })(),
  ];
  if (typeof Intl === 'object' && typeof Intl.Segmenter === 'function') {
    // %SegmentsPrototype% and %SegmentIteratorPrototype% are reachable only through segment(),
    // and a first Segmenter costs ~17 ms of ICU setup per isolate: harden them on first use,
    // before any execution sees them.
    const segment = Intl.Segmenter.prototype.segment;
    let segmentsHardened = false;
    Reflect.defineProperty(Intl.Segmenter.prototype, 'segment', {
      value: {
        segment(input) {
          const segments = Reflect.apply(segment, this, [input]);
          if (!segmentsHardened) {
            harden(Object.getPrototypeOf(segments));
            harden(Object.getPrototypeOf(segments[Symbol.iterator]()));
            segmentsHardened = true;
          }
          return segments;
        },
      }.segment,
      writable: true,
      enumerable: false,
      configurable: true,
    });
  }
  for (let i = 0; i < syntaxOnly.length; i++) harden(syntaxOnly[i]);
  for (let i = 0; i < extraRoots.length; i++) harden(extraRoots[i]);
  harden(root);
}
