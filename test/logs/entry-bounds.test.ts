import { expect } from 'chai';
import {
  DEFAULT_LOG_STRING_LIMIT,
  LOG_DETAIL_LIMITS,
  LOG_FIELD_LIMITS,
  MAX_LOG_ENTRY_BYTES,
  boundedEntry,
  boundedEntrySize,
  cutLogString,
  isBoundedEntry,
} from '../../lib/logs/entry-bounds.js';
import type { LogEntry } from '../../lib/logs/log-entry.js';

function entry(overrides: Partial<LogEntry> = {}): LogEntry {
  return {
    log_id: '0190a1b2c3d4e5f601234567',
    date: '2026-06-01T00:00:00.000Z',
    type: 'fecte',
    description: 'the subject token is invalid',
    client_id: 'app',
    client_name: 'Web app',
    ip: '203.0.113.7',
    user_agent: 'curl/8.5.0',
    hostname: 'auth.example.com',
    audience: 'https://api.example.com/',
    scope: 'openid profile',
    details: {
      subject_token_type: 'urn:acme:legacy-token',
      actor: { sub: 'agent-1', act: { sub: 'platform' } },
      error: 'invalid_request',
      error_description: 'the subject token is invalid',
      cause: 'invalid subject token',
      console: ['checking the token'],
    },
    ...overrides,
  };
}

const bytesOf = (value: unknown): number => Buffer.byteLength(JSON.stringify(value));

describe('cutLogString', () => {
  it('keeps a string within its limit as it is', () => {
    expect(cutLogString('a'.repeat(20), 20)).to.equal('a'.repeat(20));
  });

  it('cuts a longer one to exactly the limit, ending with …[+N] (N the characters cut)', () => {
    const cut = cutLogString('x'.repeat(1_000_000), 256);
    expect(cut).to.have.length(256);
    expect(cut).to.equal(`${'x'.repeat(246)}…[+999754]`);
    expect(cutLogString('abcdefghijklmnopqrstuvwxyz', 16)).to.equal('abcdefghij…[+16]');
  });

  it('never splits a surrogate pair', () => {
    expect(cutLogString('😀'.repeat(20), 16)).to.equal('😀😀😀😀😀…[+30]');
    // Kept as is, the 15th character would be the first half of the fifth emoji.
    expect(cutLogString('😀'.repeat(20), 15)).to.equal('😀😀😀😀…[+32]');
  });
});

