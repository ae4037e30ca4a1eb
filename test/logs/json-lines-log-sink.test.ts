import { mkdir, mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import FakeTimers from '@sinonjs/fake-timers';
import { expect } from 'chai';
import { JsonLinesLogSink } from '../../lib/logs/json-lines-log-sink.js';
import type { JsonLinesLogSinkOptions } from '../../lib/logs/json-lines-log-sink.js';
import type { LogEntry } from '../../lib/logs/log-entry.js';
import { TenantLog, newLogId } from '../../lib/logs/tenant-log.js';

function entry(n: number, padding = 0): LogEntry {
  return {
    log_id: newLogId(),
    date: new Date(Date.UTC(2026, 5, 1, 0, 0, n)).toISOString(),
    type: n % 2 ? 'secte' : 'fecte',
    description: `entry ${n}${'.'.repeat(padding)}`,
    client_id: 'client-1',
    client_name: 'Wëb app', // non-ASCII: sizes are counted in bytes, not characters
    ip: '203.0.113.7',
    hostname: 'auth.example.com',
    details: { subject_token_type: 'urn:acme:token', actor: { sub: `agent-${n}` } },
  };
}

const line = (e: LogEntry): string => `${JSON.stringify(e)}\n`;
const bytesOf = (e: LogEntry): number => Buffer.byteLength(line(e));
const parseLines = (text: string): LogEntry[] =>
  text
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as LogEntry);
const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
/**
 * Settles after the sink's zero-delay flush timer (set before this one, so run before it) and what
 * it started: an ordering point, not a wait for time to pass.
 */
const afterFlushTimer = (): Promise<void> =>
  new Promise<void>((resolve) => setTimeout(resolve, 0)).then(settle);

/**
 * A stream recording each `write` call. `mode`: `ok` answers at once, `stuck` never answers
 * (a destination that stopped reading), `manual` answers when the test calls `answer()`, `fail`
 * answers with an error.
 */
class RecordingStream extends Writable {
  readonly chunks: string[] = [];
  readonly #waiting: Array<(err?: Error | null) => void> = [];
  inFlight = 0;
  maxInFlight = 0;

  constructor(private readonly mode: 'ok' | 'stuck' | 'manual' | 'fail' = 'ok') {
    super({ decodeStrings: false, highWaterMark: 1024 });
  }

  get text(): string {
    return this.chunks.join('');
  }

  override _write(chunk: string, _encoding: string, callback: (err?: Error | null) => void) {
    this.chunks.push(chunk);
    this.inFlight += 1;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    const done = (err?: Error | null) => {
      this.inFlight -= 1;
      callback(err);
    };
    if (this.mode === 'ok') done();
    else if (this.mode === 'fail') done(new Error('EPIPE: the reader went away'));
    else this.#waiting.push(done);
  }

  /** Answers the oldest pending write (mode `manual`). */
  answer(): void {
    this.#waiting.shift()?.();
  }
}

