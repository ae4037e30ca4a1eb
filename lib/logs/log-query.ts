import type { LogEntry, LogEntryType, LogSink } from './log-entry.js';

/**
 * A query of {@link MemoryLogSink.list}; every field optional, and the filters combine (an entry
 * is listed only when it matches them all). Results are newest first.
 */
export interface LogQuery {
  /** Only entries of this type, or of any of these types (`secte`, `fecte`, ...). */
  type?: LogEntryType | readonly LogEntryType[];
  /**
   * Only entries whose `date` is at or after this instant (inclusive): an ISO 8601 date or
   * date-time (`2026-11-25`, `2026-11-25T19:00:00Z`; a date alone is midnight UTC), or a `Date`.
   */
  from_date?: string | Date;
  /**
   * Only entries whose `date` is before this instant (exclusive, so consecutive windows such as
   * `[10:00, 11:00)` and `[11:00, 12:00)` never list an entry twice); same forms as `from_date`.
   */
  to_date?: string | Date;
  /** Only entries of this application (`client_id`, exact). */
  client_id?: string;
  /** Only entries of this user (`user_id`, exact, e.g. `auth0|alice`). */
  user_id?: string;
  /**
   * Only entries from this IP address. Compared as an address, not as text: an IPv4-mapped IPv6
   * address (`::ffff:203.0.113.7`, as Node reports IPv4 clients on a dual-stack socket) matches
   * its IPv4 form, and IPv6 letters match in any case.
   */
  ip?: string;
  /**
   * A `log_id` cursor: only entries written before that entry (exclusive), so the last `log_id`
   * of one page is the `from` of the next. Paging this way is stable while entries keep
   * arriving: new entries are newer than any cursor, so pages neither repeat nor skip entries.
   * An id no longer in the ring gives an empty page: everything older than an evicted entry has
   * been evicted too.
   */
  from?: string;
  /** Page size, a positive integer. Default: every matching entry. */
  take?: number;
}

/** A {@link LogQuery} checked, with its dates in ms and its IP normalized. */
export interface ParsedLogQuery {
  types: ReadonlySet<string> | undefined;
  /** Inclusive. */
  fromMs: number | undefined;
  /** Exclusive. */
  toMs: number | undefined;
  clientId: string | undefined;
  userId: string | undefined;
  /** {@link normalizeIp}'s form. */
  ip: string | undefined;
  from: string | undefined;
  take: number | undefined;
}

const QUERY_FIELDS: ReadonlySet<string> = new Set([
  'type',
  'from_date',
  'to_date',
  'client_id',
  'user_id',
  'ip',
  'from',
  'take',
]);

/**
 * Checks a query of a queryable sink, the same for every sink so they answer alike.
 *
 * @param who the method named in errors (`MemoryLogSink.list`).
 * @throws TypeError when `query` has a field {@link LogQuery} does not define (a misspelt
 *   filter would otherwise list everything).
 * @throws RangeError when `take` is not a positive integer, or a date is not a date.
 */
export function parseLogQuery(query: LogQuery, who: string): ParsedLogQuery {
  if (typeof query !== 'object' || query === null) {
    throw new TypeError(`${who}: the query must be an object`);
  }
  for (const field of Object.keys(query)) {
    if (!QUERY_FIELDS.has(field)) {
      throw new TypeError(`${who}: unknown query field ${JSON.stringify(field)}`);
    }
  }
  const { take } = query;
  if (take !== undefined && (!Number.isInteger(take) || take < 1)) {
    throw new RangeError(`${who}: take must be a positive integer`);
  }
  for (const field of ['from', 'client_id', 'user_id', 'ip'] as const) {
    if (query[field] !== undefined && typeof query[field] !== 'string') {
      throw new RangeError(`${who}: ${field} must be a string`);
    }
  }
  return {
    types: query.type === undefined ? undefined : checkTypes(query.type, who),
    fromMs: query.from_date === undefined ? undefined : toMs(query.from_date, 'from_date', who),
    toMs: query.to_date === undefined ? undefined : toMs(query.to_date, 'to_date', who),
    clientId: query.client_id,
    userId: query.user_id,
    ip: query.ip === undefined ? undefined : normalizeIp(query.ip),
    from: query.from,
    take,
  };
}

function checkTypes(type: LogQuery['type'], who: string): ReadonlySet<string> {
  const types: readonly unknown[] = Array.isArray(type) ? type : [type];
  if (types.length === 0 || types.some((t) => typeof t !== 'string' || t === '')) {
    throw new RangeError(`${who}: type must be a log entry type or a non-empty array`);
  }
  return new Set(types as string[]);
}

function toMs(value: string | Date, field: string, who: string): number {
  const time =
    value instanceof Date ? value.getTime() : typeof value === 'string' ? Date.parse(value) : NaN;
  if (Number.isNaN(time)) {
    throw new RangeError(`${who}: ${field} must be an ISO 8601 date or a Date`);
  }
  return time;
}

/** `::ffff:203.0.113.7` → `203.0.113.7`; IPv6 in lower case. */
export function normalizeIp(ip: string): string {
  const lower = ip.toLowerCase();
  return lower.startsWith('::ffff:') && lower.includes('.') ? lower.slice(7) : lower;
}

/**
 * A sink that answers queries like the in-memory ring's `list()` (`MemoryLogSink`,
 * `PostgresLogSink`): newest first, the same filters and cursors.
 */
export interface QueryableLogSink extends LogSink {
  list(query?: LogQuery): LogEntry[] | Promise<LogEntry[]>;
  /** Writes what the sink buffered, so `list()` sees every entry written before. */
  flush?(): Promise<void>;
}

/** Whether `sink` answers queries. */
export function isQueryableLogSink(sink: LogSink): sink is QueryableLogSink {
  return typeof (sink as Partial<QueryableLogSink>).list === 'function';
}
