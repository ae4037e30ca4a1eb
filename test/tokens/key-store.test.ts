import crypto from 'node:crypto';
import { expect } from 'chai';
import { OAuthError } from '../../lib/errors.js';
import { KeySet } from '../../lib/tokens/key-set.js';
import type { SigningKeyInput } from '../../lib/tokens/key-set.js';
import { MemoryKeyStore } from '../../lib/tokens/key-store.js';
import type { KeySchedule, KeyStore, StoredSigningKey } from '../../lib/tokens/key-store.js';
import { waitUntil } from '../support/server-process.js';

const T0 = Date.UTC(2030, 0, 1);

function privateJwk(kid: string): SigningKeyInput {
  const { privateKey } = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return { ...privateKey.export({ format: 'jwk' }), kid, alg: 'ES256' } as SigningKeyInput;
}

/** A store over a memory store that counts loads and can be made to fail. */
class FlakyStore implements KeyStore {
  readonly inner = new MemoryKeyStore();
  loads = 0;
  down = false;
  load(): Promise<KeySchedule> {
    this.loads += 1;
    return this.down ? Promise.reject(new Error('connection refused')) : this.inner.load();
  }
  save(revision: number, keys: readonly StoredSigningKey[]): Promise<boolean> {
    return this.down
      ? Promise.reject(new Error('connection refused'))
      : this.inner.save(revision, keys);
  }
}

