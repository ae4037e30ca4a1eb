import type { Request } from 'express';

const refreshRequests = new WeakSet<Request>();

/** Marks a token request the router took as a `refresh_token` grant for one of its tokens. */
export function markRefreshTokenRequest(req: Request): void {
  refreshRequests.add(req);
}

/** Whether `req` is one of the router's refresh token grants (for its steps and its log type). */
export function isRefreshTokenRequest(req: Request): boolean {
  return refreshRequests.has(req);
}
