// Guest code (see encoding.js): limits on the built-ins V8 cannot interrupt.
//
// An execution's CPU budget is enforced by stopping the isolate, which V8 honours between
// JavaScript operations but not inside native built-ins: JSON.parse of a deeply nested text, a
// split or a global replace of a long string, a sort or copy of an array whose length was set to
// millions, a fill that allocates hundreds of megabytes in one piece (past the isolate's memory
// limit that crashes V8 outright). Each would hold the event loop long past the budget.
// `installGuards` replaces those built-ins with wrappers that check the size of what they are given
// first (a length, or a linear scan written in JavaScript and so interruptible) and throw a
// RangeError beyond it. The limits are far above what an action needs (a fetch response is at most
// 1 MiB) and low enough that a guarded call at its limit ends within tens of milliseconds.

// Characters a string built-in works on or produces; also the characters JSON.parse accepts and
// JSON.stringify produces.
const MAX_GUARDED_STRING = 1024 * 1024;
// Nesting JSON.parse accepts (a real document nests a few levels).
const MAX_JSON_DEPTH = 512;
// Elements an array built-in works on.
const MAX_GUARDED_ARRAY = 256 * 1024;
// Arguments spread by apply (V8 refuses many more with a stack overflow, after building them).
const MAX_APPLIED_ARGUMENTS = 64 * 1024;
// A global replace with a `$` pattern in its replacement is done natively, one match at a time
// without interruption: its subject is kept shorter.
const MAX_PATTERN_REPLACE_SUBJECT = 64 * 1024;
// Bits a BigInt may have to be written out in a radix that is not a power of two.
const MAX_BIGINT_DECIMAL_BITS = 256 * 1024;

const applyFunction = Reflect.apply;

function limitError(what, detail) {
  return new RangeError(what + ': ' + detail + ' (a limit of the action sandbox)');
}

// The receiver of a String.prototype method as a string, refused beyond the limit. The built-in
// then gets this string, so that a toString answering differently the second time changes nothing.
function checkedString(value, what) {
  if (value === null || value === undefined) return value;
  const text = String(value);
  if (text.length > MAX_GUARDED_STRING) {
    throw limitError(what, 'the string is longer than ' + MAX_GUARDED_STRING + ' characters');
  }
  return text;
}

function checkedLength(length, what) {
  if (length > MAX_GUARDED_STRING) {
    throw limitError(what, 'the result would be longer than ' + MAX_GUARDED_STRING + ' characters');
  }
}

function checkedArray(array, what) {
  if (Array.isArray(array) && array.length > MAX_GUARDED_ARRAY) {
    throw limitError(what, 'the array is longer than ' + MAX_GUARDED_ARRAY + ' elements');
  }
}

// Replaces `owner[name]` by `wrapper`, keeping the built-in's name, length and attributes.
function guard(owner, name, wrapper) {
  const original = Reflect.getOwnPropertyDescriptor(owner, name);
  if (original === undefined) throw new TypeError('guard: no built-in ' + String(name));
  Reflect.defineProperty(wrapper, 'name', { value: original.value.name });
  Reflect.defineProperty(wrapper, 'length', { value: original.value.length });
  Reflect.defineProperty(owner, name, {
    value: wrapper,
    writable: original.writable,
    enumerable: original.enumerable,
    configurable: original.configurable,
  });
}

// `name` of `owner` checked by `check(receiver, args)` before it runs; a method, so no constructor.
function guardMethod(owner, name, check) {
  const original = owner[name];
  guard(
    owner,
    name,
    {
      [name]() {
        check(this, arguments);
        return applyFunction(original, this, arguments);
      },
    }[name],
  );
}

function guardJson() {
  const parse = JSON.parse;
  const stringify = JSON.stringify;
  guard(
    JSON,
    'parse',
    {
      parse(text, reviver) {
        const source = String(text);
        if (source.length > MAX_GUARDED_STRING) {
          throw limitError(
            'JSON.parse',
            'the text is longer than ' + MAX_GUARDED_STRING + ' characters',
          );
        }
        if (source.length > MAX_JSON_DEPTH && jsonNestingExceeds(source, MAX_JSON_DEPTH)) {
          throw limitError(
            'JSON.parse',
            'the text nests deeper than ' + MAX_JSON_DEPTH + ' levels',
          );
        }
        return reviver === undefined ? parse(source) : parse(source, reviver);
      },
    }.parse,
  );
  guard(
    JSON,
    'stringify',
    {
      stringify(value, replacer, space) {
        return stringify(value, measuringReplacer(replacer), space);
      },
    }.stringify,
  );
}

