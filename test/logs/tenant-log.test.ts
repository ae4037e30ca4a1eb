import { expect } from 'chai';
import type { LogEntry, LogSink } from '../../lib/logs/log-entry.js';
import { MemoryLogSink } from '../../lib/logs/memory-log-sink.js';
import { TenantLog, newLogId } from '../../lib/logs/tenant-log.js';

function entry(overrides: Partial<LogEntry> = {}): LogEntry {
  return {
    log_id: newLogId(),
    date: '2025-06-01T00:00:00.000Z',
    type: 'secte',
    description: 'Succesful Exchange via Custom Token Exchange',
    client_id: 'client-1',
    client_name: 'Web app',
    ip: '203.0.113.7',
    hostname: 'auth.example.com',
    audience: 'https://api.example.com',
    scope: 'read:orders',
    user_id: 'auth0|1',
    details: {
      subject_token_type: 'urn:acme:partner-id-token',
      profile_id: 'tep_0123456789abcdef',
      actor: { sub: 'agent-1', act: { sub: 'platform' } },
    },
    ...overrides,
  };
}

/** Lets queued promise reactions run. */
const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

class RecordingSink implements LogSink {
  readonly entries: LogEntry[] = [];
  closed = 0;
  write(e: LogEntry): void {
    this.entries.push(e);
  }
  close(): void {
    this.closed += 1;
  }
}

