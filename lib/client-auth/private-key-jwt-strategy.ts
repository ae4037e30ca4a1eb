import type { Request } from 'express';
import {
  createLocalJWKSet,
  decodeJwt,
  errors as joseErrors,
  jwtVerify,
  type JWK,
  type JWTPayload,
} from 'jose';
import { ClientAuthenticationFailed, TemporarilyUnavailable } from '../errors.js';
import type { Client } from '../registry/clients.js';
import { ASYMMETRIC_ALGORITHMS } from '../tokens/asymmetric-algorithms.js';
import { ReplayStoreFullError, type ReplayStore } from '../stores/replay-store.js';
import { StoreUnavailableError } from '../stores/store-deadline.js';
import { ClientAuthenticationStrategy, NO_CREDENTIALS } from './client-authentication-strategy.js';
import type { ClientLookup } from './client-lookup.js';
import { quoteForLog } from './quote-for-log.js';
import { assertFunction, assertSeconds, nonEmptyStrings } from './option-checks.js';
import {
  JWT_BEARER_ASSERTION_TYPE,
  assertSingleAuthMethod,
  readBodyParam,
} from './request-credentials.js';

/** Options of {@link PrivateKeyJwtStrategy}. */
export interface PrivateKeyJwtStrategyOptions {
  /** Resolves a client id to the registered client; its `jwks` verifies the assertion. */
  getClient: ClientLookup;
  /**
   * Accepted `aud` values: this server's issuer identifier and token endpoint URL, configured,
   * never derived from the request's `Host` header (which the client controls).
   */
  audiences: readonly string[];
  /** Remembers consumed `jti` values; shared by every instance that serves the same clients. */
  replayStore: ReplayStore;
  /** Clock skew allowed on `exp`, `nbf` and `iat`; default 30 seconds. */
  clockToleranceSeconds?: number;
  /** Longest accepted `exp - now` (and `exp - iat`) of an assertion; default 300 seconds. */
  maxAssertionLifetimeSeconds?: number;
}

/**
 * A `jti` is stored in the replay store; bounding it bounds what one assertion can make the
 * store hold. Real ones are UUIDs or similar.
 */
const MAX_JTI_LENGTH = 256;

/**
 * Key sets built once per client record: `createLocalJWKSet` imports keys lazily and caches them,
 * so rebuilding it per request would re-import keys on every call. Keyed weakly by the frozen
 * record, a replaced client gets a fresh set and the old one is collected.
 */
const keySets = new WeakMap<Client, ReturnType<typeof createLocalJWKSet>>();

function keySetFor(client: Client, jwks: { readonly keys: readonly JWK[] }) {
  let keySet = keySets.get(client);
  if (keySet === undefined) {
    keySet = createLocalJWKSet({ keys: [...jwks.keys] });
    keySets.set(client, keySet);
  }
  return keySet;
}

/**
 * `private_key_jwt` (RFC 7523 §2.2 and §3, OpenID Connect Core §9): the client signs a JWT with
 * its private key and sends it as `client_assertion`, with `client_assertion_type` set to
 * `urn:ietf:params:oauth:client-assertion-type:jwt-bearer`.
 *
 * Required: an asymmetric signature by a key of the client's `jwks`; `iss` = `sub` = client id;
 * `aud` one of the configured audiences, and when an array, every element one of them (audience
 * injection, draft-ietf-oauth-rfc7523bis); `exp` no further ahead than the maximum lifetime;
 * `iat`, when present, not in the future; a `jti` never seen before (consumed through the
 * {@link ReplayStore} only after every other check passed, so a bad assertion never burns one).
 * A body `client_id`, when present, must equal `iss`.
 *
 * Every failure is `401 invalid_client` with one public description; the exact reason is the
 * error's `privateCause`. A full replay store is `503`, a store that throws an error.
 * Passport name: `private_key_jwt`.
 */
export class PrivateKeyJwtStrategy extends ClientAuthenticationStrategy {
  /** Passport strategy name. */
  override name = 'private_key_jwt';
  private readonly getClient: ClientLookup;
  private readonly audiences: ReadonlySet<string>;
  private readonly replayStore: ReplayStore;
  private readonly clockTolerance: number;
  private readonly maxLifetime: number;

  constructor(options: PrivateKeyJwtStrategyOptions) {
    super();
    const path = 'PrivateKeyJwtStrategy: options';
    const { clockToleranceSeconds = 30, maxAssertionLifetimeSeconds = 300 } = options;
    assertFunction(options.getClient, `${path}.getClient`);
    const audiences = nonEmptyStrings(options.audiences, `${path}.audiences`);
    assertFunction(options.replayStore?.consume, `${path}.replayStore.consume`);
    assertSeconds(clockToleranceSeconds, `${path}.clockToleranceSeconds`, 0);
    assertSeconds(maxAssertionLifetimeSeconds, `${path}.maxAssertionLifetimeSeconds`, 1);
    this.getClient = options.getClient;
    this.audiences = new Set(audiences);
    this.replayStore = options.replayStore;
    this.clockTolerance = clockToleranceSeconds;
    this.maxLifetime = maxAssertionLifetimeSeconds;
  }

