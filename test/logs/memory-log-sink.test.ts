import { expect } from 'chai';
import type { LogEntry, LogEntryType } from '../../lib/logs/log-entry.js';
import { MemoryLogSink } from '../../lib/logs/memory-log-sink.js';
import { boundedEntry, boundedEntrySize } from '../../lib/logs/entry-bounds.js';
import type { LogQuery } from '../../lib/logs/log-query.js';

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

  it("keeps the tenant log's bounded copy as it is, and still lists mutable copies", () => {
    const sink = new MemoryLogSink();
    const frozen = boundedEntry(entry(1));
    sink.write(frozen);
    const [listed] = sink.list();
    expect(listed).to.eql(entry(1));
    expect(listed).not.to.equal(frozen);
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

  it('holds entries written to it directly within the log bounds', () => {
    const sink = new MemoryLogSink();
    const huge = entry(1);
    huge.details.subject_token_type = 's'.repeat(1_000_000);
    sink.write(huge);
    const [listed] = sink.list();
    expect(listed!.details.subject_token_type).to.equal(`${'s'.repeat(246)}…[+999754]`);
    expect(sink.bytes).to.equal(Buffer.byteLength(JSON.stringify(listed)));
  });

  it('stays within maxBytes by dropping the oldest entries, and counts what it holds', () => {
    // Entries of about 8 kB each: four fit in 32 KiB, with the lines each entry holds.
    const big = (n: number): LogEntry => {
      const e = entry(n);
      e.details.console = Array.from({ length: 32 }, () => 'c'.repeat(240));
      return e;
    };
    const size = boundedEntrySize(boundedEntry(big(1)));
    expect(size).to.be.within(8000, 8192);
    const sink = new MemoryLogSink({ maxBytes: 32 * 1024 });
    for (let n = 1; n <= 10; n++) sink.write(big(n));
    expect(ids(sink.list())).to.eql(['log-10', 'log-9', 'log-8', 'log-7']);
    const bytesOf = (entries: LogEntry[]) =>
      entries.reduce((sum, e) => sum + Buffer.byteLength(JSON.stringify(e)), 0);
    expect(sink.bytes).to.equal(bytesOf(sink.list()));
    expect(sink.bytes).to.be.at.most(32 * 1024);
    // A small entry fits beside them; the next big one makes room for itself.
    sink.write(entry(11));
    expect(ids(sink.list())).to.eql(['log-11', 'log-10', 'log-9', 'log-8', 'log-7']);
    sink.write(big(12));
    expect(ids(sink.list())).to.eql(['log-12', 'log-11', 'log-10', 'log-9', 'log-8']);
    sink.clear();
    expect(sink.bytes).to.equal(0);
    expect(new MemoryLogSink().bytes).to.equal(0);
  });

  it('refuses a bad maxBytes', () => {
    for (const maxBytes of [0, 32767, 2 ** 30 + 1, 1.5]) {
      expect(() => new MemoryLogSink({ maxBytes }), String(maxBytes)).to.throw(
        TypeError,
        'MemoryLogSink: options.maxBytes must be an integer from 32768 to 1073741824',
      );
    }
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

// The query semantics every queryable sink shares are the exported contract's
// (test/stores/memory-contracts.test.ts); what is particular to the ring stays here.
describe('MemoryLogSink.list queries', () => {
  /** Entries an operator would find after an incident: two clients, two users, three IPs. */
  const incident: LogEntry[] = [
    { n: 1, type: 'secte', client: 'web', user: 'auth0|alice', ip: '203.0.113.7' },
    { n: 2, type: 'fecte', client: 'web', user: undefined, ip: '198.51.100.9' },
    { n: 3, type: 'fecte', client: 'mobile', user: undefined, ip: '::ffff:198.51.100.9' },
    { n: 4, type: 'secte', client: 'mobile', user: 'auth0|bob', ip: '2001:DB8::1' },
    { n: 5, type: 'fecte', client: null, user: undefined, ip: '198.51.100.9' },
    { n: 6, type: 'secte', client: 'web', user: 'auth0|bob', ip: '203.0.113.7' },
    { n: 7, type: 'secte', client: 'web', user: 'auth0|alice', ip: '2001:db8::1' },
  ].map(({ n, type, client, user, ip }) => ({
    ...entry(n, type as LogEntryType),
    // One entry a minute from 2026-03-01T10:00Z.
    date: new Date(Date.UTC(2026, 2, 1, 10, n - 1)).toISOString(),
    client_id: client,
    client_name: client ?? '',
    ip,
    ...(user === undefined ? {} : { user_id: user }),
  }));

  let sink: MemoryLogSink;
  beforeEach(() => {
    sink = new MemoryLogSink();
    for (const e of incident) sink.write(e);
  });

  it('finds a cursor after the ring wrapped, and none once its entry is evicted', () => {
    const ring = new MemoryLogSink({ capacity: 3 });
    for (let n = 1; n <= 5; n++) ring.write(entry(n));
    expect(ids(ring.list({ from: 'log-5' }))).to.eql(['log-4', 'log-3']);
    expect(ids(ring.list({ from: 'log-4' }))).to.eql(['log-3']);
    expect(ring.list({ from: 'log-2' })).to.eql([]);
    ring.clear();
    expect(ring.list({ from: 'log-5' })).to.eql([]);
  });

  it('uses the latest entry of a log_id written twice as the cursor, even after the first is evicted', () => {
    const ring = new MemoryLogSink({ capacity: 3 });
    ring.write(entry(1));
    ring.write(entry(2));
    ring.write(entry(1)); // the same log_id again
    ring.write(entry(3)); // evicts the first log-1
    expect(ids(ring.list())).to.eql(['log-3', 'log-1', 'log-2']);
    expect(ids(ring.list({ from: 'log-1' }))).to.eql(['log-2']);
  });

  it('refuses unknown query fields and malformed filters', () => {
    expect(() => sink.list({ per_page: 10 } as LogQuery)).to.throw(
      TypeError,
      'MemoryLogSink.list: unknown query field "per_page"',
    );
    expect(() => sink.list(null as unknown as LogQuery)).to.throw(
      TypeError,
      'MemoryLogSink.list: the query must be an object',
    );
    const invalid: Array<[LogQuery, string]> = [
      [
        { from_date: 'yesterday' },
        'MemoryLogSink.list: from_date must be an ISO 8601 date or a Date',
      ],
      [
        { to_date: new Date(Number.NaN) },
        'MemoryLogSink.list: to_date must be an ISO 8601 date or a Date',
      ],
      [
        { to_date: 1_700_000_000_000 as unknown as string },
        'MemoryLogSink.list: to_date must be an ISO 8601 date or a Date',
      ],
      [{ type: [] }, 'MemoryLogSink.list: type must be a log entry type or a non-empty array'],
      [
        { type: '' as LogEntryType },
        'MemoryLogSink.list: type must be a log entry type or a non-empty array',
      ],
      [{ client_id: 7 as unknown as string }, 'MemoryLogSink.list: client_id must be a string'],
      [{ ip: ['1.2.3.4'] as unknown as string }, 'MemoryLogSink.list: ip must be a string'],
      [{ from: 42 as unknown as string }, 'MemoryLogSink.list: from must be a string'],
    ];
    for (const [query, message] of invalid) {
      expect(() => sink.list(query), JSON.stringify(query)).to.throw(RangeError, message);
    }
  });
});
