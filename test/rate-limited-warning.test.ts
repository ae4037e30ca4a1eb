import { expect } from 'chai';
import { describeError, rateLimitedWarning } from '../lib/rate-limited-warning.js';

describe('rateLimitedWarning', () => {
  function setup() {
    let ms = 1_000_000;
    const printed: string[] = [];
    const warn = rateLimitedWarning({
      intervalMs: 60_000,
      warn: (message) => printed.push(message),
      now: () => ms,
    });
    return { warn, printed, advance: (by: number) => (ms += by) };
  }

  it('prints the first warning of a subject at once, then at most one per interval with a count', () => {
    const { warn, printed, advance } = setup();
    const sink = {};
    warn(sink, 'sink failed: 1');
    warn(sink, 'sink failed: 2');
    advance(59_999);
    warn(sink, 'sink failed: 3');
    expect(printed).to.eql(['sink failed: 1']);
    advance(1);
    warn(sink, 'sink failed: 4');
    expect(printed).to.eql(['sink failed: 1', 'sink failed: 4 (2 similar warnings held back)']);
    advance(60_000);
    warn(sink, 'sink failed: 5');
    expect(printed.at(-1)).to.equal('sink failed: 5');
  });

  it('limits each subject on its own', () => {
    const { warn, printed } = setup();
    const a = {};
    const b = {};
    warn(a, 'a');
    warn(b, 'b');
    warn(a, 'a again');
    expect(printed).to.eql(['a', 'b']);
  });

  it('uses console.warn by default and swallows a throwing warn', () => {
    const original = console.warn;
    const printed: unknown[] = [];
    console.warn = (message: unknown) => printed.push(message);
    try {
      rateLimitedWarning()({}, 'to the console');
    } finally {
      console.warn = original;
    }
    expect(printed).to.eql(['to the console']);
    const throwing = rateLimitedWarning({
      warn: () => {
        throw new Error('console closed');
      },
    });
    expect(() => throwing({}, 'x')).not.to.throw();
  });
});

describe('describeError', () => {
  it('names the error and cuts long messages; says only the type of a non-error', () => {
    expect(describeError(new TypeError('bad'))).to.equal('TypeError: bad');
    const long = describeError(new Error('x'.repeat(1000)));
    expect(long).to.have.length(300);
    expect(long.endsWith('…')).to.equal(true);
    expect(describeError('a string with who knows what')).to.equal('non-error string thrown');
    expect(describeError(undefined)).to.equal('non-error undefined thrown');
  });
});
