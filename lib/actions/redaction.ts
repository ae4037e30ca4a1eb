import { createRedactor } from '../logs/redact.js';

/**
 * The values one token request must never write to the log (its tokens, the client's secret or
 * assertion, the secrets of every action it ran), and one redactor over all of them, built on
 * first use: most requests log no console line and no cause. A value added later makes the next
 * call build a new redactor over every value, since two redactors applied in a row would let a
 * fragment survive where one value's redaction cuts into another's.
 */
export class Redaction {
  readonly #values: string[] = [];
  #redactor: ((text: string) => string) | undefined;

  constructor(values: Iterable<unknown> = []) {
    this.add(values);
  }

  /** Adds the string values among `values`; anything else is ignored. */
  add(values: Iterable<unknown>): void {
    for (const value of values) if (typeof value === 'string') this.#values.push(value);
    this.#redactor = undefined;
  }

  /** `text` with every value (and every long fragment of one) replaced by a marker. */
  readonly redact = (text: string): string => {
    this.#redactor ??= createRedactor(this.#values);
    return this.#redactor(text);
  };
}