describe('TenantLog', () => {
  it('hands every sink the same frozen copy of the entry', () => {
    const a = new RecordingSink();
    const b = new RecordingSink();
    const log = new TenantLog({ sinks: [a, b] });
    const original = entry();
    log.write(original);
    expect(a.entries).to.eql([original]);
    expect(b.entries[0]).to.equal(a.entries[0]);
    expect(a.entries[0]).not.to.equal(original);
    expect(Object.isFrozen(a.entries[0])).to.equal(true);
    expect(Object.isFrozen(a.entries[0]!.details.actor!.act)).to.equal(true);
    original.details.subject_token_type = 'changed later by the caller';
    expect(a.entries[0]!.details.subject_token_type).to.equal('urn:acme:partner-id-token');
    expect(log.dropped).to.eql([0, 0]);
  });

  it('survives a throwing sink: the other sinks get the entry, the drop is counted', () => {
    const errors: Array<[unknown, LogSink, LogEntry]> = [];
    const throwing: LogSink = {
      write: () => {
        throw new Error('disk full');
      },
    };
    const memory = new MemoryLogSink();
    const log = new TenantLog({
      sinks: [throwing, memory],
      onSinkError: (error, sink, e) => errors.push([error, sink, e]),
    });
    const written = entry();
    expect(log.write(written)).to.equal(undefined);
    log.write(entry());
    expect(memory.size).to.equal(2);
    expect(log.dropped).to.eql([2, 0]);
    expect(errors).to.have.length(2);
    expect((errors[0]![0] as Error).message).to.equal('disk full');
    expect(errors[0]![1]).to.equal(throwing);
    expect(errors[0]![2]).to.eql(written);
  });

  it('survives a rejecting sink without waiting for it; the drop counts once it rejects', async () => {
    let reject: (err: Error) => void = () => undefined;
    const rejecting: LogSink = {
      write: () => new Promise<void>((_resolve, rej) => (reject = rej)),
    };
    const memory = new MemoryLogSink();
    const log = new TenantLog({ sinks: [rejecting, memory] });
    log.write(entry());
    // write returned while the sink's promise is still pending.
    expect(memory.size).to.equal(1);
    expect(log.dropped).to.eql([0, 0]);
    reject(new Error('connection reset'));
    await settle();
    expect(log.dropped).to.eql([1, 0]);
  });

  it('swallows an onSinkError that throws', () => {
    const log = new TenantLog({
      sinks: [
        {
          write: () => {
            throw new Error('sink');
          },
        },
      ],
      onSinkError: () => {
        throw new Error('reporter');
      },
    });
    expect(() => log.write(entry())).not.to.throw();
    expect(log.dropped).to.eql([1]);
  });

  it('drops an entry that cannot be copied instead of throwing', () => {
    const sink = new RecordingSink();
    const log = new TenantLog({ sinks: [sink] });
    const bad = entry({ description: (() => 'x') as unknown as string });
    expect(() => log.write(bad)).not.to.throw();
    expect(sink.entries).to.eql([]);
    expect(log.dropped).to.eql([1]);
  });

  it('closes after pending writes settle, swallowing close errors; later writes are dropped', async () => {
    const events: string[] = [];
    let finish: () => void = () => undefined;
    const slow: LogSink = {
      write: () =>
        new Promise<void>((resolve) => {
          finish = () => {
            events.push('write finished');
            resolve();
          };
        }),
      close: () => {
        events.push('slow closed');
      },
    };
    const failingClose: LogSink = {
      write: () => undefined,
      close: async () => {
        throw new Error('already closed');
      },
    };
    const log = new TenantLog({ sinks: [slow, failingClose] });
    log.write(entry());
    const closing = log.close();
    await settle();
    expect(events).to.eql([]);
    finish();
    await closing;
    expect(events).to.eql(['write finished', 'slow closed']);

    log.write(entry());
    expect(log.dropped).to.eql([1, 1]);
    await log.close();
    expect(events).to.eql(['write finished', 'slow closed']);
  });

  it('drops, and counts, entries for a sink with too many pending writes; the others get them', async () => {
    const errors: string[] = [];
    const resolvers: Array<() => void> = [];
    const hanging: LogSink = {
      write: () => new Promise<void>((resolve) => resolvers.push(resolve)),
    };
    const memory = new MemoryLogSink();
    const log = new TenantLog({
      sinks: [hanging, memory],
      maxPendingWrites: 3,
      onSinkError: (error) => errors.push((error as Error).message),
    });
    for (let i = 0; i < 5; i++) log.write(entry());
    expect(resolvers).to.have.length(3);
    expect(memory.size).to.equal(5);
    expect(log.dropped).to.eql([2, 0]);
    expect(errors).to.eql([
      '3 writes of this sink are still pending',
      '3 writes of this sink are still pending',
    ]);
    // Once writes settle, the sink takes entries again.
    resolvers.splice(0).forEach((resolve) => resolve());
    await settle();
    log.write(entry());
    expect(resolvers).to.have.length(1);
    expect(log.dropped).to.eql([2, 0]);
  });

  it('gives up on a write that never settles at close, counting it, and on a close that never returns', async () => {
    const errors: string[] = [];
    const never: LogSink = { write: () => new Promise<void>(() => undefined) };
    const stuckClose: LogSink = {
      write: () => undefined,
      close: () => new Promise<void>(() => undefined),
    };
    const log = new TenantLog({
      sinks: [never, stuckClose],
      closeTimeoutMs: 20,
      onSinkError: (error) => errors.push((error as Error).message),
    });
    log.write(entry());
    log.write(entry());
    const started = performance.now();
    await log.close();
    expect(performance.now() - started).to.be.lessThan(1000);
    expect(log.dropped).to.eql([2, 0]);
    expect(errors).to.eql([
      'the write was still pending when the tenant log closed',
      'the write was still pending when the tenant log closed',
    ]);
  });

  it('does not count a write twice when it rejects after close gave up on it', async () => {
    let reject: (err: Error) => void = () => undefined;
    const late: LogSink = {
      write: () => new Promise<void>((_resolve, rej) => (reject = rej)),
    };
    const log = new TenantLog({ sinks: [late], closeTimeoutMs: 0 });
    log.write(entry());
    await log.close();
    expect(log.dropped).to.eql([1]);
    reject(new Error('too late'));
    await settle();
    expect(log.dropped).to.eql([1]);
  });

  it('adds what a sink counts itself to its dropped count', () => {
    const counting: LogSink & { dropped: number } = { dropped: 0, write: () => undefined };
    const log = new TenantLog({
      sinks: [
        counting,
        {
          write: () => {
            throw new Error('x');
          },
        },
      ],
    });
    counting.dropped = 4;
    log.write(entry());
    expect(log.dropped).to.eql([4, 1]);
  });

  it('makes a second close() wait for the first one to finish', async () => {
    let finish: () => void = () => undefined;
    const slow: LogSink = {
      write: () => new Promise<void>((resolve) => (finish = resolve)),
    };
    const log = new TenantLog({ sinks: [slow] });
    log.write(entry());
    const order: string[] = [];
    const first = log.close().then(() => order.push('first'));
    const second = log.close().then(() => order.push('second'));
    await settle();
    expect(order).to.eql([]);
    finish();
    await Promise.all([first, second]);
    expect(order).to.eql(['first', 'second']);
    expect(log.dropped).to.eql([0]);
  });

  it('ignores a sink dropped counter that throws', () => {
    const broken = {
      write: () => undefined,
      get dropped(): number {
        throw new Error('counter bug');
      },
    };
    const log = new TenantLog({ sinks: [broken] });
    expect(log.dropped).to.eql([0]);
  });

  it('refuses a bad maxPendingWrites or closeTimeoutMs', () => {
    for (const maxPendingWrites of [0, 1.5, 1_000_001]) {
      expect(() => new TenantLog({ sinks: [], maxPendingWrites })).to.throw(
        TypeError,
        'TenantLog: options.maxPendingWrites must be an integer from 1 to 1000000',
      );
    }
    for (const closeTimeoutMs of [-1, 0.5, 600_001]) {
      expect(() => new TenantLog({ sinks: [], closeTimeoutMs })).to.throw(
        TypeError,
        'TenantLog: options.closeTimeoutMs must be an integer from 0 to 600000',
      );
    }
  });

  it('refuses sinks without write()', () => {
    expect(() => new TenantLog({ sinks: [{} as LogSink] })).to.throw(
      TypeError,
      'TenantLog: options.sinks[0] must have a write(entry) method',
    );
    expect(() => new TenantLog({} as { sinks: LogSink[] })).to.throw(
      TypeError,
      'TenantLog: options.sinks must be an array of log sinks',
    );
  });
});

describe('newLogId', () => {
  it('makes 24 hex characters, the first 12 the time in milliseconds', () => {
    const before = Date.now();
    const id = newLogId();
    const after = Date.now();
    expect(id).to.match(/^[0-9a-f]{24}$/);
    const time = parseInt(id.slice(0, 12), 16);
    expect(time).to.be.within(before, after + 1);
  });

  it('makes unique ids that sort in creation order, even within one millisecond', () => {
    const ids = Array.from({ length: 20_000 }, () => newLogId());
    expect(new Set(ids).size).to.equal(ids.length);
    expect([...ids].sort()).to.eql(ids);
  });
});