describe('JsonLinesLogSink', () => {
  describe('to a stream', () => {
    it('batches: no write on the caller’s path, then one write for everything buffered', async () => {
      const stream = new RecordingStream();
      const sink = new JsonLinesLogSink({ stream, flushIntervalMs: 60_000 });
      const entries = Array.from({ length: 100 }, (_, i) => entry(i));
      for (const e of entries) sink.write(e);
      expect(stream.chunks).to.have.length(0);
      await settle();
      expect(stream.chunks).to.have.length(0); // under 64 KiB: waits for the interval or a flush
      await sink.flush();
      expect(stream.chunks).to.have.length(1);
      expect(stream.text).to.equal(entries.map(line).join(''));
      expect(parseLines(stream.text)).to.eql(entries);
      expect(sink.written).to.equal(100);
      expect(sink.dropped).to.equal(0);
    });

    it('writes a batch flushIntervalMs after its first entry, without a flush', async () => {
      const clock = FakeTimers.install({ toFake: ['setTimeout', 'clearTimeout'] });
      try {
        const stream = new RecordingStream();
        const sink = new JsonLinesLogSink({ stream, flushIntervalMs: 10 });
        sink.write(entry(1));
        sink.write(entry(2));
        await clock.tickAsync(9);
        expect(stream.chunks).to.have.length(0);
        await clock.tickAsync(1);
        expect(stream.chunks).to.have.length(1);
        expect(parseLines(stream.text)).to.have.length(2);
      } finally {
        clock.uninstall();
      }
    });

    it('writes as soon as 64 KiB wait, without waiting for the interval', async () => {
      const stream = new RecordingStream();
      const sink = new JsonLinesLogSink({ stream, flushIntervalMs: 60_000 });
      const big = entry(1, 1000);
      const count = Math.ceil((64 * 1024) / bytesOf(big));
      for (let i = 0; i < count; i++) sink.write(big);
      expect(stream.chunks).to.have.length(0);
      await settle();
      expect(stream.chunks).to.have.length(1);
      expect(parseLines(stream.text)).to.have.length(count);
    });

    it('keeps one batch in flight at a time; entries arriving meanwhile form the next batch', async () => {
      const stream = new RecordingStream('manual');
      const sink = new JsonLinesLogSink({ stream, flushIntervalMs: 0 });
      sink.write(entry(1));
      await afterFlushTimer();
      expect(stream.chunks).to.have.length(1);
      for (let n = 2; n <= 5; n++) sink.write(entry(n));
      await afterFlushTimer();
      expect(stream.chunks).to.have.length(1); // waiting for the first callback
      stream.answer();
      await afterFlushTimer();
      expect(stream.chunks).to.have.length(2);
      expect(parseLines(stream.chunks[1]!).map((e) => e.description)).to.eql([
        'entry 2',
        'entry 3',
        'entry 4',
        'entry 5',
      ]);
      stream.answer();
      await sink.flush();
      expect(stream.maxInFlight).to.equal(1);
      expect(sink.written).to.equal(5);
    });

    it('caps the buffer behind a stuck stream: beyond maxBufferBytes entries are dropped and counted', async () => {
      const stream = new RecordingStream('stuck');
      const reports: Array<[string, number]> = [];
      const one = bytesOf(entry(10));
      const sink = new JsonLinesLogSink({
        stream,
        flushIntervalMs: 0,
        maxBufferBytes: one * 10,
        closeTimeoutMs: 20,
        onError: (error, dropped) => reports.push([error.message, dropped]),
      });
      sink.write(entry(10));
      await afterFlushTimer(); // the first batch is now in flight, never answered
      expect(stream.chunks).to.have.length(1);
      for (let n = 11; n < 40; n++) expect(sink.write(entry(n))).to.equal(undefined);
      // 10 entries fit: the one in flight and 9 buffered; the other 20 were dropped.
      expect(sink.dropped).to.equal(20);
      expect(reports).to.have.length(20);
      expect(reports[0]).to.eql([
        `the buffer is full (${one * 10} bytes waiting to be written)`,
        1,
      ]);

      const started = performance.now();
      await sink.close();
      expect(performance.now() - started).to.be.lessThan(1000);
      // close() gave up on the batch in flight and the 9 buffered: every entry is accounted for.
      expect(sink.dropped).to.equal(30);
      expect(sink.written).to.equal(0);
      expect(reports.at(-1)).to.eql(['not written within 20 ms of close()', 10]);
      expect(stream.chunks).to.have.length(1);
    });

    it('counts a failed write’s batch as dropped and never throws or crashes on the stream error', async () => {
      const stream = new RecordingStream('fail');
      const reports: Array<[string, number]> = [];
      const sink = new JsonLinesLogSink({
        stream,
        onError: (error, dropped) => reports.push([error.message, dropped]),
      });
      sink.write(entry(1));
      sink.write(entry(2));
      await sink.flush();
      expect(sink.dropped).to.equal(2);
      expect(reports[0]).to.eql(['EPIPE: the reader went away', 2]);
      expect(stream.destroyed).to.equal(true);
      // The stream is gone: later entries are dropped and counted too.
      sink.write(entry(3));
      await sink.flush();
      expect(sink.dropped).to.equal(3);
      expect(sink.written).to.equal(0);
      expect(reports.at(-1)![1]).to.equal(1);
    });

    it('warns once through console.warn by default, then at most once a minute', async () => {
      const original = console.warn;
      const warnings: string[] = [];
      console.warn = (message: string) => warnings.push(message);
      try {
        const sink = new JsonLinesLogSink({ stream: new RecordingStream('fail') });
        for (let i = 0; i < 3; i++) {
          sink.write(entry(i));
          await sink.flush();
        }
        expect(sink.dropped).to.equal(3);
      } finally {
        console.warn = original;
      }
      expect(warnings).to.eql([
        'JsonLinesLogSink (stream): 1 log entry dropped: Error: EPIPE: the reader went away. ' +
          "The sink's dropped count keeps the total.",
      ]);
    });

    it('flushes on close without ending the stream, and drops (counting) what is written after', async () => {
      const stream = new RecordingStream();
      const reports: string[] = [];
      const sink = new JsonLinesLogSink({
        stream,
        flushIntervalMs: 60_000,
        onError: (error) => reports.push(error.message),
      });
      sink.write(entry(1));
      await sink.close();
      expect(parseLines(stream.text)).to.have.length(1);
      expect(stream.writableEnded).to.equal(false);
      expect(stream.listenerCount('error')).to.equal(0);
      sink.write(entry(2));
      expect(sink.dropped).to.equal(1);
      expect(reports).to.eql(['the sink is closed']);
      await sink.close(); // idempotent
      expect(parseLines(stream.text)).to.have.length(1);
    });

    it('is flushed by the tenant log’s close()', async () => {
      const stream = new RecordingStream();
      const sink = new JsonLinesLogSink({ stream, flushIntervalMs: 60_000 });
      const log = new TenantLog({ sinks: [sink] });
      log.write(entry(1));
      log.write(entry(2));
      await log.close();
      expect(parseLines(stream.text).map((e) => e.description)).to.eql(['entry 1', 'entry 2']);
      expect(log.dropped).to.eql([0]);
    });
  });

  describe('to a file', () => {
    let dir: string;
    beforeEach(async () => {
      dir = await mkdtemp(join(tmpdir(), 'cte-json-lines-'));
    });
    afterEach(async () => {
      await rm(dir, { recursive: true, force: true });
    });

    it('appends batches to the file, creating it with mode 0640', async () => {
      const path = join(dir, 'tenant.log');
      await writeFile(path, '{"earlier":true}\n');
      const sink = new JsonLinesLogSink({ path, flushIntervalMs: 60_000 });
      const entries = [entry(1), entry(2), entry(3), entry(4)];
      for (const e of entries.slice(0, 3)) sink.write(e);
      await sink.flush();
      sink.write(entries[3]!);
      await sink.close();
      expect(await readFile(path, 'utf8')).to.equal(
        `{"earlier":true}\n${entries.map(line).join('')}`,
      );
      expect(sink.written).to.equal(4);

      const created = join(dir, 'created.log');
      const fresh = new JsonLinesLogSink({ path: created });
      fresh.write(entry(1));
      await fresh.close();
      expect((await stat(created)).mode & 0o777).to.equal(0o640 & ~process.umask());
    });

    it('rotates by size: path → path.1 → … → path.<maxFiles>, never a file over maxBytes', async () => {
      const path = join(dir, 'tenant.log');
      const size = bytesOf(entry(10, 200));
      const maxBytes = 1024;
      const perFile = Math.floor(maxBytes / size);
      const sink = new JsonLinesLogSink({ path, maxBytes, maxFiles: 2, flushIntervalMs: 60_000 });
      const entries = Array.from({ length: perFile * 5 + 1 }, (_, i) => entry(10 + i, 200));
      expect(bytesOf(entries[0]!)).to.equal(size);
      // Two batches: rotation happens within a batch too.
      entries.slice(0, perFile * 2).forEach((e) => sink.write(e));
      await sink.flush();
      entries.slice(perFile * 2).forEach((e) => sink.write(e));
      await sink.close();

      expect((await readdir(dir)).sort()).to.eql(['tenant.log', 'tenant.log.1', 'tenant.log.2']);
      const files = [`${path}.2`, `${path}.1`, path];
      const texts = await Promise.all(files.map((f) => readFile(f, 'utf8')));
      for (const text of texts) expect(Buffer.byteLength(text)).to.be.at.most(maxBytes);
      // Oldest file first: the newest entries, in order, the oldest ones rotated away.
      const kept = texts.flatMap(parseLines);
      expect(kept).to.eql(entries.slice(entries.length - kept.length));
      expect(texts.map((t) => parseLines(t).length)).to.eql([perFile, perFile, 1]);
      expect(sink.written).to.equal(entries.length);
      expect(sink.dropped).to.equal(0);
    });

    it('rotates an existing file that is already full before writing to it', async () => {
      const path = join(dir, 'tenant.log');
      await writeFile(path, 'x'.repeat(1000) + '\n');
      const sink = new JsonLinesLogSink({ path, maxBytes: 1024, maxFiles: 1 });
      sink.write(entry(1, 100));
      await sink.close();
      expect(await readFile(`${path}.1`, 'utf8')).to.equal('x'.repeat(1000) + '\n');
      expect(parseLines(await readFile(path, 'utf8'))).to.have.length(1);
    });

    it('gives an entry longer than maxBytes a file of its own', async () => {
      const path = join(dir, 'tenant.log');
      const sink = new JsonLinesLogSink({ path, maxBytes: 1024, maxFiles: 3 });
      sink.write(entry(1));
      sink.write(entry(2, 2000));
      sink.write(entry(3));
      await sink.close();
      const counts = await Promise.all(
        [`${path}.2`, `${path}.1`, path].map(async (f) => parseLines(await readFile(f, 'utf8'))),
      );
      expect(counts.map((entries) => entries.map((e) => e.details.actor!.sub))).to.eql([
        ['agent-1'],
        ['agent-2'],
        ['agent-3'],
      ]);
    });

    it('counts a batch it cannot write as dropped, never throws, and writes again once it can', async () => {
      const missing = join(dir, 'not-yet', 'tenant.log');
      const reports: Array<[string, number]> = [];
      const sink = new JsonLinesLogSink({
        path: missing,
        onError: (error, dropped) =>
          reports.push([(error as NodeJS.ErrnoException).code!, dropped]),
      });
      sink.write(entry(1));
      sink.write(entry(2));
      await sink.flush();
      expect(sink.dropped).to.equal(2);
      expect(reports).to.eql([['ENOENT', 2]]);

      await mkdir(join(dir, 'not-yet'));
      sink.write(entry(3));
      await sink.close();
      expect(parseLines(await readFile(missing, 'utf8')).map((e) => e.description)).to.eql([
        'entry 3',
      ]);
      expect(sink.written).to.equal(1);
      expect(sink.dropped).to.equal(2);
    });
  });

  it('refuses options it cannot honour, naming them', () => {
    const stream = new RecordingStream();
    const cases: Array<[unknown, string]> = [
      [undefined, 'JsonLinesLogSink: options must be an object with a stream or a path'],
      [{}, 'JsonLinesLogSink: options needs exactly one of stream and path'],
      [
        { stream, path: '/tmp/x' },
        'JsonLinesLogSink: options needs exactly one of stream and path',
      ],
      [{ stream: {} }, 'JsonLinesLogSink: options.stream must be a writable stream'],
      [{ path: '' }, 'JsonLinesLogSink: options.path must be a non-empty string'],
      [
        { stream, maxBytes: 2048 },
        'JsonLinesLogSink: options.maxBytes and maxFiles apply to a path only',
      ],
      [
        { path: '/tmp/x', maxBytes: 100 },
        'JsonLinesLogSink: options.maxBytes must be an integer from 1024 to 1099511627776',
      ],
      [
        { path: '/tmp/x', maxFiles: 0 },
        'JsonLinesLogSink: options.maxFiles must be an integer from 1 to 1000',
      ],
      [
        { stream, maxBufferBytes: 1.5 },
        'JsonLinesLogSink: options.maxBufferBytes must be an integer from 1024 to 1073741824',
      ],
      [
        { stream, flushIntervalMs: -1 },
        'JsonLinesLogSink: options.flushIntervalMs must be an integer from 0 to 60000',
      ],
      [
        { stream, closeTimeoutMs: '5s' },
        'JsonLinesLogSink: options.closeTimeoutMs must be an integer from 0 to 600000',
      ],
      [{ stream, onError: 'warn' }, 'JsonLinesLogSink: options.onError must be a function'],
      [{ stream, rotate: true }, 'JsonLinesLogSink: options.rotate is not a known option'],
    ];
    for (const [options, message] of cases) {
      expect(() => new JsonLinesLogSink(options as JsonLinesLogSinkOptions), message).to.throw(
        TypeError,
        message,
      );
    }
  });
});
