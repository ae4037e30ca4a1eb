import assert from 'node:assert/strict';
import type { LogEntry, LogEntryType } from '../logs/log-entry.js';
import type { QueryableLogSink } from '../logs/log-query.js';
import type { LogQuery } from '../logs/log-query.js';
import { testApi, type ContractOptions, type StoreFactory } from './contract-api.js';

/** An entry of the contract's incident, `n` minutes after 2026-03-01T10:00Z. */
function entry(
  n: number,
  type: LogEntryType,
  client: string | null,
  user: string | undefined,
  ip: string,
): LogEntry {
  return {
    log_id: `log-${n}`,
    date: new Date(Date.UTC(2026, 2, 1, 10, n - 1)).toISOString(),
    type,
    description: type === 'secte' ? 'Successful Exchange' : 'Failed Exchange',
    client_id: client,
    client_name: client ?? '',
    ip,
    hostname: 'auth.example.com',
    ...(user === undefined ? {} : { user_id: user }),
    details: { subject_token_type: 'urn:acme:token', actor: { sub: `agent-${n}` } },
  };
}

/** What an operator would find after an incident: two clients, two users, three IPs. */
const INCIDENT: readonly LogEntry[] = [
  entry(1, 'secte', 'web', 'auth0|alice', '203.0.113.7'),
  entry(2, 'fecte', 'web', undefined, '198.51.100.9'),
  entry(3, 'fecte', 'mobile', undefined, '::ffff:198.51.100.9'),
  entry(4, 'secte', 'mobile', 'auth0|bob', '2001:DB8::1'),
  entry(5, 'fecte', null, undefined, '198.51.100.9'),
  entry(6, 'secte', 'web', 'auth0|bob', '203.0.113.7'),
  entry(7, 'secte', 'web', 'auth0|alice', '2001:db8::1'),
];

/** Queries of {@link INCIDENT} and the entry numbers they list, newest first. */
const QUERIES: ReadonlyArray<{ name: string; query: LogQuery; expected: number[] }> = [
  { name: 'no filter', query: {}, expected: [7, 6, 5, 4, 3, 2, 1] },
  { name: 'type', query: { type: 'fecte' }, expected: [5, 3, 2] },
  { name: 'several types', query: { type: ['secte', 'fecte'] }, expected: [7, 6, 5, 4, 3, 2, 1] },
  { name: 'client_id', query: { client_id: 'mobile' }, expected: [4, 3] },
  { name: 'user_id', query: { user_id: 'auth0|bob' }, expected: [6, 4] },
  { name: 'ip, IPv4', query: { ip: '203.0.113.7' }, expected: [6, 1] },
  {
    name: 'ip, matching the IPv4-mapped IPv6 form too',
    query: { ip: '198.51.100.9' },
    expected: [5, 3, 2],
  },
  {
    name: 'ip, given in its IPv4-mapped form',
    query: { ip: '::FFFF:198.51.100.9' },
    expected: [5, 3, 2],
  },
  { name: 'ip, IPv6 in any case', query: { ip: '2001:DB8::1' }, expected: [7, 4] },
  {
    name: 'from_date inclusive',
    query: { from_date: '2026-03-01T10:04:00.000Z' },
    expected: [7, 6, 5],
  },
  { name: 'to_date exclusive', query: { to_date: '2026-03-01T10:02:00Z' }, expected: [2, 1] },
  {
    name: 'a date range as Date objects',
    query: {
      from_date: new Date(Date.UTC(2026, 2, 1, 10, 1)),
      to_date: new Date(Date.UTC(2026, 2, 1, 10, 3)),
    },
    expected: [3, 2],
  },
  {
    name: 'a whole day given as dates',
    query: { from_date: '2026-03-01', to_date: '2026-03-02' },
    expected: [7, 6, 5, 4, 3, 2, 1],
  },
  { name: 'a range that holds nothing', query: { from_date: '2026-03-02' }, expected: [] },
  {
    name: 'an empty range (from after to)',
    query: { from_date: '2026-03-01T10:05:00Z', to_date: '2026-03-01T10:01:00Z' },
    expected: [],
  },
  {
    name: 'filters combined',
    query: { type: 'secte', client_id: 'web', from_date: '2026-03-01T10:01:00Z' },
    expected: [7, 6],
  },
  {
    name: 'filters with a cursor and take',
    query: { client_id: 'web', from: 'log-7', take: 2 },
    expected: [6, 2],
  },
  { name: 'a cursor no entry has', query: { from: 'log-99' }, expected: [] },
  { name: 'a filter nothing matches', query: { user_id: 'auth0|carol' }, expected: [] },
];

