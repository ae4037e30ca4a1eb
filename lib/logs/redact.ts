import { randomInt } from 'node:crypto';

/** What replaces a redacted run of text. */
export const REDACTION_MARKER = '[redacted]';

/**
 * Values shorter than this are not redacted at all: a 4-character secret such as `true` or
 * `1234` would match all over ordinary log text and make the lines unreadable, while offering
 * little to protect. Such values should not be secrets.
 */
export const MIN_REDACTED_VALUE_LENGTH = 8;

/**
 * Length of the fragments of long values that are redacted on their own: a console line that
 * prints any 16 consecutive characters of a token or secret (a slice, a prefix "for debugging")
 * loses them. Values of 8–15 characters are only redacted whole.
 */
export const REDACTED_FRAGMENT_LENGTH = 16;

/** Replaces secret values in a piece of text; see {@link createRedactor}. */
export type Redactor = (text: string) => string;

/**
 * Builds a redactor for `values` (tokens, secrets, client credentials). The returned function
 * replaces, in any text it is given:
 * - every occurrence of each value of at least {@link MIN_REDACTED_VALUE_LENGTH} characters, and
 * - every {@link REDACTED_FRAGMENT_LENGTH}-character substring of each value at least that long,
 *
 * with {@link REDACTION_MARKER}; overlapping and adjacent matches become a single marker, so the
 * output does not even reveal how the matches were split. Values shorter than 8 characters are
 * ignored (see {@link MIN_REDACTED_VALUE_LENGTH}); non-string entries are ignored.
 *
 * Cost: building is linear in the total length of the values; each call is linear in the text's
 * length (a rolling hash over the text, each hit verified character by character), so a 1 MB
 * console line is cheap. The hash base is random per redactor, so text cannot be crafted to
 * collide with it.
 */
export function createRedactor(values: readonly string[]): Redactor {
  const distinct = [
    ...new Set(
      values.filter((v) => typeof v === 'string' && v.length >= MIN_REDACTED_VALUE_LENGTH),
    ),
  ];
  if (distinct.length === 0) return (text) => text;

  const corpus = distinct.join('');
  const base = randomInt(1, 2 ** 30) * 2 + 1;
  // Long values: every 16-character window (which also covers whole occurrences, as merged
  // windows). Short values (8–15): whole, looked up by their first 8 characters.
  const fragments = new PatternIndex(corpus, REDACTED_FRAGMENT_LENGTH, base);
  const shortValues = new PatternIndex(corpus, MIN_REDACTED_VALUE_LENGTH, base);
  let offset = 0;
  for (const value of distinct) {
    if (value.length >= REDACTED_FRAGMENT_LENGTH) {
      fragments.addAllWindows(offset, value.length);
    } else {
      shortValues.add(offset, value.length);
    }
    offset += value.length;
  }
  const indexes = [fragments, shortValues].filter((index) => index.size > 0);

  return (text: string): string => {
    if (typeof text !== 'string' || text.length < MIN_REDACTED_VALUE_LENGTH) return text;
    // coverEnd[i] > 0: some match starts at i and ends (exclusive) at coverEnd[i].
    let coverEnd: Int32Array | undefined;
    for (const index of indexes) {
      index.scan(text, (start, end) => {
        coverEnd ??= new Int32Array(text.length);
        if (coverEnd[start]! < end) coverEnd[start] = end;
      });
    }
    return coverEnd ? replaceCovered(text, coverEnd) : text;
  };
}

/** Replaces each maximal run of overlapping or touching matches with one marker. */
function replaceCovered(text: string, coverEnd: Int32Array): string {
  const parts: string[] = [];
  let copiedUpTo = 0;
  let i = 0;
  while (i < text.length) {
    const firstEnd = coverEnd[i]!;
    if (firstEnd === 0) {
      i++;
      continue;
    }
    let end = firstEnd;
    // `j <= end`: a match starting exactly where the run ends touches it and joins it.
    for (let j = i + 1; j <= end && j < text.length; j++) {
      const e = coverEnd[j]!;
      if (e > end) end = e;
    }
    parts.push(text.slice(copiedUpTo, i), REDACTION_MARKER);
    copiedUpTo = end;
    i = end;
  }
  parts.push(text.slice(copiedUpTo));
  return parts.join('');
}