// A replacer that sees every key and value JSON.stringify writes, after the action's own replacer,
// and throws once the strings among them pass the limit: what it measures is what gets written.
function measuringReplacer(replacer) {
  let written = 0;
  const filter = typeof replacer === 'function' ? undefined : propertyFilter(replacer);
  /** @this {unknown} */
  return function (key, value) {
    let result =
      typeof replacer === 'function' ? applyFunction(replacer, this, [key, value]) : value;
    if (filter !== undefined) result = filter(result);
    written += key.length + 1;
    if (typeof result === 'string') written += result.length;
    if (written > MAX_GUARDED_STRING) {
      throw limitError(
        'JSON.stringify',
        'the result would be longer than ' + MAX_GUARDED_STRING + ' characters',
      );
    }
    checkedArray(result, 'JSON.stringify');
    return result;
  };
}

// JSON.stringify's array replacer (a list of property names) as a function of the value: objects
// keep those properties only, in the list's order, as the standard's PropertyList does.
function propertyFilter(replacer) {
  if (!Array.isArray(replacer)) return undefined;
  const names = [];
  for (let i = 0; i < replacer.length; i++) {
    const item = replacer[i];
    let name;
    if (typeof item === 'string') name = item;
    else if (typeof item === 'number' || item instanceof String || item instanceof Number)
      name = String(item);
    if (name !== undefined && names.indexOf(name) === -1) names.push(name);
  }
  return function (value) {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return value;
    if (value instanceof String || value instanceof Number || value instanceof Boolean)
      return value;
    const kept = Object.create(null);
    for (let i = 0; i < names.length; i++) {
      const item = value[names[i]];
      if (item !== undefined) kept[names[i]] = item;
    }
    return kept;
  };
}

function guardStrings() {
  const proto = String.prototype;
  // Linear in the receiver, with native loops over it (and results as large).
  const linear = [
    'split',
    'match',
    'matchAll',
    'normalize',
    'localeCompare',
    'toUpperCase',
    'toLowerCase',
    'toLocaleUpperCase',
    'toLocaleLowerCase',
  ];
  for (let i = 0; i < linear.length; i++) {
    const name = linear[i];
    const original = proto[name];
    const what = 'String.prototype.' + name;
    guard(
      proto,
      name,
      {
        [name]() {
          return applyFunction(original, checkedString(this, what), arguments);
        },
      }[name],
    );
  }
  guardMethod(proto, 'repeat', function (receiver, args) {
    const length = String(receiver).length;
    const times = Number(args[0]);
    if (length > 0 && times > 0) checkedLength(length * times, 'String.prototype.repeat');
  });
  guardMethod(proto, 'padStart', function (receiver, args) {
    checkedLength(Number(args[0]), 'String.prototype.padStart');
  });
  guardMethod(proto, 'padEnd', function (receiver, args) {
    checkedLength(Number(args[0]), 'String.prototype.padEnd');
  });
  guardReplace(proto, 'replace');
  guardReplace(proto, 'replaceAll');
  const coders = [
    'encodeURI',
    'encodeURIComponent',
    'decodeURI',
    'decodeURIComponent',
    'escape',
    'unescape',
  ];
  for (let i = 0; i < coders.length; i++) {
    const name = coders[i];
    const original = globalThis[name];
    guard(
      globalThis,
      name,
      {
        [name](value) {
          return original(checkedString(value, name));
        },
      }[name],
    );
  }
}

// A global replace with a string replacement builds its result natively, match after match: past a
// few thousand matches that runs long. Given a function instead, V8 calls it per match, and the
// budget can stop it there; a replacement without `$` patterns means the same as a function
// returning it.
function guardReplace(proto, name) {
  const original = proto[name];
  const what = 'String.prototype.' + name;
  guard(
    proto,
    name,
    {
      [name](pattern, replacement) {
        const subject = checkedString(this, what);
        const global = name === 'replaceAll' || (pattern instanceof RegExp && pattern.global);
        if (!global || typeof replacement !== 'string') {
          return applyFunction(original, subject, [pattern, replacement]);
        }
        if (replacement.indexOf('$') === -1) {
          return applyFunction(original, subject, [pattern, () => replacement]);
        }
        if (subject.length > MAX_PATTERN_REPLACE_SUBJECT) {
          throw limitError(
            what,
            'a global replace with $ patterns takes a string of at most ' +
              MAX_PATTERN_REPLACE_SUBJECT +
              ' characters (pass a function)',
          );
        }
        return applyFunction(original, subject, [pattern, replacement]);
      },
    }[name],
  );
}

