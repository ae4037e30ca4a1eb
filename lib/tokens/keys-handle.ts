import type { SigningAlg } from './jws.js';
import type { PublicJwk, SigningKeyInput } from './key-import.js';
import type { KeyInfo, KeyRotation } from './key-schedule.js';
import type { KeySet } from './key-set.js';
import type { Signer } from './signer.js';

/** The router's `keys` handle: publishing and rotation, never a signing capability. */
export interface KeysHandle {
  /** The JWKS document (current, next, then retired keys), to publish from your own `jwks_uri`. */
  jwks(): Promise<{ keys: PublicJwk[] }>;
  /** Every published key: metadata only. */
  list(): Promise<KeyInfo[]>;
  /**
   * Rotates the keys of `alg` (or of every alg): the next key signs once it has been published
   * for the JWKS `max-age`, and the current one stays published for the longest token lifetime
   * after it stops signing. Development keys and keys of a key store without `options.keys` get
   * a fresh next key; with your own keys, `add()` one first.
   */
  rotate(alg?: SigningAlg): Promise<KeyRotation[]>;
  /**
   * Adds a private JWK or a `Signer` as `next`: published at once, signing from a later
   * `rotate()`. With a key store, a private JWK is kept there for every instance; a `Signer`
   * must be in `options.keys` of every other instance too.
   */
  add(key: SigningKeyInput | Signer): Promise<KeyInfo>;
}

/** The narrow handle of `set`: nothing on it can sign. */
export function keysHandle(set: KeySet): KeysHandle {
  return Object.freeze({
    jwks: async () => {
      await set.whenReady();
      return set.jwks();
    },
    list: () => set.list(),
    rotate: (alg?: SigningAlg) => set.rotate(alg),
    add: (key: SigningKeyInput | Signer) => set.add(key),
  });
}
