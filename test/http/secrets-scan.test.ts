import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import request from 'supertest';
import type { Response } from 'supertest';
import { FunctionLogSink, JsonLinesLogSink } from '../../lib/index.js';
import type { ClientDefinition, LogEntry } from '../../lib/index.js';
import { assertionParams, clientAssertion } from '../support/client-assertion.js';
import { GRANT, basic, clientAssertionKeys, form, testServer } from '../support/fixtures.js';
import type { TestServer } from '../support/fixtures.js';
import { actionCode, deployCodeProfile } from '../support/sandboxed-actions.js';

/**
 * Issue 5 item 5, spec §6: subject and actor tokens, client secrets, client assertions and
 * action secrets never reach a tenant-log sink, whole or as any 16-character fragment, whatever
 * an action does with them: print them, put them in a deny reason or an error message.
 *
 * Refresh tokens do not exist yet: the router issues none, so there is none to send or scan.
 * Once it does, a refresh token (and a refresh_token grant request) belongs in the values below.
 */

const TYPE = 'urn:acme:leaky-partner-token';
const random = (prefix: string, bytes: number): string =>
  `${prefix}${randomBytes(bytes).toString('base64url')}`;

// base64url values: JSON escapes none of their characters, so a leak shows verbatim in JSON.
const SUBJECT_TOKEN = random('st_', 36);
const ACTOR_TOKEN = random('at_', 36);
const BASIC_SECRET = random('cs_basic_', 30);
const POST_SECRET = random('cs_post_', 30);
const API_KEY = random('sk_live_', 24);
/** An action secret of 8–15 characters: redacted when whole (it has no 16-character window). */
const SHORT_SECRET = `pin-${randomBytes(4).toString('hex')}`;

/**
 * Prints every value it can see, whole and in fragments, in every console method and shape,
 * then denies, rejects, throws or succeeds quoting them again, as `outcome` asks. `leak` is a
 * parameter through which a careless client sends its own credential to the action.
 */
const LEAKY_ACTION = actionCode(`  const subject = event.transaction.subject_token;
  const actor = event.transaction.actor_token;
  const { API_KEY, SHORT_SECRET } = event.secrets;
  const leak = event.request.body.leak;
  const values = [subject, actor, API_KEY, SHORT_SECRET, leak];
  const fragments = values.flatMap((v) => [v.slice(0, 16), v.slice(3, 20), v.slice(-16), v.slice(5, 5 + 16)]);
  console.log('subject token:', subject);
  console.info('actor token', actor);
  console.warn('secrets', API_KEY, SHORT_SECRET);
  console.error('the client sent', leak);
  console.log({ subject, actor, secrets: event.secrets });
  console.log('fragments', fragments.join(' | '));
  console.log(fragments.join(''));
  console.log(JSON.stringify(event.transaction));
  console.log(JSON.stringify(event.secrets));
  console.log(JSON.stringify(event.request.body));
  for (const v of values) console.log('x' + v + 'y', v.split('').reverse().reverse().join(''));
  const quoted = values.join(' / ') + ' fragments ' + fragments.join(',');
  switch (event.request.body.outcome) {
    case 'deny':
      api.access.deny('access_denied', 'denied for ' + quoted);
      return;
    case 'reject':
      api.access.rejectInvalidSubjectToken('invalid ' + quoted);
      return;
    case 'throw':
      throw new Error('cannot use ' + quoted);
    default:
      api.authentication.setUserById('auth0|alice');
  }`);

/** Each whole value, and every 16-character window of each value of 16 characters or more. */
function needles(values: readonly string[]): string[] {
  return values.flatMap((value) => [
    value,
    ...Array.from({ length: Math.max(0, value.length - 15) }, (_, i) => value.slice(i, i + 16)),
  ]);
}

/** The needles found in `text`. */
function leaksIn(text: string, values: readonly string[]): string[] {
  return needles(values).filter((needle) => text.includes(needle));
}

