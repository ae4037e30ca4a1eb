import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { connect } from 'node:net';
import type { Socket } from 'node:net';
import { BasicTracerProvider } from '@opentelemetry/sdk-trace-base';
import type { SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { expect } from 'chai';
import { nextTurn } from '../../lib/grants/next-turn.js';
import request from 'supertest';
import { API, SECRET, basic, exchangeBody, form, testServer } from '../support/fixtures.js';
import type { TestServer } from '../support/fixtures.js';

describe('token requests in stages', () => {
  it('nextTurn resolves after the callbacks already queued for the event loop', async () => {
    const order: string[] = [];
    setImmediate(() => order.push('immediate'));
    void Promise.resolve().then(() => order.push('microtask'));
    await nextTurn();
    order.push('after');
    expect(order).to.deep.equal(['microtask', 'immediate', 'after']);
  });

  it('token exchanges that arrive together pass each stage before any enters the next', async () => {
    const steps = await stepsOfRequestsTogether(() => Array(4).fill(form(exchangeBody())));
    // Client authentication, the action, the signing, then the answers (the token span ends
    // with its answer).
    expectStages(steps, [
      'start cte.client_authentication',
      'start cte.action',
      'start cte.sign',
      'end cte.token',
    ]);
  });

  it('refresh-token requests that arrive together pass each stage before any enters the next', async () => {
    const steps = await stepsOfRequestsTogether(async ({ app, cte }) => {
      await cte.resourceServers.update(API, { allow_offline_access: true });
      const bodies: string[] = [];
      for (let i = 0; i < 4; i += 1) {
        const issued = await request(app)
          .post('/oauth/token')
          .set('Authorization', basic('app', SECRET))
          .type('form')
          .send(form(exchangeBody({ scope: 'openid offline_access' })))
          .expect(200);
        const refreshToken = (issued.body as { refresh_token: string }).refresh_token;
        expect(refreshToken).to.be.a('string');
        bodies.push(form({ grant_type: 'refresh_token', refresh_token: refreshToken }));
      }
      return bodies;
    });
    expectStages(steps, ['start cte.client_authentication', 'start cte.sign', 'end cte.token']);
  });
});

/** The stages, each once per request, in this order: no request entered one before all left the last. */
function expectStages(steps: readonly string[], stages: readonly string[]): void {
  expect(steps.filter((step) => stages.includes(step))).to.deep.equal(
    stages.flatMap((stage) => Array<string>(4).fill(stage)),
  );
}

/**
 * Writes four token requests (the bodies `prepare` gives, authenticated as `app`) on four
 * connections in one turn, so that the server reads them in the same poll of the event loop, checks
 * that each is answered 200, and returns the span starts and ends recorded meanwhile.
 */
async function stepsOfRequestsTogether(
  prepare: (server: TestServer) => string[] | Promise<string[]>,
): Promise<string[]> {
  let steps: string[] = [];
  const recorder: SpanProcessor = {
    onStart: (span) => void steps.push(`start ${span.name}`),
    onEnd: (span) => void steps.push(`end ${span.name}`),
    forceFlush: () => Promise.resolve(),
    shutdown: () => Promise.resolve(),
  };
  const tracerProvider = new BasicTracerProvider({ spanProcessors: [recorder] });
  const s = await testServer({ observability: { tracerProvider } });
  const server = createServer(s.app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const sockets: Socket[] = [];
  try {
    const bodies = await prepare(s);
    for (let i = 0; i < bodies.length; i += 1) {
      const socket = connect(port, '127.0.0.1');
      await new Promise<void>((resolve) => socket.once('connect', resolve));
      sockets.push(socket);
    }
    const answers = sockets.map(
      (socket) =>
        new Promise<string>((resolve, reject) => {
          let text = '';
          socket.setEncoding('utf8');
          socket.on('data', (chunk: string) => (text += chunk));
          socket.once('end', () => resolve(text));
          socket.once('error', reject);
        }),
    );
    steps = [];
    sockets.forEach((socket, i) =>
      socket.write(
        `POST /oauth/token HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n` +
          `Authorization: ${basic('app', SECRET)}\r\n` +
          `Content-Type: application/x-www-form-urlencoded\r\n` +
          `Content-Length: ${Buffer.byteLength(bodies[i]!)}\r\n\r\n${bodies[i]}`,
      ),
    );
    for (const answer of await Promise.all(answers)) {
      expect(answer).to.match(/^HTTP\/1\.1 200 OK\r\n/);
      expect(answer).to.include('"access_token":"');
    }
    return steps;
  } finally {
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => server.close(resolve));
    await s.cte.close();
  }
}
