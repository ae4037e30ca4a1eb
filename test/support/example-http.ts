/**
 * Reading a running example server over HTTP, as its end-to-end tests do: JSON pages, tokens
 * verified against its JWKS, its tenant log, and the token endpoint's success shape.
 */
import { expect } from 'chai';
import { createLocalJWKSet, jwtVerify } from 'jose';
import type { JWTPayload, JWTVerifyResult } from 'jose';
import { ACCESS_TOKEN_TYPE } from './fixtures.js';
import { SECTE } from './log-entries.js';
import { startExample } from './example-process.js';
import type { ExampleProcess } from './example-process.js';

/** How long an example may take to start (tsx compiles it first). */
export const STARTUP_TIMEOUT_MS = 30_000;

export type Json = Record<string, unknown>;

/** The User-Agent {@link postForm} sends unless told otherwise: the one its log entries carry. */
export const EXAMPLE_USER_AGENT = 'cte-example-tests';

/** A tenant log entry as an example's `/logs` page lists it. */
export interface ExampleLogEntry extends Json {
  type: string;
  log_id: string;
  date: string;
  details: Json & { profile_id: string; action_id: string };
}

/** Asserts the headers every token endpoint answer carries. */
export function expectNoStore(res: { headers: Headers }): void {
  expect(res.headers.get('cache-control')).to.equal('no-store');
  expect(res.headers.get('pragma')).to.equal('no-cache');
}

/**
 * Asserts a token endpoint answer is a 200, no-store, with exactly this body: an access token of
 * an hour, Bearer, then `rest` (`scope`, `id_token: body.id_token`, ...; an `expires_in` there
 * replaces the hour).
 */
export function expectExampleIssued(
  res: { status: number; headers: Headers },
  body: Json,
  rest: Json,
) {
  expect(res.status, JSON.stringify(body)).to.equal(200);
  expectNoStore(res);
  expect(body).to.deep.equal({
    access_token: body.access_token,
    issued_token_type: ACCESS_TOKEN_TYPE,
    token_type: 'Bearer',
    expires_in: 3600,
    ...rest,
  });
}

/** What an example's refused exchange answers and logs. */
export interface ExampleRefusal {
  error: string;
  description: string;
  /** The entry's cause: the action's denial (`denied by the action <its id>`) unless given. */
  cause?: string;
  /** The action's console lines, when the entry carries some. */
  console?: string[];
}

/** What the log entries of one client's exchanges with an example share. */
export interface ExampleExchangeEntry {
  /** The entry's own fields: client_id, client_name, ip, user_agent, hostname, audience, scope. */
  fields: Json;
  subjectTokenType: string;
}

/**
 * What the log entries of `client`'s exchanges of a `subjectTokenType` for `audience` and `scope`
 * share, sent from the loopback address through `hostname` (`localhost` unless given) by
 * {@link postForm}.
 */
export function exampleExchangeEntry(
  client: { id: string; name: string },
  subjectTokenType: string,
  {
    audience,
    scope,
    hostname = 'localhost',
  }: { audience: string; scope: string; hostname?: string },
): ExampleExchangeEntry {
  const fields = {
    client_id: client.id,
    client_name: client.name,
    ip: '127.0.0.1',
    user_agent: EXAMPLE_USER_AGENT,
    hostname,
    audience,
    scope,
  };
  return { fields, subjectTokenType };
}

/**
 * The `fecte` entry an example writes for `refusal`: the shared `fields` and subject token type
 * as given, the entry's own id, date, profile and action taken as written.
 */
export function exampleFailureEntry(
  entry: Json,
  { fields, subjectTokenType }: ExampleExchangeEntry,
  refusal: ExampleRefusal,
): Json {
  const details = entry.details as Json;
  return {
    log_id: entry.log_id,
    date: entry.date,
    type: 'fecte',
    description: refusal.description,
    ...fields,
    details: {
      subject_token_type: subjectTokenType,
      profile_id: details.profile_id,
      action_id: details.action_id,
      ...(refusal.console === undefined ? {} : { console: refusal.console }),
      error: refusal.error,
      error_description: refusal.description,
      cause: refusal.cause ?? `denied by the action ${String(details.action_id)}`,
    },
  };
}

/** The refusal of a subject token the action rejected, with the console lines it wrote, if any. */
export function invalidSubjectToken(description: string, ...console: string[]): ExampleRefusal {
  const refusal = { error: 'invalid_request', description, cause: 'invalid subject token' };
  return console.length === 0 ? refusal : { ...refusal, console };
}

/**
 * The `secte` entry an example writes for a successful exchange: the shared `fields` and subject
 * token type as given, then `rest` (`user_id`, `user_name`, `connection`) and `details`
 * (`access_token_jti`, ...), the entry's own id, date, profile and action taken as written.
 */
export function exampleSuccessEntry(
  entry: ExampleLogEntry,
  { fields, subjectTokenType }: ExampleExchangeEntry,
  rest: Json,
  details: Json,
): Json {
  return {
    log_id: entry.log_id,
    date: entry.date,
    ...SECTE,
    ...fields,
    ...rest,
    details: {
      subject_token_type: subjectTokenType,
      profile_id: entry.details.profile_id,
      action_id: entry.details.action_id,
      ...details,
    },
  };
}

/**
 * Asserts an example refused an exchange: the answer is `status` (400 unless given), no-store,
 * with exactly the refusal's error and description as its body, and `entry`, the example's newest
 * log entry, is the refusal's `fecte` entry.
 */