describe('KeySet on a shared KeyStore', () => {
  let clock: number;
  const sets: KeySet[] = [];
  const instance = (store: KeyStore, extra: ConstructorParameters<typeof KeySet>[0] = {}) => {
    const set = new KeySet({ store, now: () => clock, refreshIntervalMs: 20, ...extra });
    sets.push(set);
    return set;
  };

  beforeEach(() => {
    clock = T0;
  });

  afterEach(() => {
    for (const set of sets.splice(0)) set.close();
  });

  it('makes the keys once, however many instances start at once, and all sign with them', async () => {
    const store = new MemoryKeyStore();
    const fleet = [instance(store), instance(store), instance(store)];
    for (const set of fleet) set.ensure('ES256');
    await Promise.all(fleet.map((set) => set.whenReady()));
    const { keys } = await store.load();
    expect(keys.map(({ alg, signs_from }) => [alg, signs_from])).to.deep.equal([
      ['ES256', T0],
      ['ES256', null],
    ]);
    expect(keys.every((key) => key.private_jwk !== undefined)).to.equal(true);
    for (const set of fleet) {
      expect(set.signingKey('ES256').kid).to.equal(keys[0]!.kid);
      expect(set.jwks()).to.deep.equal(fleet[0]!.jwks());
    }
  });

  it('answers 503 until the schedule is read, and reads it again on the next request when it failed', async () => {
    const store = new FlakyStore();
    store.down = true;
    const set = instance(store, { refreshIntervalMs: 3_600_000 });
    set.ensure('ES256');
    const failed = await set.whenReady()!.then(
      () => expect.fail('read a store that is down'),
      (error: unknown) => error as OAuthError,
    );
    expect([failed.status, failed.headers, failed.privateCause]).to.deep.equal([
      503,
      { 'Retry-After': '5' },
      'the signing-key schedule could not be read from the key store: connection refused',
    ]);
    for (const call of [() => set.signingKey('ES256'), () => set.jwks()]) {
      expect(call).to.throw(OAuthError, 'The server is busy; retry later.');
    }
    expect(set.verificationKey('any')).to.equal(undefined);
    store.down = false;
    await set.whenReady();
    expect(set.whenReady()).to.equal(undefined);
    expect(set.jwks().keys).to.have.length(2);
  });

  it('publishes a rotation everywhere before the rotated-to key signs anywhere', async () => {
    const store = new MemoryKeyStore();
    const [a, b] = [instance(store, { publishAheadSeconds: 600 }), instance(store)];
    a.ensure('ES256');
    b.ensure('ES256');
    await Promise.all([a.whenReady(), b.whenReady()]);
    const before = b.signingKey('ES256').kid;
    const [rotation] = await a.rotate('ES256');
    expect(rotation!.signs_from).to.equal(new Date(T0 + 600_000).toISOString());
    const fresh = rotation!.next!;
    await waitUntil(
      async () => b.jwks().keys.some((key) => key.kid === fresh),
      'the other instance reading the new schedule',
    );
    expect(b.signingKey('ES256').kid).to.equal(before);
    clock = T0 + 600_000;
    expect(b.signingKey('ES256').kid).to.equal(rotation!.current);
    expect(a.signingKey('ES256').kid).to.equal(rotation!.current);
    expect(b.verificationKey(before)?.alg).to.equal('ES256');
  });

  it('lets two rotations at once on two instances schedule one', async () => {
    const store = new MemoryKeyStore();
    const [a, b] = [
      instance(store, { publishAheadSeconds: 60 }),
      instance(store, { publishAheadSeconds: 60 }),
    ];
    a.ensure('EdDSA');
    b.ensure('EdDSA');
    await Promise.all([a.whenReady(), b.whenReady()]);
    const [first, second] = await Promise.all([a.rotate('EdDSA'), b.rotate('EdDSA')]);
    expect(second).to.deep.equal(first);
    const { keys } = await store.load();
    expect(keys.filter((key) => key.signs_from !== null && key.signs_from > T0)).to.have.length(1);
  });

  it('enters the host keys, public parts only, and each instance signs with its own copy', async () => {
    const store = new MemoryKeyStore();
    const es1 = privateJwk('es-1');
    const a = instance(store, { keys: [es1] });
    const b = instance(store, { keys: [es1] });
    await Promise.all([a.whenReady(), b.whenReady()]);
    const { keys } = await store.load();
    expect(keys.map((key) => [key.kid, key.signs_from, key.private_jwk])).to.deep.equal([
      ['es-1', T0, undefined],
    ]);
    expect(a.signingKey('ES256').kid).to.equal('es-1');
    expect(b.signingKey('ES256').kid).to.equal('es-1');
    // An instance without them publishes and verifies, but cannot sign.
    const c = instance(store);
    await c.whenReady();
    expect(c.jwks()).to.deep.equal(a.jwks());
    expect(c.verificationKey('es-1')?.alg).to.equal('ES256');
    expect(() => c.signingKey('ES256')).to.throw(
      OAuthError,
      'The server encountered an unexpected error.',
    );
  });

  it('seeds only algs the schedule has no key of: a retired key in options.keys never comes back', async () => {
    const store = new MemoryKeyStore();
    const es1 = privateJwk('es-1');
    const first = instance(store, { keys: [es1], gracePeriodSeconds: 60 });
    await first.whenReady();
    await first.add(privateJwk('es-2'));
    await first.rotate('ES256');
    clock += 61_000;
    // The next change leaves es-1 out of the schedule for good.
    await first.add(privateJwk('es-3'));
    expect((await store.load()).keys.map((key) => key.kid)).to.deep.equal(['es-2', 'es-3']);
    // An instance still configured with es-1 starts after that.
    const late = instance(store, { keys: [es1] });
    await late.whenReady();
    expect(late.signingKey('ES256').kid).to.equal('es-2');
    expect(late.jwks().keys.map((key) => key.kid)).to.deep.equal(['es-2', 'es-3']);
    expect((await store.load()).keys.map((key) => key.kid)).to.deep.equal(['es-2', 'es-3']);
    // A new alg in its options.keys is entered.
    const withEdDsa = instance(store, {
      keys: [
        es1,
        {
          ...crypto.generateKeyPairSync('ed25519').privateKey.export({ format: 'jwk' }),
          kid: 'ed-1',
          alg: 'EdDSA',
        } as SigningKeyInput,
      ],
    });
    await withEdDsa.whenReady();
    expect(withEdDsa.signingKey('EdDSA').kid).to.equal('ed-1');
    expect((await store.load()).keys.map((key) => key.kid)).to.deep.equal(['es-2', 'es-3', 'ed-1']);
  });

  it('keeps a private JWK given to add() in the store, for every instance', async () => {
    const store = new MemoryKeyStore();
    const [a, b] = [instance(store, { keys: [privateJwk('es-1')] }), instance(store)];
    await Promise.all([a.whenReady(), b.whenReady()]);
    await a.add(privateJwk('es-2'));
    await a.rotate('ES256');
    await waitUntil(async () => b.jwks().keys.length === 2, 'the other instance reading it');
    expect(b.signingKey('ES256').kid).to.equal('es-2');
    const stored = (await store.load()).keys.find((key) => key.kid === 'es-2')!;
    expect(stored.private_jwk).to.include({ kty: 'EC', crv: 'P-256' });
    expect(stored.private_jwk).to.have.property('d');
  });

  it('goes on signing with what it read when reading again fails, and warns', async () => {
    const store = new FlakyStore();
    const warnings: string[] = [];
    const set = instance(store, { warn: (message) => warnings.push(message) });
    set.ensure('ES256');
    await set.whenReady();
    const kid = set.signingKey('ES256').kid;
    store.down = true;
    const loads = store.loads;
    await waitUntil(async () => store.loads > loads + 1, 'reads in the background');
    expect(set.signingKey('ES256').kid).to.equal(kid);
    expect(warnings).to.deep.equal([
      'customTokenExchange: reading the signing-key schedule failed (Error: connection ' +
        'refused); signing goes on with the schedule read before.',
    ]);
  });

  it('leaves out a stored key it cannot import, with a warning', async () => {
    const store = new MemoryKeyStore();
    const warnings: string[] = [];
    const good = instance(store, { keys: [privateJwk('es-1')] });
    await good.whenReady();
    const { revision, keys } = await store.load();
    await store.save(revision, [
      ...keys,
      {
        ...keys[0]!,
        kid: 'broken',
        public_jwk: { kty: 'EC', crv: 'P-256', x: 'AA', y: 'AA' },
        signs_from: null,
      },
    ]);
    const reader = instance(store, { warn: (message) => warnings.push(message) });
    await reader.whenReady();
    expect(reader.jwks().keys.map((key) => key.kid)).to.deep.equal(['es-1']);
    expect(warnings).to.have.length(1);
    expect(warnings[0]).to.match(/^customTokenExchange: the signing key "broken" is left out: /);
  });
});
