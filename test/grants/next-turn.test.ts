import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { connect } from 'node:net';
import type { Socket } from 'node:net';
import { BasicTracerProvider } from '@opentelemetry/sdk-trace-base';
import type { SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { expect } from 'chai';
import { nextTurn } from '../../lib/grants/next-turn.js';
import { SECRET, basic, exchangeBody, form, testServer } from '../support/fixtures.js';

describe('token exchange: stages', () => {
  it('nextTurn resolves after the callbacks already queued for the event loop', async () => {
    const order: string[] = [];
    setImmediate(() => order.push('immediate'));
    void Promise.resolve().then(() => order.push('microtask'));
    await nextTurn();
    order.push('after');
    expect(order).to.deep.equal(['microtask', 'immediate', 'after']);
  });

  it('requests that arrive together pass each stage before any enters the next', async () => {
    const steps: string[] = [];
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
      for (let i = 0; i < 4; i += 1) {
        const socket = connect(port, '127.0.0.1');
        await new Promise<void>((resolve) => socket.once('connect', resolve));
        sockets.push(socket);
      }
      const body = form(exchangeBody());
      const raw =
        `POST /oauth/token HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n` +
        `Authorization: ${basic('app', SECRET)}\r\n` +
        `Content-Type: application/x-www-form-urlencoded\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
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
      // In one turn: the server reads the four requests in the same poll of the event loop.
      for (const socket of sockets) socket.write(raw);
      for (const answer of await Promise.all(answers)) {
        expect(answer).to.match(/^HTTP\/1\.1 200 OK\r\n/);
      }
      // Client authentication, the action, the signing, then the answers (the token span ends
      // with its answer).
      const stages = [
        'start cte.client_authentication',
        'start cte.action',
        'start cte.sign',
        'end cte.token',
      ];
      expect(steps.filter((step) => stages.includes(step))).to.deep.equal(
        stages.flatMap((stage) => Array<string>(4).fill(stage)),
      );
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
      await s.cte.close();
    }
  });
});
