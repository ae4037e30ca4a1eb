import type { Request, Response } from 'express';
import { InvalidDpopProof } from '../errors.js';
import type { Client } from '../registry/clients.js';
import type { ReplayStore } from '../stores/replay-store.js';
import type { DpopNonces } from '../tokens/dpop-nonce.js';
import { verifyDpopProof } from '../tokens/dpop-proof.js';
import type { DpopProof } from '../tokens/dpop-proof.js';
import { storeFailure } from './store-failure.js';

/** What the token endpoint's DPoP checks run on. */
export interface DpopCheckOptions {
  /** The token endpoint's URL as configured: every proof's `htu`. */
  url: string;
  maxAge: number;
  nonces: DpopNonces | undefined;
  /** Remembers the proofs' `jti`s; the same store as client assertions'. */
  replayStore: ReplayStore;
  /** Seconds since the epoch; default now. */
  now?: () => number;
}

/** DPoP (RFC 9449) at the token endpoint, in the two steps a request goes through. */
export interface DpopCheck {
  /**
   * Before client authentication: the request's proof verified, or `undefined` without a `DPoP`
   * header. With server nonces, a request that sent a proof gets the current nonce in
   * `DPoP-Nonce`, whatever the answer.
   */
  read(req: Request, res: Response): Promise<DpopProof | undefined>;
  /**
   * Once the client is known: a client registered with `dpop_bound_access_tokens` must have sent
   * a proof, and a proof is used once (its `jti`, per key, through the replay store).
   */
  accept(client: Client, proof: DpopProof | undefined): Promise<void>;
}

/** Builds the token endpoint's {@link DpopCheck}. */
export function dpopCheck(options: DpopCheckOptions): DpopCheck {
  const { url, maxAge, nonces, replayStore } = options;
  const clock = options.now ?? (() => Math.floor(Date.now() / 1000));

  return {
    async read(req, res) {
      const header = dpopHeader(req);
      if (header === undefined) return undefined;
      const now = clock();
      if (nonces !== undefined) res.setHeader('DPoP-Nonce', nonces.current(now));
      return verifyDpopProof(header, { method: req.method, url, maxAge, nonces, now });
    },

    async accept(client, proof) {
      if (proof === undefined) {
        if (client.dpop_bound_access_tokens) {
          throw new InvalidDpopProof('a DPoP proof is required for this client');
        }
        return;
      }
      let firstUse: boolean;
      try {
        firstUse = await replayStore.consume(
          `dpop:${proof.jkt}:${proof.jti}`,
          proof.acceptableUntil,
        );
      } catch (err) {
        throw storeFailure(err);
      }
      if (!firstUse) throw new InvalidDpopProof('the DPoP proof jti was already used');
    },
  };
}

/** The request's one `DPoP` header; more than one is a malformed proof (RFC 9449 section 4.3). */
function dpopHeader(req: Request): string | undefined {
  let count = 0;
  for (let i = 0; i < req.rawHeaders.length; i += 2) {
    if (req.rawHeaders[i]!.toLowerCase() === 'dpop') count += 1;
  }
  if (count === 0) return undefined;
  if (count > 1) throw new InvalidDpopProof('the request must carry exactly one DPoP header');
  const value = req.headers.dpop;
  return typeof value === 'string' ? value : '';
}