describe('secrets scan: no token, secret or assertion in any log sink (spec §6)', function () {
  this.timeout(60_000);

  let dir: string;
  let server: TestServer;
  let jsonLines: JsonLinesLogSink;
  const collected: LogEntry[] = [];
  const emitted: LogEntry[] = [];
  const hostConsole: string[] = [];
  const assertions: string[] = [];
  const responses: Response[] = [];

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'cte-secrets-scan-'));
    jsonLines = new JsonLinesLogSink({ path: join(dir, 'tenant.jsonl'), maxBytes: 64 * 1024 });
    const { jwk } = await clientAssertionKeys();
    const allowCte = { allow_any_profile_of_type: ['custom_authentication'] };
    const clients: ClientDefinition[] = [
      {
        client_id: 'app',
        client_secret: BASIC_SECRET,
        name: 'Basic app',
        token_endpoint_auth_method: 'client_secret_basic',
        token_exchange: allowCte,
      },
      {
        client_id: 'post-app',
        client_secret: POST_SECRET,
        name: 'Post app',
        token_endpoint_auth_method: 'client_secret_post',
        token_exchange: allowCte,
      },
      {
        client_id: 'jwt-app',
        name: 'JWT app',
        token_endpoint_auth_method: 'private_key_jwt',
        jwks: { keys: [jwk] },
        token_exchange: allowCte,
      },
    ];
    server = await testServer({
      sandbox: true,
      clients,
      logSinks: [jsonLines, new FunctionLogSink((entry) => collected.push(entry))],
    });
    server.cte
      .on('secte', (entry) => emitted.push(entry))
      .on('fecte', (entry) => emitted.push(entry));
    await deployCodeProfile(server.cte, {
      name: 'leaky-action',
      code: LEAKY_ACTION,
      subjectTokenType: TYPE,
      secrets: { API_KEY, SHORT_SECRET },
    });

    // Whatever the host process prints meanwhile is scanned too.
    const originals = { ...console };
    for (const method of ['log', 'info', 'warn', 'error', 'debug'] as const) {
      console[method] = (...args: unknown[]) => hostConsole.push(args.map(String).join(' '));
    }
    try {
      for (const outcome of ['deny', 'reject', 'throw', 'issue']) {
        for (const auth of ['basic', 'post', 'private_key_jwt'] as const) {
          responses.push(await send(outcome, auth));
        }
      }
      // Failures before any action runs: a wrong secret that is another client's, a replayed
      // assertion.
      responses.push(
        await post({ outcome: 'issue', leak: POST_SECRET }, basic('app', POST_SECRET)),
      );
      const replayed = assertions[0]!;
      responses.push(
        await post({
          outcome: 'issue',
          leak: replayed,
          client_id: 'jwt-app',
          ...assertionParams(replayed),
        }),
      );
      await server.cte.close(); // flushes the JSON-lines file
    } finally {
      Object.assign(console, originals);
    }
  });

  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  function post(params: Record<string, string>, authorization?: string): Promise<Response> {
    const req = request(server.app).post('/oauth/token');
    if (authorization) req.set('Authorization', authorization);
    return req
      .type('form')
      .send(
        form({
          grant_type: GRANT,
          subject_token: SUBJECT_TOKEN,
          subject_token_type: TYPE,
          actor_token: ACTOR_TOKEN,
          actor_token_type: 'urn:acme:agent-token',
          ...params,
        }),
      )
      .then((res) => res);
  }

  /** One exchange; the client also sends its own credential as `leak`, for the action to print. */
  async function send(
    outcome: string,
    auth: 'basic' | 'post' | 'private_key_jwt',
  ): Promise<Response> {
    switch (auth) {
      case 'basic':
        return post({ outcome, leak: BASIC_SECRET }, basic('app', BASIC_SECRET));
      case 'post':
        return post({
          outcome,
          leak: POST_SECRET,
          client_id: 'post-app',
          client_secret: POST_SECRET,
        });
      case 'private_key_jwt': {
        const assertion = await clientAssertion();
        assertions.push(assertion);
        return post({
          outcome,
          leak: assertion,
          client_id: 'jwt-app',
          ...assertionParams(assertion),
        });
      }
    }
  }

  const secretValues = (): string[] => [
    SUBJECT_TOKEN,
    ACTOR_TOKEN,
    BASIC_SECRET,
    POST_SECRET,
    basic('app', BASIC_SECRET).slice('Basic '.length),
    ...assertions,
    API_KEY,
    SHORT_SECRET,
  ];

  it('sent what it meant to: every exchange answered as its outcome says, and was logged', async () => {
    expect(responses.map((res) => res.status)).to.eql([
      ...[400, 400, 400], // deny
      ...[400, 400, 400], // reject
      ...[500, 500, 500], // throw
      ...[200, 200, 200], // issue
      401, // a wrong client secret
      401, // a replayed assertion
    ]);
    const ring = await server.cte.logs.list();
    expect(ring).to.have.length(responses.length);
    expect(ring.map((e) => e.type).reverse()).to.eql([
      ...Array<string>(9).fill('fecte'),
      ...Array<string>(3).fill('secte'),
      'fecte',
      'fecte',
    ]);
    // The action ran and printed: its lines are in the entries, with the values taken out.
    for (const entry of ring.slice(2)) {
      expect(entry.details.console, entry.description).to.have.length.greaterThan(10);
      expect(entry.details.console!.join('\n')).to.include('[redacted]');
    }
    const failures = ring.slice(2).filter((e) => e.type === 'fecte');
    for (const entry of failures) expect(entry.details.cause).to.be.a('string');
    expect(ring.filter((e) => e.description.startsWith('denied for [redacted]'))).to.have.length(3);
    expect(ring.filter((e) => e.description.startsWith('invalid [redacted]'))).to.have.length(3);
    expect(
      ring.filter((e) => /failed: Error: cannot use \[redacted\]/.test(e.details.cause ?? '')),
    ).to.have.length(3);
  });

  it('the scan would find a leak: it looks for whole values and every 16-character window', () => {
    const value = SUBJECT_TOKEN;
    expect(leaksIn(`... ${value.slice(7, 23)} ...`, [value])).to.eql([value.slice(7, 23)]);
    expect(leaksIn(`... ${value.slice(7, 22)} ...`, [value])).to.eql([]);
    expect(leaksIn(`${SHORT_SECRET}`, [SHORT_SECRET])).to.eql([SHORT_SECRET]);
    expect(needles([value])).to.have.length(value.length - 15 + 1);
  });

  it('finds nothing in the JSON-lines file', async () => {
    const text = await readFile(join(dir, 'tenant.jsonl'), 'utf8');
    expect(text.trim().split('\n')).to.have.length(responses.length);
    expect(jsonLines.dropped).to.equal(0);
    expect(leaksIn(text, secretValues())).to.eql([]);
  });

  it('finds nothing in the entries a FunctionLogSink received', () => {
    expect(collected).to.have.length(responses.length);
    expect(leaksIn(JSON.stringify(collected), secretValues())).to.eql([]);
  });

  it('finds nothing in the in-memory ring', async () => {
    expect(leaksIn(JSON.stringify(await server.cte.logs.list()), secretValues())).to.eql([]);
  });

  it('finds nothing in the emitted secte and fecte events', () => {
    expect(emitted).to.have.length(responses.length);
    expect(leaksIn(JSON.stringify(emitted), secretValues())).to.eql([]);
  });

  it('finds nothing in what the host process printed meanwhile', () => {
    expect(leaksIn(hostConsole.join('\n'), secretValues())).to.eql([]);
  });

  it('counts no drop anywhere: every sink saw every entry', () => {
    expect(server.cte.logs.dropped().map((d) => d.dropped)).to.eql([0, 0, 0]);
  });
});
