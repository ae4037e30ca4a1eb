import { randomBytes } from 'node:crypto';
import { expect } from 'chai';
import { REDACTION_MARKER, createRedactor } from '../../lib/logs/redact.js';

const R = REDACTION_MARKER;
// 40 characters, no repeated 16-character window.
const TOKEN = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiIxMjMifQ.X';

/**
 * The rules restated naively, O(text × values): mark every covered character, then replace each
 * maximal run of marked characters (overlapping or touching matches) with one marker.
 */
function naiveRedact(text: string, values: readonly string[]): string {
  const covered = new Array<boolean>(text.length).fill(false);
  const mark = (pattern: string): void => {
    for (let at = text.indexOf(pattern); at !== -1; at = text.indexOf(pattern, at + 1)) {
      covered.fill(true, at, at + pattern.length);
    }
  };
  for (const value of values) {
    if (value.length < 8) continue;
    mark(value);
    for (let i = 0; i + 16 <= value.length; i++) mark(value.slice(i, i + 16));
  }
  let out = '';
  for (let i = 0; i < text.length; i++) {
    if (!covered[i]) out += text[i];
    else if (i === 0 || !covered[i - 1]) out += R;
  }
  return out;
}

describe('createRedactor', () => {
  const cases: Array<{ name: string; values: string[]; text: string; expected: string }> = [
    {
      name: 'a whole long value',
      values: [TOKEN],
      text: `subject_token=${TOKEN} done`,
      expected: `subject_token=${R} done`,
    },
    {
      name: 'every occurrence',
      values: [TOKEN],
      text: `${TOKEN} and ${TOKEN}`,
      expected: `${R} and ${R}`,
    },
    {
      name: 'a 16-character fragment from the start',
      values: [TOKEN],
      text: `prefix: ${TOKEN.slice(0, 16)}…`,
      expected: `prefix: ${R}…`,
    },
    {
      name: 'a fragment from the middle',
      values: [TOKEN],
      text: `mid ${TOKEN.slice(10, 30)} mid`,
      expected: `mid ${R} mid`,
    },
    {
      name: 'a fragment from the end',
      values: [TOKEN],
      text: `tail=${TOKEN.slice(-16)}`,
      expected: `tail=${R}`,
    },
    {
      name: 'nothing for a 15-character fragment',
      values: [TOKEN],
      text: `short ${TOKEN.slice(5, 20)} short`,
      expected: `short ${TOKEN.slice(5, 20)} short`,
    },
    {
      name: 'a whole value of 8 to 15 characters',
      values: ['hunter2!!'],
      text: 'password is hunter2!! ok',
      expected: `password is ${R} ok`,
    },
    {
      name: 'nothing for a fragment of a value under 16 characters',
      values: ['abcdefghijklmno'],
      text: 'abcdefghijklmn and bcdefghijklmno',
      expected: 'abcdefghijklmn and bcdefghijklmno',
    },
    {
      name: 'nothing for values under 8 characters',
      values: ['secret1', 'true', ''],
      text: 'secret1 is true',
      expected: 'secret1 is true',
    },
    {
      name: 'overlapping values as one marker',
      values: ['0123456789abcdefghij', 'fghijKLMNOPQRSTUVWXY'],
      text: 'x 0123456789abcdefghijKLMNOPQRSTUVWXY y',
      expected: `x ${R} y`,
    },
    {
      name: 'adjacent values as one marker',
      values: ['first-secret-value', 'second-secret-value'],
      text: '<first-secret-valuesecond-secret-value>',
      expected: `<${R}>`,
    },
    {
      name: 'values one character apart as two markers',
      values: ['first-secret-value', 'second-secret-value'],
      text: 'first-secret-value second-secret-value',
      expected: `${R} ${R}`,
    },
    {
      name: 'a short value inside a long fragment once',
      values: [TOKEN, TOKEN.slice(3, 12)],
      text: `[${TOKEN}]`,
      expected: `[${R}]`,
    },
    {
      name: 'a run of a repetitive secret, whatever its length',
      values: ['a'.repeat(25)],
      text: `${'a'.repeat(15)} | ${'a'.repeat(16)} | ${'a'.repeat(100)}`,
      expected: `${'a'.repeat(15)} | ${R} | ${R}`,
    },
    {
      name: 'non-ASCII values (UTF-16 code units, surrogate pairs)',
      values: ['pässwörd-🔑-geheim-123'],
      text: 'key: pässwörd-🔑-geheim-123.',
      expected: `key: ${R}.`,
    },
    {
      name: 'text with no value in it unchanged',
      values: [TOKEN, 'hunter2!!'],
      text: 'nothing to see here',
      expected: 'nothing to see here',
    },
  ];

  for (const { name, values, text, expected } of cases) {
    it(`redacts ${name}`, () => {
      expect(createRedactor(values)(text)).to.equal(expected);
      expect(naiveRedact(text, values)).to.equal(expected);
    });
  }

  it('returns the text itself when there is nothing to redact', () => {
    const text = 'a console line';
    expect(createRedactor([])(text)).to.equal(text);
    expect(createRedactor(['short'])(text)).to.equal(text);
    expect(createRedactor([TOKEN])('')).to.equal('');
  });

  it('ignores entries that are not strings', () => {
    const redact = createRedactor([undefined, 42, TOKEN] as unknown as string[]);
    expect(redact(`t=${TOKEN}`)).to.equal(`t=${R}`);
  });

  it('agrees with the naive rules on random text over a tiny alphabet', () => {
    // Two letters make overlaps, repeats and near-misses frequent.
    const letters = (n: number): string =>
      Array.from(randomBytes(n), (b) => (b & 1 ? 'a' : 'b')).join('');
    for (let round = 0; round < 300; round++) {
      const values = Array.from({ length: 1 + (round % 4) }, (_, i) =>
        letters(6 + ((round + i * 7) % 24)),
      );
      const text = letters(20 + (round % 200));
      const redact = createRedactor(values);
      expect(redact(text), JSON.stringify({ values, text })).to.equal(naiveRedact(text, values));
    }
  });

  it('redacts a 1 MB line with 100 secrets and two tokens in reasonable time', function () {
    const secrets = Array.from({ length: 100 }, () => randomBytes(48).toString('base64'));
    const subjectToken = randomBytes(3072).toString('base64url'); // 4096 characters
    const shortSecret = 'pin-0042-xyz';
    const values = [subjectToken, TOKEN, shortSecret, ...secrets];
    const filler = randomBytes(786_432).toString('base64'); // 1 MiB of base64
    const pieces = [
      secrets[0]!,
      subjectToken.slice(1000, 1016),
      shortSecret,
      secrets[99]!.slice(20, 40),
      subjectToken,
    ];
    const chunk = Math.floor(filler.length / pieces.length);
    const text = pieces
      .map((piece, i) => `${filler.slice(i * chunk, (i + 1) * chunk)} ${piece} `)
      .join('');
    expect(text.length).to.be.greaterThan(1_000_000);

    const started = performance.now();
    const redact = createRedactor(values);
    const redacted = redact(text);
    const elapsed = performance.now() - started;

    expect(redacted.split(R)).to.have.length(pieces.length + 1);
    for (const piece of pieces) expect(redacted).not.to.include(piece);
    expect(redacted.length).to.equal(
      text.length - pieces.reduce((n, p) => n + p.length, 0) + pieces.length * R.length,
    );
    expect(elapsed, `${elapsed.toFixed(0)} ms`).to.be.lessThan(1500);
  });

  it('turns a 1 MB line made only of a repeated token into a single marker quickly', () => {
    const token = randomBytes(3072).toString('base64url');
    const text = token.repeat(256);
    const started = performance.now();
    const redacted = createRedactor([token])(text);
    const elapsed = performance.now() - started;
    expect(redacted).to.equal(R);
    expect(elapsed, `${elapsed.toFixed(0)} ms`).to.be.lessThan(1500);
  });
});
