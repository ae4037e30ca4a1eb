import { expect } from 'chai';
import { abortOnCatastrophicError, consoleLogger, guardedLogger } from '../lib/logger.js';
import { customTokenExchange } from '../lib/index.js';
import { API, ISSUER, SECRET } from './support/fixtures.js';
import { recordingLogger, warned } from './support/recording-logger.js';

describe('logger', () => {
  it('the default prints the message alone on the console, at its level', () => {
    const printed: Array<[string, unknown[]]> = [];
    const saved = { info: console.info, warn: console.warn, error: console.error };
    for (const level of ['info', 'warn', 'error'] as const) {
      console[level] = (...args: unknown[]) => void printed.push([level, args]);
    }
    try {
      consoleLogger.info({ component: 'shutdown' }, 'closing');
      consoleLogger.warn({ component: 'keys' }, 'no keys');
      consoleLogger.error({ component: 'sandbox' }, 'lost an isolate');
    } finally {
      Object.assign(console, saved);
    }
    expect(printed).to.deep.equal([
      ['info', ['closing']],
      ['warn', ['no keys']],
      ['error', ['lost an isolate']],
    ]);
  });

  it('guarded: calls the logger as a method (pino needs its this) and swallows its throws', () => {
    const seen: Array<[string, object, string]> = [];
    class PinoLike {
      readonly name = 'pino-like';
      info(fields: object, message: string) {
        seen.push([`${this.name}.info`, fields, message]);
      }
      warn(): void {
        throw new Error('logger down');
      }
      error(fields: object, message: string) {
        seen.push([`${this.name}.error`, fields, message]);
      }
    }
    const logger = guardedLogger(new PinoLike());
    logger.info({ a: 1 }, 'one');
    expect(() => logger.warn({}, 'two')).not.to.throw();
    logger.error({ b: 2 }, 'three');
    expect(seen).to.deep.equal([
      ['pino-like.info', { a: 1 }, 'one'],
      ['pino-like.error', { b: 2 }, 'three'],
    ]);
  });

  it('the router sends its missing-keys warning to the logger given, not the console', async () => {
    const { logger, records } = recordingLogger();
    const saved = console.warn;
    const printed: unknown[] = [];
    console.warn = (...args: unknown[]) => void printed.push(args);
    try {
      const cte = customTokenExchange({
        issuer: ISSUER,
        clients: [{ client_id: 'app', client_secret: SECRET, name: 'App' }],
        resourceServers: [{ identifier: API }],
        sandbox: false,
        logger,
      });
      await cte.close();
    } finally {
      console.warn = saved;
    }
    expect(printed).to.deep.equal([]);
    expect(records).to.deep.equal([
      warned(
        'keys',
        'customTokenExchange: options.keys is absent; signing with generated development keys. ' +
          'Tokens will not verify after a restart or on another instance: configure options.keys.',
      ),
    ]);
  });
});

describe('abortOnCatastrophicError', () => {
  it('tells the logger what isolated-vm reported, then aborts', () => {
    const { logger, records } = recordingLogger();
    const events: string[] = [];
    const handler = abortOnCatastrophicError(logger, () =>
      events.push(`abort after ${records.length}`),
    );
    handler('V8 heap corrupted');
    expect(records).to.deep.equal([
      {
        level: 'error',
        fields: { component: 'sandbox' },
        message: 'isolated-vm: catastrophic error, aborting the process: V8 heap corrupted',
      },
    ]);
    expect(events).to.deep.equal(['abort after 1']);
  });
});
