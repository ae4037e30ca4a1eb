import type { Request } from 'express';
import { ManagementApiError, invalidQuery } from './management-errors.js';
import { queryInteger, queryValue } from './management-route.js';

/** Auth0 refuses offset paging past its first 1000 records; checkpoints reach further. */
const MAX_OFFSET_RECORDS = 1000;

/**
 * A list paged the way Auth0 pages organizations, their members and roles:
 * - `from` / `take` (checkpoint, where Auth0 offers it: when `keyOf` is given):
 *   `{ [name]: items, next? }`, `next` being the key of the first item of the following page, to
 *   pass as `from`;
 * - otherwise `page` / `per_page` (offset, 50 by default, at most 100): the bare array, or with
 *   `include_totals=true` `{ [name]: items, start, limit, total }`.
 */
export function pagedList<T>(
  req: Request,
  name: string,
  items: readonly T[],
  keyOf?: (item: T) => string,
): unknown {
  const from = keyOf && queryValue(req, 'from');
  if (keyOf && (from !== undefined || queryValue(req, 'take') !== undefined)) {
    const take = queryInteger(req, 'take', 50, 1, 100);
    const start = from === undefined ? 0 : items.findIndex((item) => keyOf(item) === from);
    if (start < 0) throw invalidQuery('Query validation error: from is not a valid checkpoint.');
    const next = items[start + take];
    return { [name]: items.slice(start, start + take), ...(next ? { next: keyOf(next) } : {}) };
  }
  const page = queryInteger(req, 'page', 0, 0, MAX_OFFSET_RECORDS);
  const perPage = queryInteger(req, 'per_page', 50, 1, 100);
  const start = page * perPage;
  if (start + perPage > MAX_OFFSET_RECORDS) {
    throw new ManagementApiError(
      400,
      'invalid_paging',
      `Requesting page exceeds the allowed maximum of ${MAX_OFFSET_RECORDS} records`,
    );
  }
  const slice = items.slice(start, start + perPage);
  if (!includeTotals(req)) return slice;
  return { [name]: slice, start, limit: perPage, total: items.length };
}

/** `include_totals`: `true` or `false`, absent meaning `false`. */
function includeTotals(req: Request): boolean {
  const value = queryValue(req, 'include_totals');
  if (value === undefined || value === 'false') return false;
  if (value === 'true') return true;
  throw invalidQuery('Query validation error: include_totals must be true or false.');
}