/**
 * Patterns (ranges of `corpus`) keyed by a polynomial rolling hash of their first `width`
 * characters. Buckets are chained through `next` rather than arrays: long secrets add a pattern
 * per character, and identical patterns are stored once.
 */
class PatternIndex {
  readonly #corpus: string;
  readonly #width: number;
  readonly #base: number;
  // base^(width-1) mod 2^32, to drop the outgoing character when rolling.
  readonly #topPower: number;
  readonly #heads = new Map<number, number>();
  readonly #starts: number[] = [];
  readonly #lengths: number[] = [];
  readonly #next: number[] = [];

  constructor(corpus: string, width: number, base: number) {
    this.#corpus = corpus;
    this.#width = width;
    this.#base = base;
    let power = 1;
    for (let k = 1; k < width; k++) power = Math.imul(power, base);
    this.#topPower = power;
  }

  get size(): number {
    return this.#starts.length;
  }

  /** Adds `corpus[start, start + length)` as one pattern. */
  add(start: number, length: number): void {
    this.#insert(this.#hash(this.#corpus, start), start, length);
  }

  /** Adds every `width`-character window of `corpus[start, start + length)`. */
  addAllWindows(start: number, length: number): void {
    const corpus = this.#corpus;
    const width = this.#width;
    let hash = this.#hash(corpus, start);
    for (let i = start; ; i++) {
      this.#insert(hash, i, width);
      if (i + width >= start + length) break;
      hash = this.#roll(hash, corpus.charCodeAt(i), corpus.charCodeAt(i + width));
    }
  }

  /** Calls `onMatch(start, end)` for every pattern occurrence in `text`. */
  scan(text: string, onMatch: (start: number, end: number) => void): void {
    const width = this.#width;
    if (text.length < width) return;
    let hash = this.#hash(text, 0);
    for (let i = 0; ; i++) {
      for (let p = this.#heads.get(hash >>> 2) ?? -1; p !== -1; p = this.#next[p]!) {
        const length = this.#lengths[p]!;
        if (i + length <= text.length && this.#matches(text, i, this.#starts[p]!, length)) {
          onMatch(i, i + length);
        }
      }
      if (i + width >= text.length) break;
      hash = this.#roll(hash, text.charCodeAt(i), text.charCodeAt(i + width));
    }
  }

  #insert(hash: number, start: number, length: number): void {
    // The top 30 bits are the best mixed, and keep the key a small integer for the Map.
    const key = hash >>> 2;
    const head = this.#heads.get(key) ?? -1;
    for (let p = head; p !== -1; p = this.#next[p]!) {
      if (
        this.#lengths[p] === length &&
        this.#matches(this.#corpus, start, this.#starts[p]!, length)
      ) {
        return;
      }
    }
    this.#starts.push(start);
    this.#lengths.push(length);
    this.#next.push(head);
    this.#heads.set(key, this.#starts.length - 1);
  }

  #hash(text: string, start: number): number {
    let hash = 0;
    for (let k = 0; k < this.#width; k++) {
      hash = (Math.imul(hash, this.#base) + text.charCodeAt(start + k)) | 0;
    }
    return hash;
  }

  #roll(hash: number, outgoing: number, incoming: number): number {
    return (Math.imul(hash - Math.imul(outgoing, this.#topPower), this.#base) + incoming) | 0;
  }

  #matches(text: string, at: number, patternStart: number, length: number): boolean {
    const corpus = this.#corpus;
    for (let k = 0; k < length; k++) {
      if (text.charCodeAt(at + k) !== corpus.charCodeAt(patternStart + k)) return false;
    }
    return true;
  }
}
