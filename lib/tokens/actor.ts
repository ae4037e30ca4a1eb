/**
 * The `act` claim of a delegated token (RFC 8693 section 4.1): who acts for the subject. An action sets
 * it; both tokens carry it.
 */
/** An actor: `sub` plus up to 5 custom properties, nested through `act` up to 5 levels in all. */
export interface Actor {
  sub: string;
  act?: Actor;
  [custom: string]: string | number | boolean | Actor | undefined;
}
