import { expect } from 'chai';
import type { LogEntry, LogEntryType } from '../../lib/logs/log-entry.js';
import { LogEventEmitter } from '../../lib/logs/log-events.js';
import type { LogListener } from '../../lib/logs/log-events.js';
import { MemoryLogSink } from '../../lib/logs/memory-log-sink.js';
import { TenantLog, newLogId } from '../../lib/logs/tenant-log.js';

function entry(type: string, description = type): LogEntry {
  return {
    log_id: newLogId(),
    date: '2026-06-01T00:00:00.000Z',
    type: type as LogEntryType,
    description,
    client_id: 'client-1',
    client_name: 'Web app',
    ip: '203.0.113.7',
    hostname: 'auth.example.com',
    details: { subject_token_type: 'urn:acme:token', actor: { sub: 'a', act: { sub: 'b' } } },
  };
}

const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('LogEventEmitter', () => {
  it('emits each entry under its type, after write returned, as the frozen copy', async () => {
    const events = new LogEventEmitter();
    const log = new TenantLog({ sinks: [events] });
    const seen: Array<[string, LogEntry]> = [];
    events.on('secte', (e) => seen.push(['secte', e]));
    events.on('fecte', (e) => seen.push(['fecte', e]));
    const success = entry('secte');
    log.write(success);
    log.write(entry('fecte'));
    expect(seen).to.eql([]);
    await settle();
    expect(seen.map(([type, e]) => [type, e.type])).to.eql([
      ['secte', 'secte'],
      ['fecte', 'fecte'],
    ]);
    expect(seen[0]![1]).to.eql(success);
    expect(seen[0]![1]).not.to.equal(success);
    expect(Object.isFrozen(seen[0]![1].details.actor!.act)).to.equal(true);
    expect(() => {
      (seen[0]![1] as { description: string }).description = 'tampered';
    }).to.throw(TypeError);
  });

  it('emits any type it is given, so a type added later needs no change here', async () => {
    const events = new LogEventEmitter();
    const seen: string[] = [];
    events.on('limit_sul' as LogEntryType, (e) => seen.push(e.description));
    events.write(entry('limit_sul', 'blocked IP'));
    events.write(entry('secte'));
    await settle();
    expect(seen).to.eql(['blocked IP']);
  });

  it('calls once-listeners for exactly one entry, even when two arrive before delivery', async () => {
    const events = new LogEventEmitter();
    const seen: string[] = [];
    events.once('secte', (e) => seen.push(`once ${e.description}`));
    events.on('secte', (e) => seen.push(`on ${e.description}`));
    events.write(entry('secte', '1'));
    events.write(entry('secte', '2'));
    expect(events.listenerCount('secte')).to.equal(1);
    await settle();
    expect(seen).to.eql(['once 1', 'on 1', 'on 2']);
  });

  it('removes listeners with off, the latest registration first', async () => {
    const events = new LogEventEmitter();
    const seen: string[] = [];
    const listener: LogListener = (e) => seen.push(e.description);
    events.on('secte', listener);
    events.once('secte', listener);
    events.off('secte', listener);
    expect(events.listenerCount('secte')).to.equal(1);
    events.write(entry('secte', '1'));
    events.write(entry('secte', '2'));
    await settle();
    expect(seen).to.eql(['1', '2']); // the `on` registration stayed
    events.off('secte', listener);
    events.off('secte', listener); // nothing left: no effect
    events.off('fecte', listener);
    expect(events.listenerCount('secte')).to.equal(0);
    events.write(entry('secte', '3'));
    await settle();
    expect(seen).to.eql(['1', '2']);
  });

  it('delivers to the listeners registered when the entry was written', async () => {
    const events = new LogEventEmitter();
    const seen: string[] = [];
    events.on('secte', (e) => {
      seen.push(`first ${e.description}`);
      events.on('secte', (later) => seen.push(`added ${later.description}`));
    });
    events.write(entry('secte', '1'));
    await settle();
    expect(seen).to.eql(['first 1']);
  });

  it('isolates a throwing or rejecting listener: the others run, the writer never notices', async () => {
    const reported: Array<[string, string]> = [];
    const events = new LogEventEmitter({
      onListenerError: (error, type) => reported.push([type, (error as Error).message]),
    });
    const memory = new MemoryLogSink();
    const log = new TenantLog({ sinks: [events, memory] });
    const seen: string[] = [];
    events.on('fecte', () => {
      throw new Error('listener bug');
    });
    events.on('fecte', async () => {
      throw new Error('async listener bug');
    });
    events.on('fecte', (e) => seen.push(e.description));
    expect(() => log.write(entry('fecte', 'failed'))).not.to.throw();
    await settle();
    expect(seen).to.eql(['failed']);
    expect(memory.size).to.equal(1);
    expect(log.dropped).to.eql([0, 0]);
    expect(reported).to.have.deep.members([
      ['fecte', 'listener bug'],
      ['fecte', 'async listener bug'],
    ]);
  });

  it('swallows an onListenerError that throws', async () => {
    const events = new LogEventEmitter({
      onListenerError: () => {
        throw new Error('reporter bug');
      },
    });
    events.on('secte', () => {
      throw new Error('listener bug');
    });
    events.write(entry('secte'));
    await settle();
    expect(events.listenerCount('secte')).to.equal(1);
  });

  it('refuses a listener that is not a function or a type that is not one', () => {
    const events = new LogEventEmitter();
    expect(() => events.on('secte', 'log' as unknown as LogListener)).to.throw(
      TypeError,
      'LogEventEmitter: the listener must be a function',
    );
    expect(() => events.once('' as LogEntryType, () => undefined)).to.throw(
      TypeError,
      'LogEventEmitter: the event type must be a log entry type',
    );
    expect(() => new LogEventEmitter({ onListenerError: 1 as unknown as () => void })).to.throw(
      TypeError,
      'LogEventEmitter: options.onListenerError must be a function',
    );
  });
});
