import { expect } from 'chai';
import { copyPlain, frozenCopy } from '../lib/plain-copy.js';

const sample = () => ({
  user_id: 'auth0|1',
  logins_count: 3,
  blocked: false,
  nothing: null,
  absent: undefined,
  identities: [{ connection: 'partner', user_id: '1', profileData: { tags: ['a', 'b'] } }],
  app_metadata: { nested: { deeper: { deepest: [1, [2, [3]]] } } },
});

describe('copyPlain / frozenCopy: deep copies of plain data', () => {
  it('copies objects and arrays at every level, equal to structuredClone', () => {
    const original = sample();
    const copied = copyPlain(original);
    expect(copied).to.deep.equal(structuredClone(original));
    expect(copied).not.to.equal(original);
    expect(copied.identities[0]).not.to.equal(original.identities[0]);
    expect(copied.app_metadata.nested.deeper.deepest[1]).not.to.equal(
      original.app_metadata.nested.deeper.deepest[1],
    );
    copied.identities[0]!.profileData.tags.push('c');
    expect(original.identities[0]!.profileData.tags).to.deep.equal(['a', 'b']);
    expect(Object.isFrozen(copied)).to.equal(false);
  });

  it('frozenCopy freezes every object and array of the copy, never the original', () => {
    const original = sample();
    const frozen = frozenCopy(original);
    expect(frozen).to.deep.equal(structuredClone(original));
    expect(Object.isFrozen(frozen)).to.equal(true);
    expect(Object.isFrozen(frozen.identities[0]!.profileData.tags)).to.equal(true);
    expect(Object.isFrozen(frozen.app_metadata.nested.deeper.deepest[1])).to.equal(true);
    expect(Object.isFrozen(original)).to.equal(false);
    expect(Object.isFrozen(original.identities)).to.equal(false);
  });

  it('hands other values (Date, Map, typed arrays, cycles) to structuredClone', () => {
    const date = new Date('2026-01-02T03:04:05Z');
    const map = new Map([['k', { v: 1 }]]);
    const cyclic: Record<string, unknown> = { name: 'loop' };
    cyclic.self = cyclic;
    const copied = copyPlain({ date, map, bytes: new Uint8Array([1, 2]), cyclic });
    expect(copied.date).to.be.instanceOf(Date).and.not.equal(date);
    expect(copied.date.getTime()).to.equal(date.getTime());
    expect(copied.map.get('k')).to.deep.equal({ v: 1 });
    expect(copied.map.get('k')).not.to.equal(map.get('k'));
    expect([...copied.bytes]).to.deep.equal([1, 2]);
    let level: Record<string, unknown> = copied.cyclic;
    for (let i = 0; i < 40; i += 1) level = level.self as Record<string, unknown>;
    expect(level.name).to.equal('loop');
    expect(Object.isFrozen(frozenCopy({ date }).date)).to.equal(true);
  });

  it('keeps an own "__proto__" key as data, never as the copy’s prototype', () => {
    const parsed = JSON.parse('{"a": {"__proto__": {"polluted": true}}}') as {
      a: Record<string, unknown>;
    };
    for (const copied of [copyPlain(parsed), frozenCopy(parsed)]) {
      expect(Object.keys(copied.a)).to.deep.equal(['__proto__']);
      expect(Object.getPrototypeOf(copied.a)).to.equal(Object.prototype);
      expect(copied.a.polluted).to.equal(undefined);
      expect(Object.getOwnPropertyDescriptor(copied.a, '__proto__')?.value).to.deep.equal({
        polluted: true,
      });
    }
  });

  it('throws for a function or a symbol, as structuredClone does', () => {
    expect(() => copyPlain({ f: () => 1 })).to.throw(DOMException);
    expect(() => copyPlain([Symbol('s')])).to.throw(DOMException);
  });
});
