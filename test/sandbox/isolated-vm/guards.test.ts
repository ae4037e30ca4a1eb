import { expect } from 'chai';
import type { ExecutionGate } from '../../../lib/sandbox/execution-gate.js';
import { PendingCapabilities, evaluate, sandboxRunner } from '../fixtures/sandbox-helpers.js';

const LIMIT = ' (a limit of the action sandbox)';
/** These executions build inputs of a megabyte and more: a budget to match. */
const GENEROUS = {
  limits: { timeoutMs: 20_000, cpuTimeMs: 3_000, memoryMb: 64, maxConcurrency: 8 },
};

// The guards on built-ins V8 cannot interrupt (guest/guards.js): refused beyond their limit with a
// RangeError naming it, unchanged below it. That a guarded call at its limit does not hold the
// event loop is shown over HTTP in hostile-exchanges.test.ts.
describe('the sandbox: built-ins V8 cannot interrupt are guarded by size', function () {
  this.timeout(20_000);
  let runner: ExecutionGate;
  before(() => {
    runner = sandboxRunner({ capabilities: new PendingCapabilities() });
  });
  after(() => runner.close());

  it('refuses each guarded built-in beyond its limit, with a message naming it', async () => {
    const result = await evaluate(
      runner,
      `
      const refusal = (fn) => { try { fn(); return 'accepted'; } catch (e) { return e.name + ': ' + e.message; } };
      const mega = 'a'.repeat(1024 * 1024);
      const over = mega + 'b';
      const long = []; long.length = 300000;
      return [
        refusal(() => 'ab'.repeat(600000)),
        refusal(() => ''.padStart(2e6)),
        refusal(() => ''.padEnd(2e6, 'x')),
        refusal(() => over.split(',')),
        refusal(() => over.normalize()),
        refusal(() => over.toUpperCase()),
        refusal(() => encodeURIComponent(over)),
        refusal(() => JSON.parse(over)),
        refusal(() => JSON.parse('['.repeat(600) + ']'.repeat(600))),
        refusal(() => JSON.stringify({ a: mega, b: mega })),
        refusal(() => mega.slice(0, 70000).replace(/a/g, '$&$&')),
        refusal(() => long.sort()),
        refusal(() => long.toReversed()),
        refusal(() => [long].flat()),
        refusal(() => [].concat(long)),
        refusal(() => Object.keys(long)),
        refusal(() => Array.from({ length: 3e6 })),
        refusal(() => new Array(3e6).fill(0)),
        refusal(() => Math.max.apply(null, { length: 1e5 })),
        refusal(() => (2n ** 300000n).toString()),
        refusal(() => mega.split('').join('')),
      ];
      `,
      GENEROUS,
    );
    expect(result).to.deep.equal([
      `RangeError: String.prototype.repeat: the result would be longer than 1048576 characters${LIMIT}`,
      `RangeError: String.prototype.padStart: the result would be longer than 1048576 characters${LIMIT}`,
      `RangeError: String.prototype.padEnd: the result would be longer than 1048576 characters${LIMIT}`,
      `RangeError: String.prototype.split: the string is longer than 1048576 characters${LIMIT}`,
      `RangeError: String.prototype.normalize: the string is longer than 1048576 characters${LIMIT}`,
      `RangeError: String.prototype.toUpperCase: the string is longer than 1048576 characters${LIMIT}`,
      `RangeError: encodeURIComponent: the string is longer than 1048576 characters${LIMIT}`,
      `RangeError: JSON.parse: the text is longer than 1048576 characters${LIMIT}`,
      `RangeError: JSON.parse: the text nests deeper than 512 levels${LIMIT}`,
      `RangeError: JSON.stringify: the result would be longer than 1048576 characters${LIMIT}`,
      `RangeError: String.prototype.replace: a global replace with $ patterns takes a string of at most 65536 characters (pass a function)${LIMIT}`,
      `RangeError: Array.prototype.sort: the array is longer than 262144 elements${LIMIT}`,
      `RangeError: Array.prototype.toReversed: the array is longer than 262144 elements${LIMIT}`,
      `RangeError: Array.prototype.flat: the array is longer than 262144 elements${LIMIT}`,
      `RangeError: Array.prototype.concat: the array is longer than 262144 elements${LIMIT}`,
      `RangeError: Object.keys: the array is longer than 262144 elements${LIMIT}`,
      `RangeError: Array.from: the result would be longer than 262144 elements${LIMIT}`,
      `RangeError: Array.prototype.fill: the array is longer than 262144 elements${LIMIT}`,
      `RangeError: Function.prototype.apply: more than 65536 arguments${LIMIT}`,
      `RangeError: BigInt.prototype.toString: the number has more than 262144 bits${LIMIT}`,
      `RangeError: Array.prototype.join: the array is longer than 262144 elements${LIMIT}`,
    ]);
  });

  it('leaves what they guard working as the standard says', async () => {
    const result = await evaluate(
      runner,
      `
      const big = 'ab,'.repeat(100000);
      class Point { constructor() { this.x = 1; this.y = 2; this.z = 3; } toJSON() { return { x: this.x, y: this.y }; } }
      return [
        JSON.stringify({ b: 1, a: [1, { a: 2, c: 3 }], c: 'x' }, ['c', 'a', 'a']),
        JSON.stringify({ n: 1, s: 's' }, function (key, value) { return typeof value === 'number' ? value + 1 : value; }, 2),
        JSON.stringify([new Point(), new String('s'), 1n === 1n]),
        JSON.parse('{"a":[1,{"b":2}]}', (key, value) => (key === 'b' ? value * 10 : value)),
        'a-b-c'.replace(/-/g, '[$&]') + ' ' + 'x.y'.replaceAll('.', '$$') + ' ' + 'aaa'.replace('a', 'b'),
        big.replaceAll('ab', 'c').length + ' ' + big.replace(/b/g, '').length + ' ' + big.split(',').length,
        'xyz'.repeat(3) + ''.padStart(3, '-') + 'é'.normalize('NFD').length,
        [3, 1, 2].sort().join('') + [1, [2, [3]]].flat(Infinity).join('') + [1, 2].toReversed().join(''),
        String([1, [2, 3]]) + Array.from('ab').join('') + Math.max.apply(null, [1, 5, 2]),
        (2n ** 64n).toString() + ' ' + (255n).toString(16),
        [JSON.parse.name, JSON.parse.length, 'x'.split.name, Array.prototype.join.length],
      ];
      `,
      GENEROUS,
    );
    expect(result).to.deep.equal([
      '{"c":"x","a":[1,{"c":3,"a":2}]}',
      '{\n  "n": 2,\n  "s": "s"\n}',
      '[{"x":1,"y":2},"s",true]',
      { a: [1, { b: 20 }] },
      'a[-]b[-]c x$y baa',
      '200000 200000 100001',
      'xyzxyzxyz---2',
      '12312321',
      '1,2,3ab5',
      '18446744073709551616 ff',
      ['parse', 2, 'split', 1],
    ]);
  });
});
