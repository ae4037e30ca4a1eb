// passport-oauth2-client-password 0.1 ships no type declarations; this is the part the example uses.
declare module 'passport-oauth2-client-password' {
  import type { Strategy as PassportStrategy } from 'passport';

  export type VerifyFunction = (
    clientId: string,
    clientSecret: string,
    done: (error: unknown, client?: unknown, info?: unknown) => void,
  ) => void;

  /** Reads `client_id` and `client_secret` from `req.body` (RFC 6749 §2.3.1 client_secret_post). */
  export class Strategy implements PassportStrategy {
    constructor(verify: VerifyFunction);
    name: string;
    authenticate(req: unknown, options?: unknown): void;
  }
}