  protected override async evaluate(req: Request): Promise<Client | typeof NO_CREDENTIALS> {
    const assertion = readBodyParam(req, 'client_assertion');
    const assertionType = readBodyParam(req, 'client_assertion_type');
    if (assertion === undefined && assertionType === undefined) return NO_CREDENTIALS;
    assertSingleAuthMethod(req);

    if (assertionType !== JWT_BEARER_ASSERTION_TYPE) {
      throw new ClientAuthenticationFailed(
        assertionType === undefined
          ? 'client_assertion without client_assertion_type'
          : `client_assertion_type is ${quoteForLog(assertionType)}, not ${JWT_BEARER_ASSERTION_TYPE}`,
      );
    }
    if (assertion === undefined) {
      throw new ClientAuthenticationFailed('client_assertion_type without client_assertion');
    }

    // The issuer names the client whose keys verify the assertion; it is read unverified here
    // and bound by the signature check (`issuer` below) before anything trusts it.
    let unverified: JWTPayload;
    try {
      unverified = decodeJwt(assertion);
    } catch (err) {
      throw new ClientAuthenticationFailed(`client_assertion is not a JWT: ${describe(err)}`);
    }
    const clientId = unverified.iss;
    if (typeof clientId !== 'string' || clientId === '') {
      throw new ClientAuthenticationFailed('client_assertion has no "iss" claim');
    }
    const bodyClientId = readBodyParam(req, 'client_id');
    if (bodyClientId !== undefined && bodyClientId !== clientId) {
      throw new ClientAuthenticationFailed(
        `body client_id ${quoteForLog(bodyClientId)} differs from client_assertion iss ${quoteForLog(clientId)}`,
      );
    }

    const client = await this.getClient(clientId);
    if (client === undefined) {
      throw new ClientAuthenticationFailed(
        `unknown client ${quoteForLog(clientId)} (private_key_jwt)`,
      );
    }
    if (client.token_endpoint_auth_method !== 'private_key_jwt') {
      throw new ClientAuthenticationFailed(
        `client is registered for ${client.token_endpoint_auth_method}, not private_key_jwt`,
      );
    }
    if (client.jwks === undefined || client.jwks.keys.length === 0) {
      throw new ClientAuthenticationFailed('client has no jwks to verify a client_assertion');
    }

    // One clock reading for jose's checks and ours.
    const now = Math.floor(Date.now() / 1000);
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(assertion, keySetFor(client, client.jwks), {
        algorithms: [...ASYMMETRIC_ALGORITHMS],
        issuer: client.client_id,
        subject: client.client_id,
        audience: [...this.audiences],
        requiredClaims: ['iss', 'sub', 'aud', 'exp', 'jti'],
        clockTolerance: this.clockTolerance,
        currentDate: new Date(now * 1000),
      }));
    } catch (err) {
      if (err instanceof joseErrors.JOSEError) {
        throw new ClientAuthenticationFailed(`client_assertion rejected: ${describe(err)}`);
      }
      throw err;
    }

    // jose accepts an array `aud` when any element matches; an assertion that also names another
    // server could be replayed there (or was minted for there), so every element must be ours.
    const audiences = Array.isArray(payload.aud) ? payload.aud : [payload.aud];
    const foreign = audiences.filter((aud) => typeof aud !== 'string' || !this.audiences.has(aud));
    if (foreign.length > 0) {
      throw new ClientAuthenticationFailed(
        `client_assertion aud contains values that are not this server: ${quoteForLog(JSON.stringify(foreign))}`,
      );
    }

    const exp = payload.exp as number; // required and checked to be a number by jwtVerify
    if (exp - now > this.maxLifetime + this.clockTolerance) {
      throw new ClientAuthenticationFailed(
        `client_assertion exp is ${exp - now} s ahead; at most ${this.maxLifetime} s accepted`,
      );
    }
    const { iat } = payload; // jwtVerify checked it is a number when present
    if (iat !== undefined) {
      if (iat > now + this.clockTolerance) {
        throw new ClientAuthenticationFailed(
          `client_assertion iat is ${iat - now} s in the future`,
        );
      }
      if (exp - iat > this.maxLifetime) {
        throw new ClientAuthenticationFailed(
          `client_assertion lifetime exp - iat is ${exp - iat} s; at most ${this.maxLifetime} s accepted`,
        );
      }
    }

    const { jti } = payload;
    if (typeof jti !== 'string' || jti === '' || jti.length > MAX_JTI_LENGTH) {
      throw new ClientAuthenticationFailed(
        `client_assertion jti must be a non-empty string of at most ${MAX_JTI_LENGTH} characters`,
      );
    }

    // Remember the jti for as long as jwtVerify would still accept the assertion: exp plus the
    // tolerance it grants, or a replay would pass in that window once the store forgot it.
    let firstUse: boolean;
    try {
      firstUse = await this.replayStore.consume(
        `${client.client_id}:${jti}`,
        exp + this.clockTolerance,
      );
    } catch (err) {
      if (err instanceof ReplayStoreFullError || err instanceof StoreUnavailableError) {
        throw new TemporarilyUnavailable(err.retryAfterSeconds, `replay store: ${err.message}`);
      }
      throw err;
    }
    if (!firstUse) {
      throw new ClientAuthenticationFailed(
        `client_assertion jti ${quoteForLog(jti)} was already used`,
      );
    }
    return client;
  }
}

function describe(err: unknown): string {
  if (err instanceof joseErrors.JOSEError) return `${err.code}: ${err.message}`;
  return err instanceof Error ? err.message : String(err);
}
