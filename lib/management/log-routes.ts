import type { Request } from 'express';
import type { LogEntryType } from '../logs/log-entry.js';
import type { LogQuery } from '../logs/memory-log-sink.js';
import { ManagementApiError, invalidQuery } from './management-errors.js';
import type { ManagementRouteGroup } from './management-route.js';
import { param, queryInteger, queryValue } from './management-route.js';

/** Auth0's search returns at most this many entries, over every page. */
const MAX_SEARCH_RESULTS = 1000;

/** How far an entry's `date` may lie from the time in its `log_id` (a slow exchange). */
const LOG_ID_WINDOW_MS = 5 * 60_000;

/**
 * `/logs` and `/logs/{id}` with `read:logs`. A list is either a search (`q`, or `search` as
 * Auth0's SDK names it, with `page`/`per_page` and `include_totals`) or a checkpoint (`from`
 * a `log_id` and `take`: the entries written before it, newest first; `q` is then ignored, as in
 * Auth0).
 */
export const logRoutes: ManagementRouteGroup = (routes, { logs }) => {
  routes.get('/logs', 'read:logs', async (req, res) => {
    const from = queryValue(req, 'from');
    if (from !== undefined) {
      const take = queryInteger(req, 'take', 50, 1, 100);
      res.json(await listed(logs.list({ from, take })));
      return;
    }
    const perPage = queryInteger(req, 'per_page', 50, 1, 100);
    const page = queryInteger(req, 'page', 0, 0, MAX_SEARCH_RESULTS);
    const includeTotals = queryValue(req, 'include_totals') === 'true';
    const found = await listed(logs.list({ ...searchQuery(req), take: MAX_SEARCH_RESULTS }));
    const entries = found.slice(page * perPage, (page + 1) * perPage);
    if (!includeTotals) {
      res.json(entries);
      return;
    }
    res.json({
      start: page * perPage,
      limit: perPage,
      length: entries.length,
      total: found.length,
      logs: entries,
    });
  });

  routes.get('/logs/:id', 'read:logs', async (req, res) => {
    const id = param(req, 'id');
    const notFound = new ManagementApiError(404, 'inexistent_log', 'Log not found');
    if (!/^[0-9a-f]{24}$/.test(id)) throw notFound;
    const at = parseInt(id.slice(0, 12), 16);
    const near = await logs.list({
      from_date: new Date(at - LOG_ID_WINDOW_MS),
      to_date: new Date(at + LOG_ID_WINDOW_MS),
    });
    const entry = near.find((candidate) => candidate.log_id === id);
    if (entry === undefined) throw notFound;
    res.json(entry);
  });
};

/**
 * The filters of Auth0's Lucene `q` that matter here, joined by spaces or `AND`: `type:secte`,
 * `type:(secte OR fecte)`, `client_id:"app"`, `user_id:"auth0|alice"`, `ip:203.0.113.7`,
 * `date:[2026-01-01 TO 2026-02-01]` (`*` for an open end; the end is exclusive).
 */
function searchQuery(req: Request): LogQuery {
  const q = queryValue(req, 'q') ?? queryValue(req, 'search');
  const query: LogQuery = {};
  if (q === undefined || q.trim() === '') return query;
  const term =
    /\s*(?:AND\s+)?([a-z_]+):(?:"((?:[^"\\]|\\.)*)"|\(([^)]*)\)|\[([^\]]*)\]|([^\s()"[\]]+))\s*/y;
  let at = 0;
  while (at < q.length) {
    term.lastIndex = at;
    const match = term.exec(q);
    if (!match) throw invalidQuery(`Query validation error: cannot read q at "${q.slice(at)}".`);
    at = term.lastIndex;
    const [, field, quoted, group, range, bare] = match;
    const value = quoted !== undefined ? quoted.replace(/\\(.)/g, '$1') : bare;
    switch (field) {
      case 'type':
        query.type = (
          group !== undefined ? group.split(/\s+OR\s+/).map((t) => t.trim()) : [single(value)]
        ) as LogEntryType[];
        break;
      case 'client_id':
        query.client_id = single(value);
        break;
      case 'user_id':
        query.user_id = single(value);
        break;
      case 'ip':
        query.ip = single(value);
        break;
      case 'date': {
        const bounds = range?.split(/\s+TO\s+/);
        if (bounds?.length !== 2) {
          throw invalidQuery('Query validation error: date takes a range [from TO to].');
        }
        if (bounds[0] !== '*') query.from_date = dateOf(bounds[0]!);
        if (bounds[1] !== '*') query.to_date = dateOf(bounds[1]!);
        break;
      }
      default:
        throw invalidQuery(
          `Query validation error: ${field} cannot be searched (type, client_id, user_id, ip, date).`,
        );
    }
  }
  return query;

  function single(value: string | undefined): string {
    if (value === undefined || value === '') {
      throw invalidQuery('Query validation error: a q term needs one value.');
    }
    return value;
  }
}

/** A query the log's sink cannot read is the caller's mistake: 400, with the sink's reason. */
async function listed<T>(answer: Promise<T>): Promise<T> {
  try {
    return await answer;
  } catch (err) {
    if (err instanceof TypeError || err instanceof RangeError) throw invalidQuery(err.message);
    throw err;
  }
}

function dateOf(text: string): string {
  if (Number.isNaN(Date.parse(text))) {
    throw invalidQuery(`Query validation error: ${JSON.stringify(text)} is not a date.`);
  }
  return text;
}
