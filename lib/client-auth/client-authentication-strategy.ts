import type { Request } from 'express';
import passport from 'passport';
import { OAuthError } from '../errors.js';
import type { Client } from '../registry/clients.js';

/**
 * What {@link ClientAuthenticationStrategy.evaluate} returns when the request carries no
 * credentials of the strategy's method, so a passport chain can go on to the next strategy.
 */
export const NO_CREDENTIALS = Symbol('no credentials');

/**
 * Base of the token-endpoint client authentication strategies. It maps one outcome onto
 * passport's protocol, so every strategy behaves the same on our private passport instance and
 * on a host's:
 * - `success(client)` with the authenticated {@link Client};
 * - `fail(error, status)` where `error` is the {@link OAuthError} to answer with (`400
 *   invalid_request` for a malformed request, `401 invalid_client` otherwise; its `headers` hold
 *   the `WWW-Authenticate` value when one is due, its `message` suits passport's flash options);
 * - `fail(challenge?)` without an OAuthError when the request has no credentials of this method;
 * - `error(err)` for faults that are not the client's (a lookup or store that throws, `503`).
 *
 * A host that registers these strategies on its own instance should pass a custom callback to
 * `authenticate` and answer with the OAuthError it receives as the failure challenge.
 *
 * Passport runs each request on `Object.create(strategy)`, so state lives in ordinary
 * properties: `#private` fields would not be reachable from that derived object.
 */
export abstract class ClientAuthenticationStrategy extends passport.Strategy {
  /**
   * Authenticates the request: resolves the client, {@link NO_CREDENTIALS}, or throws an
   * {@link OAuthError} (below 500: a failure; 500 and above: an error) or any other error.
   */
  protected abstract evaluate(
    req: Request,
  ): Client | typeof NO_CREDENTIALS | Promise<Client | typeof NO_CREDENTIALS>;

  /** Challenge passed to `fail` when the request has no credentials of this method. */
  protected noCredentialsChallenge(): string | undefined {
    return undefined;
  }

  /** Passport entry point; settles through exactly one of `success`, `fail` or `error`. */
  override authenticate(req: Request): void {
    let outcome: ReturnType<typeof this.evaluate>;
    try {
      outcome = this.evaluate(req);
    } catch (err) {
      this.settleError(err);
      return;
    }
    Promise.resolve(outcome).then(
      (result) => {
        if (result === NO_CREDENTIALS) {
          const challenge = this.noCredentialsChallenge();
          if (challenge === undefined) this.fail();
          else this.fail(challenge);
        } else {
          this.success(result);
        }
      },
      (err: unknown) => this.settleError(err),
    );
  }

  private settleError(err: unknown): void {
    if (err instanceof OAuthError && err.status < 500) {
      // OAuthError has no index signature, which passport's StrategyFailure type asks for.
      this.fail(err as unknown as passport.StrategyFailure, err.status);
    } else {
      this.error(err);
    }
  }
}
