import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import { PostgresRefreshTokenStore } from '../../lib/stores/postgres/postgres-refresh-token-store.js';
import type { RefreshTokenFamily } from '../../lib/stores/refresh-token-store.js';
import { refreshTokenStoreContract } from '../../lib/testing/index.js';
import { onEachDatabase } from '../support/postgres-databases.js';
import { testFamily } from '../support/refresh-families.js';

const T0 = Date.UTC(2026, 0, 1);

const family = (id: string, fields: Partial<RefreshTokenFamily> = {}) =>
  testFamily(id, T0, { user_id: `auth0|${id}`, ...fields });

onEachDatabase('PostgresRefreshTokenStore', (db) => {
  refreshTokenStoreContract(() => new PostgresRefreshTokenStore({ database: db().database }), {
    name: 'the RefreshTokenStore contract',
  });

  it('keeps fields it has no column for, as given, through every write', async () => {
    const store = new PostgresRefreshTokenStore({ database: db().database });
    const id = `rtf_${randomUUID()}`;
    const bound = {
      ...family(id),
      auth_time: Math.floor(T0 / 1000),
      dpop_jkt: 'NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs',
      __proto__: 'not a prototype',
    } as RefreshTokenFamily;
    await store.create(bound, {
      token_hash: `h-${id}`,
      family_id: id,
      generation: 0,
      created_at: T0,
    });
    await store.revokeFamily(id, T0 + 1);
    const found = (await store.find(`h-${id}`, id))!.family as unknown as Record<string, unknown>;
    expect(found.auth_time).to.equal(Math.floor(T0 / 1000));
    expect(found.dpop_jkt).to.equal('NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs');
    expect(Object.getPrototypeOf(found)).to.equal(Object.prototype);
    expect(found.revoked_at).to.equal(T0 + 1);
  });

  it('forgets tokens older than maxGenerationsPerFamily generations, never the current ones', async () => {
    const store = new PostgresRefreshTokenStore({
      database: db().database,
      maxGenerationsPerFamily: 3,
    });
    const id = `rtf_${randomUUID()}`;
    const hash = (generation: number, sibling = '') => `g${generation}${sibling}-${id}`;
    await store.create(family(id), {
      token_hash: hash(0),
      family_id: id,
      generation: 0,
      created_at: T0,
    });
    for (let generation = 1; generation <= 4; generation += 1) {
      const written = await store.compareAndSet(
        id,
        generation - 1,
        { last_used_at: T0, generation, rotated_at: T0 },
        { token_hash: hash(generation), family_id: id, generation, created_at: T0 },
      );
      expect(written).to.equal(true);
    }
    // Within the leeway a sibling of the current generation is added without a new generation.
    expect(
      await store.compareAndSet(
        id,
        4,
        { last_used_at: T0 },
        { token_hash: hash(4, 'b'), family_id: id, generation: 4, created_at: T0 },
      ),
    ).to.equal(true);
    const known = [];
    for (const name of [hash(0), hash(1), hash(2), hash(3), hash(4), hash(4, 'b')]) {
      if ((await store.find(name)) !== undefined) known.push(name);
    }
    expect(known).to.deep.equal([hash(2), hash(3), hash(4), hash(4, 'b')]);
    const rows = await db().query<{ n: unknown }>(
      'SELECT count(*) AS n FROM cte_refresh_tokens WHERE family_id = $1',
      [id],
    );
    expect(Number(rows[0]!.n)).to.equal(4);
  });

  it('refuses a successor or a first token of another family, and bad options', async () => {
    const store = new PostgresRefreshTokenStore({ database: db().database });
    const id = `rtf_${randomUUID()}`;
    const error = await store
      .create(family(id), {
        token_hash: `h-${id}`,
        family_id: 'rtf_other',
        generation: 0,
        created_at: T0,
      })
      .then(
        () => undefined,
        (err: unknown) => err,
      );
    expect(error).to.be.instanceOf(TypeError);
    await store.create(family(id), {
      token_hash: `h-${id}`,
      family_id: id,
      generation: 0,
      created_at: T0,
    });
    const cas = await store
      .compareAndSet(
        id,
        0,
        { last_used_at: T0 },
        {
          token_hash: `s-${id}`,
          family_id: 'rtf_other',
          generation: 1,
          created_at: T0,
        },
      )
      .then(
        () => undefined,
        (err: unknown) => err,
      );
    expect(cas).to.be.instanceOf(TypeError);
    expect((await store.find(`h-${id}`))!.family.revision).to.equal(0);
    expect(
      () => new PostgresRefreshTokenStore({ database: db().database, maxGenerationsPerFamily: 1 }),
    ).to.throw(
      TypeError,
      'PostgresRefreshTokenStore: options.maxGenerationsPerFamily must be an integer from 2 to 100000',
    );
  });
});