export function expectExampleRefused(
  res: { status: number; headers: Headers },
  body: Json,
  entry: Json,
  expected: ExampleRefusal & ExampleExchangeEntry & { status?: number },
): void {
  expect(res.status, JSON.stringify(body)).to.equal(expected.status ?? 400);
  expectNoStore(res);
  expect(body).to.deep.equal({ error: expected.error, error_description: expected.description });
  expect(entry).to.deep.equal(exampleFailureEntry(entry, expected, expected));
}

/** What {@link exampleReader} returns. */
export interface ExampleReader {
  /** GETs `path`, asserts a 200, returns the JSON body. */
  getJson: <T>(path: string) => Promise<T>;
  /** Verifies an ES256 token of the example's issuer, for `audience`, of JWT type `typ`. */
  verifyResult: (token: string, audience: string, typ: string) => Promise<JWTVerifyResult>;
  /** {@link verifyResult}'s payload. */
  verify: (token: string, audience: string, typ: string) => Promise<JWTPayload>;
  /** The newest entry of the example's tenant log; throws when there is none. */
  latestLog: () => Promise<ExampleLogEntry>;
  /**
   * The whole payload of an access token the example issued: its issuer, the token's own times
   * and id as they are, then `claims` (`sub`, `aud`, `client_id`, `scope`, an `exp` to check, ...).
   */
  accessClaims: (payload: JWTPayload, claims: Json) => Json;
  /**
   * The whole payload of an ID token the example issued: its issuer, the token's own times as
   * they are (authenticated when issued), then `claims` (`sub`, `aud`, profile claims, ...).
   */
  idClaims: (payload: JWTPayload, claims: Json) => Json;
}

/** Reads the example at `origin()`, called at each request (tests learn the port in `before`). */
export function exampleReader(origin: () => string): ExampleReader {
  async function getJson<T>(path: string): Promise<T> {
    const res = await fetch(`${origin()}${path}`);
    expect(res.status).to.equal(200);
    return (await res.json()) as T;
  }
  async function verifyResult(token: string, audience: string, typ: string) {
    const jwks = createLocalJWKSet(await getJson('/.well-known/jwks.json'));
    return jwtVerify(token, jwks, {
      issuer: `${origin()}/`,
      audience,
      typ,
      algorithms: ['ES256'],
    });
  }
  return {
    getJson,
    verifyResult,
    verify: async (token, audience, typ) => (await verifyResult(token, audience, typ)).payload,
    latestLog: async () => {
      const [entry] = await getJson<ExampleLogEntry[]>('/logs');
      if (entry === undefined) throw new Error('the tenant log is empty');
      return entry;
    },
    accessClaims: ({ iat, exp, jti }, claims) => ({
      iss: `${origin()}/`,
      iat,
      exp,
      jti,
      ...claims,
    }),
    idClaims: ({ iat, exp }, claims) => ({
      iss: `${origin()}/`,
      iat,
      exp,
      auth_time: iat,
      ...claims,
    }),
  };
}

/** The banner line most examples print once they listen: their JWKS and tenant log URLs. */
const BANNER_READY = /^Public keys: .*Tenant logs: \S+$/m;

/** An example server its suite started; read it in tests and in `before` hooks that follow. */
export interface RunningExample {
  readonly port: number;
  /** `http://<host>:<port>`. */
  readonly origin: string;
  /** What the example has printed so far. */
  readonly stdout: string;
  /** Whether it started (false when its `before` hook failed). */
  readonly started: boolean;
}

export interface RunningExampleOptions {
  /** Ready once stdout matches this; the JWKS and tenant log banner unless given. */
  ready?: RegExp;
  /** Extra environment, read when the hook runs (an earlier hook may pick its values). */
  env?: () => Record<string, string>;
  /** The host of {@link RunningExample.origin}; `localhost` unless given. */
  host?: string;
}

/**
 * Starts the example server `file` (relative to the project root) in a `before` hook and stops
 * it in an `after` hook, also when a test failed. Call it inside a `describe`.
 */
export function runningExample(
  file: string,
  { ready = BANNER_READY, env = () => ({}), host = 'localhost' }: RunningExampleOptions = {},
): RunningExample {
  let example: ExampleProcess | undefined;
  const started = (): ExampleProcess => {
    if (example === undefined) throw new Error(`${file} is not running`);
    return example;
  };
  before(async () => {
    example = await startExample(file, { ready, env: env() });
  });
  after(async () => {
    await example?.stop();
  });
  return {
    get port() {
      return started().port;
    },
    get origin() {
      return `http://${host}:${started().port}`;
    },
    get stdout() {
      return started().output.stdout;
    },
    get started() {
      return example !== undefined;
    },
  };
}

/** An example's answer with its JSON body read. */
export interface ExampleReply {
  status: number;
  headers: Headers;
  body: Json;
}

/** Reads `res`'s JSON body. */
export async function readReply(res: Response): Promise<ExampleReply> {
  return { status: res.status, headers: res.headers, body: (await res.json()) as Json };
}

/** POSTs `params` as a form to `url`; the answer and its JSON body. */
export async function postForm(
  url: string,
  params: Record<string, string>,
  headers: Record<string, string> = {},
): Promise<{ res: Response; body: Json }> {
  const res = await fetch(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      'user-agent': EXAMPLE_USER_AGENT,
      ...headers,
    },
    body: new URLSearchParams(params),
  });
  return { res, body: (await res.json()) as Json };
}

/** The simulated partner's sign-in of an example at `origin`: an ID token for `user`. */
export async function partnerSignIn(origin: string, user: Json): Promise<string> {
  const res = await fetch(`${origin}/partner/sign-in`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(user),
  });
  expect(res.status).to.equal(200);
  return ((await res.json()) as { id_token: string }).id_token;
}