// `memoryBytes`: the isolate's memory limit. An array allocated in one piece is kept to a quarter
// of it, so that V8 never fails an allocation outside the limit's control.
function guardArrays(memoryBytes) {
  const proto = Array.prototype;
  const maxAllocated = Math.min(MAX_GUARDED_ARRAY, Math.floor(memoryBytes / 4 / 8));
  // Native loops over `length` (holes included): every method but push, pop and at, and the
  // iterators (whose steps are calls the budget can stop).
  const byLength = [
    'concat',
    'copyWithin',
    'every',
    'filter',
    'find',
    'findIndex',
    'findLast',
    'findLastIndex',
    'forEach',
    'includes',
    'indexOf',
    'join',
    'lastIndexOf',
    'map',
    'reduce',
    'reduceRight',
    'reverse',
    'shift',
    'slice',
    'some',
    'sort',
    'splice',
    'toLocaleString',
    'toReversed',
    'toSorted',
    'toSpliced',
    'toString',
    'unshift',
    'with',
  ];
  for (let i = 0; i < byLength.length; i++) {
    const what = 'Array.prototype.' + byLength[i];
    guardMethod(proto, byLength[i], function (receiver) {
      checkLength(receiver, what);
    });
  }
  function checkLength(receiver, what) {
    if (receiver !== null && receiver !== undefined && receiver.length > MAX_GUARDED_ARRAY) {
      throw limitError(what, 'the array is longer than ' + MAX_GUARDED_ARRAY + ' elements');
    }
  }
  // Elements of arguments count too: concat copies them, flat copies the nested arrays.
  guardMethod(proto, 'concat', function (receiver, args) {
    for (let i = 0; i < args.length; i++) checkedArray(args[i], 'Array.prototype.concat');
  });
  for (const name of ['flat', 'flatMap']) {
    const what = 'Array.prototype.' + name;
    guardMethod(proto, name, function (receiver) {
      checkLength(receiver, what);
      for (let i = 0; i < receiver.length; i++) checkedArray(receiver[i], what);
    });
  }
  guardMethod(proto, 'join', function (receiver, args) {
    const separator = args[0] === undefined ? ',' : String(args[0]);
    let size = (receiver.length - 1) * separator.length;
    for (let i = 0; i < receiver.length; i++) {
      const item = receiver[i];
      if (typeof item === 'string') size += item.length;
    }
    checkedLength(size, 'Array.prototype.join');
  });
  guardMethod(proto, 'fill', function (receiver) {
    if (receiver.length > maxAllocated) {
      throw limitError(
        'Array.prototype.fill',
        'the array is longer than ' + maxAllocated + ' elements',
      );
    }
  });
  guardMethod(Array, 'from', function (receiver, args) {
    const items = args[0];
    if (items !== null && items !== undefined && Number(items.length) > maxAllocated) {
      throw limitError(
        'Array.from',
        'the result would be longer than ' + maxAllocated + ' elements',
      );
    }
  });
  for (const name of ['keys', 'values', 'entries', 'getOwnPropertyNames']) {
    const what = 'Object.' + name;
    guardMethod(Object, name, function (receiver, args) {
      checkedArray(args[0], what);
    });
  }
  // apply spreads an array-like into arguments: built natively before anything can stop it.
  guardMethod(Function.prototype, 'apply', function (receiver, args) {
    checkApplied(args[1], 'Function.prototype.apply');
  });
  guardMethod(Reflect, 'apply', function (receiver, args) {
    checkApplied(args[2], 'Reflect.apply');
  });
  guardMethod(Reflect, 'construct', function (receiver, args) {
    checkApplied(args[1], 'Reflect.construct');
  });
}

function checkApplied(args, what) {
  if (args !== null && args !== undefined && Number(args.length) > MAX_APPLIED_ARGUMENTS) {
    throw limitError(what, 'more than ' + MAX_APPLIED_ARGUMENTS + ' arguments');
  }
}

function guardBigInts() {
  guardMethod(BigInt.prototype, 'toString', function (receiver, args) {
    const base = args[0] === undefined ? 10 : Number(args[0]);
    // Powers of two are written out in linear time; other radixes are not.
    if (base !== 2 && base !== 4 && base !== 8 && base !== 16 && base !== 32) {
      const hexDigits = applyFunction(hexString, receiver, []).length;
      if (hexDigits * 4 > MAX_BIGINT_DECIMAL_BITS) {
        throw limitError(
          'BigInt.prototype.toString',
          'the number has more than ' + MAX_BIGINT_DECIMAL_BITS + ' bits',
        );
      }
    }
  });
}

const bigIntToString = BigInt.prototype.toString;
/** @this {bigint} */
function hexString() {
  return applyFunction(bigIntToString, this, [16]);
}

function installGuards(memoryBytes) {
  guardJson();
  guardStrings();
  guardArrays(memoryBytes);
  guardBigInts();
}
