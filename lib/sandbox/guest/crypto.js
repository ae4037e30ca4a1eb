// Guest code (see encoding.js): the `crypto` global. Randomness comes from the host (Node's CSPRNG)
// because V8's Math.random is not one; timingSafeEqual compares in the guest without an early exit.

function comparableBytes(value, name) {
  if (typeof value === 'string') return utf8Encode(value);
  if (value instanceof ArrayBuffer || ArrayBuffer.isView(value)) return toByteView(value, name);
  throw new TypeError('crypto.timingSafeEqual: ' + name + ' must be a string or a Uint8Array');
}

const crypto = {
  randomUUID() {
    return hostRandom('uuid', 0);
  },
  getRandomValues(array) {
    if (
      !ArrayBuffer.isView(array) ||
      array instanceof DataView ||
      array instanceof Float32Array ||
      array instanceof Float64Array
    ) {
      throw new TypeError('crypto.getRandomValues: the argument must be an integer TypedArray');
    }
    if (array.byteLength > 65536) {
      const error = new Error(
        'crypto.getRandomValues: ' + array.byteLength + ' bytes requested, at most 65536 allowed',
      );
      error.name = 'QuotaExceededError';
      throw error;
    }
    if (array.byteLength > 0) {
      new Uint8Array(array.buffer, array.byteOffset, array.byteLength).set(
        hostRandom('bytes', array.byteLength),
      );
    }
    return array;
  },
  // Constant-time in the contents: the loop always covers the longer input and never exits early;
  // only the lengths are observable.
  timingSafeEqual(a, b) {
    const left = comparableBytes(a, 'a');
    const right = comparableBytes(b, 'b');
    const length = Math.max(left.length, right.length);
    let difference = left.length ^ right.length;
    for (let i = 0; i < length; i++) difference |= (left[i] | 0) ^ (right[i] | 0);
    return difference === 0;
  },
};