describe('boundedEntry', () => {
  it('copies an entry within its bounds as it is, deep-frozen, and knows its size', () => {
    const original = entry();
    const copy = boundedEntry(original);
    expect(copy).to.deep.equal(original);
    expect(copy).not.to.equal(original);
    expect(Object.isFrozen(copy)).to.equal(true);
    expect(Object.isFrozen(copy.details.actor!.act)).to.equal(true);
    expect(Object.isFrozen(copy.details.console)).to.equal(true);
    expect(isBoundedEntry(copy)).to.equal(true);
    expect(isBoundedEntry(original)).to.equal(false);
    expect(isBoundedEntry(Object.freeze(entry()))).to.equal(false);
    for (const value of [null, undefined, 'text', 3]) expect(isBoundedEntry(value)).to.equal(false);
    expect(boundedEntrySize(copy)).to.equal(bytesOf(copy));
    expect(() => boundedEntrySize(original)).to.throw(TypeError, 'not a bounded entry');
  });

  it('cuts every field a caller controls to its documented length, with the marker', () => {
    const huge = 'h'.repeat(1_000_000);
    const copy = boundedEntry(
      entry({
        description: huge,
        client_id: huge,
        client_name: huge,
        ip: huge,
        user_agent: huge,
        hostname: huge,
        audience: huge,
        scope: huge,
        user_id: huge,
        user_name: huge,
        connection: huge,
        organization_id: huge,
        details: {
          subject_token_type: huge,
          error: huge,
          error_description: huge,
          cause: huge,
          console: [huge, 'short line'],
          actor: { sub: huge, act: { sub: huge, team: huge } },
          // A field no limit names keeps the default one.
          ...({ extra: huge } as object),
        },
      }),
    );
    const top = copy as unknown as Record<string, string>;
    for (const [field, limit] of Object.entries(LOG_FIELD_LIMITS)) {
      expect(top[field], field).to.have.length(limit);
      expect(top[field], field).to.match(/^h+…\[\+\d+\]$/);
    }
    const details = copy.details as Record<string, unknown>;
    for (const [field, limit] of Object.entries(LOG_DETAIL_LIMITS)) {
      expect(details[field], field).to.have.length(limit);
      expect(details[field], field).to.match(/^h+…\[\+\d+\]$/);
    }
    expect(details.extra).to.have.length(DEFAULT_LOG_STRING_LIMIT);
    expect(copy.details.console).to.deep.equal([cutLogString(huge, 256), 'short line']);
    expect(copy.details.actor).to.deep.equal({
      sub: cutLogString(huge, 256),
      act: { sub: cutLogString(huge, 256), team: cutLogString(huge, 256) },
    });
    expect(boundedEntrySize(copy)).to.be.below(16 * 1024);
  });

  it('caps arrays, objects and depth, saying how much was cut', () => {
    let deep: Record<string, unknown> = { sub: 'bottom' };
    for (let i = 0; i < 10; i++) deep = { sub: `level-${i}`, act: deep };
    const many = Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`k${i}`, i]));
    const copy = boundedEntry(
      entry({
        details: {
          console: Array.from({ length: 200 }, (_, i) => `line ${i}`),
          actor: deep as never,
          ...({ many } as object),
        },
      }),
    );
    const lines = copy.details.console!;
    expect(lines).to.have.length(129);
    expect(lines[127]).to.equal('line 127');
    expect(lines[128]).to.equal('…[+72 items]');
    const kept = (copy.details as Record<string, Record<string, unknown>>).many!;
    expect(Object.keys(kept)).to.have.length(33);
    expect(kept['k31']).to.equal(31);
    expect(kept['…']).to.equal('[+8 properties]');
    // The entry is level 1, details 2, the actor 3: levels beyond 8 become a marker.
    let level: unknown = copy.details.actor;
    for (let depth = 3; depth < 8; depth++) level = (level as { act: unknown }).act;
    expect(level).to.deep.equal({ sub: 'level-4', act: '…[nested too deep]' });
  });

  it('shrinks an entry over the total cap until it fits, keeping every field', () => {
    // 100 console lines of 256 three-byte characters: 77 kB of JSON before the cap.
    const lines = Array.from({ length: 100 }, () => '€'.repeat(256));
    const copy = boundedEntry(entry({ details: { console: lines, error: 'invalid_request' } }));
    expect(boundedEntrySize(copy)).to.be.at.most(MAX_LOG_ENTRY_BYTES);
    expect(bytesOf(copy)).to.equal(boundedEntrySize(copy));
    expect(copy.details.error).to.equal('invalid_request');
    expect(copy.details.console).to.have.length(100);
    expect(copy.details.console![0]).to.match(/^€+…\[\+\d+\]$/);
    expect(copy.client_id).to.equal('app');
  });

  it('bounds the work and the size of a huge graph: a value budget, then shrinking', () => {
    // One object shared as every property of the next level: a small graph, a huge tree.
    let wide: unknown = 'x'.repeat(300);
    for (let level = 0; level < 5; level++) {
      const below = wide;
      wide = Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`key-${i}`, below]));
    }
    const started = process.hrtime.bigint();
    const copy = boundedEntry(entry({ details: { actor: wide as never } }));
    expect(Number(process.hrtime.bigint() - started) / 1e6).to.be.below(1000);
    expect(boundedEntrySize(copy)).to.be.at.most(MAX_LOG_ENTRY_BYTES);
    expect(copy).to.deep.include({ type: 'fecte', client_id: 'app', ip: '203.0.113.7' });
    const actor = copy.details.actor as unknown as Record<string, Record<string, unknown>>;
    expect(actor['…']).to.equal('[+39 properties]');
    expect(actor['key-0']!['…']).to.match(/^\[\+\d+ properties\]$/);
  });

  it('copies JSON-like: toJSON, bigint as text, own "__proto__" as data; a function throws', () => {
    const details = JSON.parse('{"__proto__": {"polluted": true}}') as Record<string, unknown>;
    details.when = new Date('2026-01-02T03:04:05.000Z');
    details.big = 12345678901234567890n;
    details.missing = undefined;
    const copy = boundedEntry(entry({ details: details }));
    expect(Object.getPrototypeOf(copy.details)).to.equal(Object.prototype);
    expect(Object.getOwnPropertyDescriptor(copy.details, '__proto__')?.value).to.deep.equal({
      polluted: true,
    });
    expect(copy.details).to.deep.include({
      when: '2026-01-02T03:04:05.000Z',
      big: '12345678901234567890',
      missing: undefined,
    });
    expect(() => boundedEntry(entry({ description: (() => 'x') as never }))).to.throw(
      TypeError,
      'a log entry cannot hold a function',
    );
  });
});