/**
 * Registers the tests every queryable tenant-log sink must pass: `list(query)` answers as the
 * in-memory ring does (newest first; filters by type, dates, client, user and IP; pages with
 * `take` and a `from` cursor; refuses unknown fields). `makeSink` must answer an empty sink.
 */
export function queryableLogSinkContract(
  makeSink: StoreFactory<QueryableLogSink>,
  options: ContractOptions = {},
): void {
  const { describe, it } = testApi(options);
  const ids = (entries: LogEntry[]) => entries.map((e) => e.log_id);
  const withEntries = async (entries: readonly LogEntry[]): Promise<QueryableLogSink> => {
    const sink = await makeSink();
    for (const e of entries) await sink.write(e);
    await sink.flush?.();
    return sink;
  };

  describe(options.name ?? 'queryable LogSink contract', () => {
    for (const { name, query, expected } of QUERIES) {
      it(`lists by ${name}`, async () => {
        const sink = await withEntries(INCIDENT);
        assert.deepEqual(
          ids(await sink.list(query)),
          expected.map((n) => `log-${n}`),
        );
      });
    }

    it('answers entries as they were written', async () => {
      const sink = await withEntries(INCIDENT);
      assert.deepEqual(await sink.list({ from: 'log-2' }), [INCIDENT[0]]);
      const [listed] = await sink.list({ take: 1 });
      listed!.details.actor!.sub = 'changed by a reader';
      assert.deepEqual((await sink.list({ take: 1 }))[0], INCIDENT[6]);
    });

    it('pages a filtered query with take and the last log_id as the next cursor', async () => {
      const sink = await withEntries(INCIDENT);
      const pages: string[][] = [];
      let from: string | undefined;
      for (;;) {
        const page = await sink.list({ ip: '198.51.100.9', take: 2, ...(from ? { from } : {}) });
        if (page.length === 0) break;
        pages.push(ids(page));
        from = page.at(-1)!.log_id;
      }
      assert.deepEqual(pages, [['log-5', 'log-3'], ['log-2']]);
    });

    it('pages stably while entries keep arriving: no page repeats or skips an entry', async () => {
      const numbered = (n: number) =>
        entry(n, n % 2 ? 'secte' : 'fecte', 'web', undefined, '203.0.113.7');
      const sink = await withEntries(Array.from({ length: 60 }, (_, i) => numbered(i + 1)));
      const expected = ids(await sink.list({ type: 'fecte' }));
      const seen: string[] = [];
      let from: string | undefined;
      let next = 61;
      for (;;) {
        const page = await sink.list({ type: 'fecte', take: 7, ...(from ? { from } : {}) });
        if (page.length === 0) break;
        seen.push(...ids(page));
        from = page.at(-1)!.log_id;
        // Exchanges keep writing between two pages.
        for (let k = 0; k < 3; k++, next++) await sink.write(numbered(next));
        await sink.flush?.();
      }
      assert.deepEqual(seen, expected);
      assert.equal(seen.length, 30);
    });

    it('uses the latest entry of a log_id written twice as the cursor', async () => {
      const sink = await withEntries([INCIDENT[0]!, INCIDENT[1]!, INCIDENT[0]!, INCIDENT[2]!]);
      assert.deepEqual(ids(await sink.list()), ['log-3', 'log-1', 'log-2', 'log-1']);
      assert.deepEqual(ids(await sink.list({ from: 'log-1' })), ['log-2', 'log-1']);
    });

    it('refuses unknown query fields and malformed filters', async () => {
      const sink = await withEntries([]);
      const invalid: Array<[LogQuery, ErrorConstructor]> = [
        [{ per_page: 10 } as LogQuery, TypeError],
        [null as unknown as LogQuery, TypeError],
        [{ from_date: 'yesterday' }, RangeError],
        [{ to_date: new Date(Number.NaN) }, RangeError],
        [{ type: [] }, RangeError],
        [{ client_id: 7 as unknown as string }, RangeError],
        [{ take: 0 }, RangeError],
        [{ take: 1.5 }, RangeError],
      ];
      for (const [query, kind] of invalid) {
        await assert.rejects(async () => sink.list(query), kind, JSON.stringify(query));
      }
    });
  });
}
