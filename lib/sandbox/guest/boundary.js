// Guest code (see encoding.js): what crosses to the host. Values the action made are read here,
// inside the execution's CPU budget, and only plain copies leave: the host never runs a getter,
// toString or then of the guest's.

const MAX_COPY_DEPTH = 64;

function clip(text, limit) {
  return text.length > limit ? text.slice(0, limit) + '...' : text;
}

// `Name: message (line L, column C)`: what the tenant log shows of a throw. Runs the thrown
// value's getters and toString here, inside the execution's budget; the result is a string.
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

// A copy of the arguments of a call to the host: JSON-like data (objects, arrays, strings, finite
// or not numbers, booleans, null, undefined), read exactly once and never through a getter (an
// accessor is refused, not called), within `limit` characters. The host copies this, not what the
// action holds, so what the guest measured is what crosses; the host checks its own rules again.
function plainCopy(values, limit, what) {
  let left = limit;
  const ancestors = [];
  const trail = [];
  function where() {
    return 'argument ' + trail.join('');
  }
  function refuse(ErrorClass, problem) {
    return new ErrorClass(what + ': ' + where() + ' ' + problem);
  }
  function spend(chars) {
    left -= chars;
    if (left < 0)
      throw new RangeError(what + ': the arguments are larger than ' + limit + ' characters');
  }
  function copy(value, depth) {
    switch (typeof value) {
      case 'string':
        spend(value.length + 2);
        return value;
      case 'number':
      case 'boolean':
      case 'undefined':
        spend(8);
        return value;
      case 'bigint':
      case 'symbol':
      case 'function':
        throw refuse(TypeError, 'is a ' + typeof value + ', not plain data');
    }
    if (value === null) {
      spend(4);
      return null;
    }
    if (ancestors.indexOf(value) !== -1)
      throw refuse(TypeError, 'refers back to itself (a cycle), not plain data');
    if (depth >= MAX_COPY_DEPTH)
      throw refuse(RangeError, 'is nested deeper than ' + MAX_COPY_DEPTH + ' levels');
    ancestors.push(value);
    let result;
    if (Array.isArray(value)) {
      const length = value.length;
      spend(2 + length);
      result = [];
      for (let i = 0; i < length; i++) {
        trail.push('[' + i + ']');
        result.push(copy(ownData(value, i), depth + 1));
        trail.pop();
      }
    } else {
      const prototype = Object.getPrototypeOf(value);
      if (prototype !== Object.prototype && prototype !== null)
        throw refuse(TypeError, 'is not plain data (an object of a class)');
      result = Object.create(null);
      // Own keys, then each property's descriptor once (Object.keys would read them a first time
      // to filter the enumerable ones, and a proxy may answer each read differently).
      const keys = Reflect.ownKeys(value);
      spend(2 + keys.length);
      for (let i = 0; i < keys.length; i++) {
        const key = keys[i];
        if (typeof key !== 'string') continue;
        const descriptor = Reflect.getOwnPropertyDescriptor(value, key);
        if (descriptor === undefined || !descriptor.enumerable) continue;
        spend(key.length);
        trail.push('.' + key);
        if (!('value' in descriptor)) throw refuse(TypeError, 'is a getter, not plain data');
        result[key] = copy(descriptor.value, depth + 1);
        trail.pop();
      }
    }
    ancestors.pop();
    return result;
  }
  function ownData(holder, key) {
    const descriptor = Reflect.getOwnPropertyDescriptor(holder, key);
    if (descriptor === undefined) return undefined;
    if (!('value' in descriptor)) throw refuse(TypeError, 'is a getter, not plain data');
    return descriptor.value;
  }
  const copies = [];
  for (let i = 0; i < values.length; i++) {
    trail.push(String(i + 1));
    copies.push(copy(values[i], 0));
    trail.pop();
  }
  return copies;
}
