import { hash, randomBytes, timingSafeEqual } from 'node:crypto';
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

/** Stored secrets hashed once per client record (records are frozen and replaced on change). */
const storedDigests = new WeakMap<Client, Buffer>();

function storedDigest(client: Client | undefined): Buffer {
  if (client?.client_secret === undefined) return DUMMY_DIGEST;
  let digest = storedDigests.get(client);
  if (digest === undefined) {
    digest = sha256(client.client_secret);
    storedDigests.set(client, digest);
  }
  return digest;
}

/**
 * Checks a presented client secret for `client_secret_basic` / `client_secret_post`.
 *
 * Both sides are hashed with SHA-256 before `timingSafeEqual`: equal-length digests make the
 * comparison constant-time whatever the secrets' lengths (`timingSafeEqual` throws on unequal
 * lengths, and an early length check would leak the length). The comparison always runs, before
 * any other verdict, so every failure costs the same.
 */
export function checkClientSecret(
  client: Client | undefined,
  clientId: string,
  presentedSecret: string,
  method: Extract<CredentialAuthMethod, 'client_secret_basic' | 'client_secret_post'>,
): ClientSecretCheck {
  const matches = timingSafeEqual(sha256(presentedSecret), storedDigest(client));
  if (client === undefined) {
    return { ok: false, privateCause: `unknown client ${quoteForLog(clientId)} (${method})` };
  }
  if (client.token_endpoint_auth_method !== method) {
    return {
      ok: false,
      privateCause: `client is registered for ${client.token_endpoint_auth_method}, not ${method}`,
    };
  }
  if (client.client_secret === undefined) {
    return { ok: false, privateCause: `client has no secret and cannot use ${method}` };
  }
  if (!matches) return { ok: false, privateCause: `wrong client secret (${method})` };
  return { ok: true, client };
}
