import { expect } from 'chai';
import { FunctionLogSink } from '../../lib/logs/function-log-sink.js';
import type { LogEntry } from '../../lib/logs/log-entry.js';
import { MemoryLogSink } from '../../lib/logs/memory-log-sink.js';
import { TenantLog, newLogId } from '../../lib/logs/tenant-log.js';

function entry(description = 'Successful Exchange via Custom Token Exchange'): LogEntry {
  return {
    log_id: newLogId(),
    date: '2026-06-01T00:00:00.000Z',
    type: 'secte',
    description,
    client_id: 'client-1',
    client_name: 'Web app',
    ip: '203.0.113.7',
    hostname: 'auth.example.com',
    details: { subject_token_type: 'urn:acme:token', actor: { sub: 'agent-1' } },
  };
}

const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('FunctionLogSink', () => {
  it('hands each entry to the function after write returned, in order, as the frozen copy', async () => {
    const seen: LogEntry[] = [];
    const sink = new FunctionLogSink((e) => seen.push(e));
    const log = new TenantLog({ sinks: [sink] });
    const first = entry('first');
    log.write(first);
    log.write(entry('second'));
    expect(seen).to.eql([]); // not on the writer's path
    await settle();
    expect(seen.map((e) => e.description)).to.eql(['first', 'second']);
    expect(seen[0]).to.eql(first);
    expect(Object.isFrozen(seen[0])).to.equal(true);
    expect(Object.isFrozen(seen[0]!.details.actor)).to.equal(true);
    expect(log.dropped).to.eql([0]);
  });

  it('counts an entry whose function throws or rejects as dropped, without touching other sinks', async () => {
    const memory = new MemoryLogSink();
    const errors: string[] = [];
    const log = new TenantLog({
      sinks: [
        new FunctionLogSink(() => {
          throw new Error('logger exploded');
        }),
        new FunctionLogSink(async () => {
          throw new Error('remote logger down');
        }),
        memory,
      ],
      onSinkError: (error) => errors.push((error as Error).message),
    });
    expect(() => log.write(entry())).not.to.throw();
    await settle();
    expect(memory.size).to.equal(1);
    expect(log.dropped).to.eql([1, 1, 0]);
    expect(errors).to.have.members(['logger exploded', 'remote logger down']);
  });

  it('works with a logger that adds fields, given a copy (as pino and winston do)', async () => {
    const lines: string[] = [];
    // A minimal logger that decorates the object it is given, as real loggers do.
    const logger = {
      info(object: Record<string, unknown>, message: string) {
        object.level = 30;
        lines.push(JSON.stringify({ ...object, msg: message }));
      },
    };
    const log = new TenantLog({
      sinks: [new FunctionLogSink((e) => logger.info({ ...e }, e.description))],
    });
    log.write(entry());
    await settle();
    expect(lines).to.have.length(1);
    expect(JSON.parse(lines[0]!)).to.include({ type: 'secte', level: 30, client_id: 'client-1' });
    expect(log.dropped).to.eql([0]);
  });

  it('is closed after the pending calls settle, then runs options.close', async () => {
    const events: string[] = [];
    let finish: () => void = () => undefined;
    const sink = new FunctionLogSink(
      () =>
        new Promise<void>((resolve) => {
          finish = () => {
            events.push('logged');
            resolve();
          };
        }),
      { close: () => events.push('flushed') },
    );
    const log = new TenantLog({ sinks: [sink] });
    log.write(entry());
    await settle();
    const closing = log.close();
    await settle();
    expect(events).to.eql([]);
    finish();
    await closing;
    expect(events).to.eql(['logged', 'flushed']);
  });

  it('refuses a function or a close that is not one', () => {
    expect(() => new FunctionLogSink('console.log' as unknown as () => void)).to.throw(
      TypeError,
      'FunctionLogSink: the argument must be a function (entry) => ...',
    );
    expect(
      () => new FunctionLogSink(() => undefined, { close: 1 as unknown as () => void }),
    ).to.throw(TypeError, 'FunctionLogSink: options.close must be a function');
  });
});
