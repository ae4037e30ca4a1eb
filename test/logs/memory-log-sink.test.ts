import { expect } from 'chai';
import type { LogEntry, LogEntryType } from '../../lib/logs/log-entry.js';
import { MemoryLogSink } from '../../lib/logs/memory-log-sink.js';

function entry(n: number, type: LogEntryType = 'secte'): LogEntry {
  return {
    log_id: `log-${n}`,
    date: new Date(Date.UTC(2025, 5, 1, 0, 0, n)).toISOString(),
    type,
    description: type === 'secte' ? 'Succesful Exchange' : 'Failed Exchange',
    client_id: 'client-1',
    client_name: 'Web app',
    ip: '203.0.113.7',
    hostname: 'auth.example.com',
    details: { subject_token_type: 'urn:acme:token', actor: { sub: `agent-${n}` } },
  };
}

const ids = (entries: LogEntry[]): string[] => entries.map((e) => e.log_id);

describe('MemoryLogSink', () => {
  it('lists newest first and keeps only the latest `capacity` entries', () => {
    const sink = new MemoryLogSink({ capacity: 3 });
    for (let n = 1; n <= 5; n++) sink.write(entry(n));
    expect(sink.size).to.equal(3);
    expect(sink.capacity).to.equal(3);
    expect(ids(sink.list())).to.eql(['log-5', 'log-4', 'log-3']);
    for (let n = 6; n <= 8; n++) sink.write(entry(n));
    expect(ids(sink.list())).to.eql(['log-8', 'log-7', 'log-6']);
  });

  it('keeps 1000 entries by default', () => {
    const sink = new MemoryLogSink();
    for (let n = 1; n <= 1001; n++) sink.write(entry(n));
    const listed = sink.list();
    expect(listed).to.have.length(1000);
    expect(listed[0]!.log_id).to.equal('log-1001');
    expect(listed[999]!.log_id).to.equal('log-2');
  });

  it('stores and returns deep copies', () => {
    const sink = new MemoryLogSink();
    const original = entry(1);
    sink.write(original);
    original.details.actor!.sub = 'changed after write';
    const [listed] = sink.list();
    listed!.details.actor!.sub = 'changed by a reader';
    expect(sink.list()).to.eql([entry(1)]);
  });

  it('filters by type and pages with take and a from cursor', () => {
    const sink = new MemoryLogSink();
    for (let n = 1; n <= 7; n++) sink.write(entry(n, n % 3 === 0 ? 'fecte' : 'secte'));
    expect(ids(sink.list({ type: 'fecte' }))).to.eql(['log-6', 'log-3']);
    expect(ids(sink.list({ take: 2 }))).to.eql(['log-7', 'log-6']);
    expect(ids(sink.list({ from: 'log-6', take: 2 }))).to.eql(['log-5', 'log-4']);
    expect(ids(sink.list({ from: 'log-6', type: 'secte' }))).to.eql([
      'log-5',
      'log-4',
      'log-2',
      'log-1',
    ]);

    const pages: string[][] = [];
    let from: string | undefined;
    for (;;) {
      const page = sink.list({ take: 3, ...(from === undefined ? {} : { from }) });
      if (page.length === 0) break;
      pages.push(ids(page));
      from = page[page.length - 1]!.log_id;
    }
    expect(pages).to.eql([['log-7', 'log-6', 'log-5'], ['log-4', 'log-3', 'log-2'], ['log-1']]);
  });

  it('answers an empty page for a cursor no longer (or never) held', () => {
    const sink = new MemoryLogSink({ capacity: 2 });
    for (let n = 1; n <= 4; n++) sink.write(entry(n));
    expect(sink.list({ from: 'log-1' })).to.eql([]);
    expect(sink.list({ from: 'unknown' })).to.eql([]);
    expect(ids(sink.list({ from: 'log-4' }))).to.eql(['log-3']);
  });

  it('forgets everything on clear', () => {
    const sink = new MemoryLogSink({ capacity: 2 });
    sink.write(entry(1));
    sink.write(entry(2));
    sink.write(entry(3));
    sink.clear();
    expect(sink.size).to.equal(0);
    expect(sink.list()).to.eql([]);
    sink.write(entry(4));
    expect(ids(sink.list())).to.eql(['log-4']);
  });

  it('refuses a bad capacity or take', () => {
    for (const capacity of [0, -1, 1.5, 1_000_001, Number.NaN]) {
      expect(() => new MemoryLogSink({ capacity }), String(capacity)).to.throw(
        TypeError,
        'MemoryLogSink: options.capacity must be an integer from 1 to 1000000',
      );
    }
    const sink = new MemoryLogSink();
    for (const take of [0, -5, 2.5]) {
      expect(() => sink.list({ take }), String(take)).to.throw(
        RangeError,
        'MemoryLogSink.list: take must be a positive integer',
      );
    }
  });
});
