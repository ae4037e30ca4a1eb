import type { NextFunction, Request, RequestHandler, Response } from 'express';

/**
 * Runs Express handlers one after the other as a single handler, the way an Express route runs
 * its handlers (a throw or a rejected promise is `next(err)`; `next('route')`, `next('router')` or
 * an error leaves the sequence for the caller's `next`), without a router layer for each: the token
 * endpoint's nine steps are on every exchange's path.
 */
export function inSequence(steps: readonly RequestHandler[]): RequestHandler {
  return function runInSequence(req: Request, res: Response, done: NextFunction): void {
    let index = 0;
    const next = (err?: unknown): void => {
      if (err) {
        done(err);
        return;
      }
      const step = steps[index++];
      if (step === undefined) {
        done();
        return;
      }
      try {
        const result: unknown = step(req, res, next);
        if (result instanceof Promise) {
          result.catch((reason: unknown) => next(reason ?? new Error('Rejected promise')));
        }
      } catch (thrown) {
        next(thrown ?? new Error('Thrown undefined'));
      }
    };
    next();
  };
}
