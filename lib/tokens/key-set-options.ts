import type { KeyObject } from 'node:crypto';
import type { SigningAlg } from './jws.js';
import type { SigningKeyInput } from './key-import.js';
import type { KeyStore } from './key-store.js';
import type { Signer } from './signer.js';

/** A public key the router can check its own tokens with (node:crypto, no JWK import per call). */
export interface VerificationKey {
  readonly kid: string;
  readonly alg: SigningAlg;
  readonly publicKey: KeyObject;
}

/** Options of {@link KeySet}. */
export interface KeySetOptions {
  /**
   * The host's signing keys (private JWKs and `Signer`s). The first key of each alg signs; later
   * keys of the same alg are published as `next`. Absent without a store: development mode, where
   * the set generates its own keys (they die with the process).
   */
  keys?: ReadonlyArray<SigningKeyInput | Signer>;
  /**
   * Where the schedule lives, shared by every instance. Without `keys` the set generates the keys
   * it needs into it (their private JWKs kept there); `keys` seed each alg it has no key of yet
   * (their public parts only), and lend their private parts to the kids it names.
   */
  store?: KeyStore;
  /** Shortest time a retired key stays in the JWKS, in seconds. Default 86400 (one day). */
  gracePeriodSeconds?: number;
  /** The JWKS `max-age` in seconds: a rotated-to key signs no sooner than this after it was published. Default 0. */
  publishAheadSeconds?: number;
  /** How often a store's schedule is read again, in ms. Default 60000. */
  refreshIntervalMs?: number;
  /** Told when reading the store in the background failed. Default `console.warn`, once a minute. */
  warn?: (message: string) => void;
  /** Clock in milliseconds since the epoch; default `Date.now`. For tests. */
  now?: () => number;
}
