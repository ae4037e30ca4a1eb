import { createHmac } from 'node:crypto';

/**
 * DPoP server nonces (RFC 9449 section 8) that every instance given the same secret issues and accepts
 * alike, with nothing stored: the nonce of a time window is the HMAC-SHA-256 of the window's
 * number under the secret. A nonce is handed out during its window and accepted during that
 * window and the next, so one fetched just before a window ends still works.
 */
export class DpopNonces {
  readonly #secret: string;
  readonly #lifetime: number;

  /** `lifetime`: the window's length in seconds. */
  constructor(secret: string, lifetime: number) {
    this.#secret = secret;
    this.#lifetime = lifetime;
  }

  /** The nonce to hand out at `now` (seconds since the epoch). */
  current(now: number): string {
    return this.#of(Math.floor(now / this.#lifetime));
  }

  /** Whether `nonce` is the current window's or the previous one's. */
  accepts(nonce: string, now: number): boolean {
    const window = Math.floor(now / this.#lifetime);
    return nonce === this.#of(window) || nonce === this.#of(window - 1);
  }

  #of(window: number): string {
    return createHmac('sha256', this.#secret).update(`dpop-nonce:${window}`).digest('base64url');
  }
}
