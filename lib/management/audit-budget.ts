/**
 * How many entries of one kind may be written per window: the Management API logs requests
 * refused for a missing or invalid token with it, so a flood of bad tokens writes a few entries
 * a minute, not one per request, to every sink. What it holds back it counts, and the next entry
 * it admits says how many were not written.
 */
export class AuditBudget {
  readonly #limit: number;
  readonly #windowMs: number;
  readonly #now: () => number;
  #windowStart = Number.NEGATIVE_INFINITY;
  #admitted = 0;
  #suppressed = 0;

  constructor(limit: number, windowMs: number, now: () => number = Date.now) {
    this.#limit = limit;
    this.#windowMs = windowMs;
    this.#now = now;
  }

  /**
   * `undefined` when the window's entries are spent (this one is counted); otherwise the number
   * held back since the last entry admitted, which the admitted entry reports.
   */
  admit(): number | undefined {
    const now = this.#now();
    if (now - this.#windowStart >= this.#windowMs) {
      this.#windowStart = now;
      this.#admitted = 0;
    }
    if (this.#admitted >= this.#limit) {
      this.#suppressed += 1;
      return undefined;
    }
    this.#admitted += 1;
    const suppressed = this.#suppressed;
    this.#suppressed = 0;
    return suppressed;
  }
}
