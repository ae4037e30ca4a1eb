import { hash, randomBytes, timingSafeEqual } from 'node:crypto';
import { TemporarilyUnavailable } from '../errors.js';
import {
  parseClientSecretHash,
  verifyParsedHash,
  type ParsedClientSecretHash,
} from '../registry/client-secret-hash.js';
import type { Client } from '../registry/clients.js';
import { quoteForLog } from './quote-for-log.js';
import type { CredentialAuthMethod } from './request-credentials.js';

/** Result of {@link checkClientSecret}: the client, or why it did not authenticate. */
export type ClientSecretCheck =
  | { readonly ok: true; readonly client: Client }
  | { readonly ok: false; readonly privateCause: string };

// One-shot `hash` costs about half of createHash().update().digest() for a short input.
const sha256 = (value: string | Buffer): Buffer => hash('sha256', value, 'buffer');

/**
 * Compared against when there is no stored secret (unknown client, client without a secret), so
 * those paths cost the same as a real comparison and response time does not reveal which client
 * ids exist. Random per process: no presented secret can ever match it.
 */
const DUMMY_DIGEST = sha256(randomBytes(32));

/**
 * What a client's presented secret is compared with, per client record (records are frozen and
 * replaced on change, so a changed secret starts afresh): the SHA-256 of each secret in clear,
 * and of each secret that matched one of its hashes (so a hash is checked once per secret and
 * process, not on every request).
 */
interface SecretState {
  readonly digests: Buffer[];
  readonly hashes: readonly ParsedClientSecretHash[];
  /** Hash checks in progress, by the presented secret's digest: one check per secret at once. */
  readonly checking: Map<string, Promise<boolean>>;
}

const states = new WeakMap<Client, SecretState>();

function stateOf(client: Client): SecretState {
  let state = states.get(client);
  if (state === undefined) {
    state = {
      digests: client.client_secrets.map((secret) => sha256(secret)),
      hashes: client.client_secret_hashes.map((stored, i) =>
        parseClientSecretHash(stored, `client_secret_hash[${i}]`),
      ),
      checking: new Map(),
    };
    states.set(client, state);
  }
  return state;
}

/**
 * Checks a presented client secret for `client_secret_basic` / `client_secret_post`.
 *
 * Both sides are hashed with SHA-256 before `timingSafeEqual`: equal-length digests make the
 * comparison constant-time whatever the secrets' lengths (`timingSafeEqual` throws on unequal
 * lengths, and an early length check would leak the length). The comparisons always run, before
 * any other verdict, so every failure costs the same. A secret stored as a scrypt hash is checked
 * against it only when nothing else matched, with the work bounded by {@link HashCheckGate}; a
 * secret that matched is then remembered by its SHA-256 like a secret in clear.
 */
export async function checkClientSecret(
  client: Client | undefined,
  clientId: string,
  presentedSecret: string,
  method: Extract<CredentialAuthMethod, 'client_secret_basic' | 'client_secret_post'>,
  gate: HashCheckGate = HASH_CHECKS,
): Promise<ClientSecretCheck> {
  const presented = sha256(presentedSecret);
  const state = client === undefined ? undefined : stateOf(client);
  let matches = false;
  for (const digest of state?.digests.length ? state.digests : [DUMMY_DIGEST]) {
    matches = timingSafeEqual(presented, digest) || matches;
  }
  if (client === undefined || state === undefined) {
    return { ok: false, privateCause: `unknown client ${quoteForLog(clientId)} (${method})` };
  }
  if (client.token_endpoint_auth_method !== method) {
    return {
      ok: false,
      privateCause: `client is registered for ${client.token_endpoint_auth_method}, not ${method}`,
    };
  }
  if (client.client_secrets.length + state.hashes.length === 0) {
    return { ok: false, privateCause: `client has no secret and cannot use ${method}` };
  }
  if (!matches && state.hashes.length > 0) {
    matches = await matchesAHash(state, presentedSecret, presented, gate);
  }
  if (!matches) return { ok: false, privateCause: `wrong client secret (${method})` };
  return { ok: true, client };
}

function matchesAHash(
  state: SecretState,
  secret: string,
  digest: Buffer,
  gate: HashCheckGate,
): Promise<boolean> {
  const key = digest.toString('base64');
  let check = state.checking.get(key);
  if (check === undefined) {
    check = gate
      .run(async () => {
        for (const stored of state.hashes) {
          if (await verifyParsedHash(secret, stored)) return true;
        }
        return false;
      })
      .then((matched) => {
        if (matched) state.digests.push(digest);
        return matched;
      })
      .finally(() => state.checking.delete(key));
    state.checking.set(key, check);
  }
  return check;
}

/**
 * Bounds the scrypt work hashed client secrets cost: a few checks at once (scrypt runs on
 * libuv's thread pool, which file and DNS work share), a bounded queue behind them, and beyond
 * that `503 temporarily_unavailable` with `Retry-After: 1`, so a flood of wrong secrets for a
 * known client id cannot take the process's CPU. Clients whose secret already matched are not
 * affected: they are checked by digest.
 */
export class HashCheckGate {
  #running = 0;
  readonly #waiting: Array<() => void> = [];

  constructor(
    readonly maxRunning: number,
    readonly maxWaiting: number,
  ) {}

  async run<T>(work: () => Promise<T>): Promise<T> {
    if (this.#running >= this.maxRunning) {
      if (this.#waiting.length >= this.maxWaiting) {
        throw new TemporarilyUnavailable(
          1,
          `${this.#running + this.#waiting.length} client secret hash checks in progress or waiting`,
        );
      }
      await new Promise<void>((resolve) => this.#waiting.push(resolve));
    } else {
      this.#running += 1;
    }
    try {
      return await work();
    } finally {
      const next = this.#waiting.shift();
      // A waiting check takes over the slot; with none waiting the slot is given back.
      if (next === undefined) this.#running -= 1;
      else next();
    }
  }
}

const HASH_CHECKS = new HashCheckGate(2, 100);
