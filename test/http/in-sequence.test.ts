import { expect } from 'chai';
import express from 'express';
import type { NextFunction, Request, Response } from 'express';
import request from 'supertest';
import { inSequence } from '../../lib/http/in-sequence.js';

/** An app whose POST /t runs `steps` in sequence, then reports how the sequence ended. */
function appWith(...steps: Array<(req: Request, res: Response, next: NextFunction) => unknown>) {
  const app = express();
  const seen: string[] = [];
  app.post(
    '/t',
    (req, _res, next) => {
      (req as Request & { seen: string[] }).seen = seen;
      next();
    },
    inSequence(steps as never[]),
    (_req, res) => {
      res.json({ ended: 'next', seen });
    },
  );
  app.post('/t', (_req, res) => {
    res.json({ ended: 'next route', seen });
  });
  app.use((err: Error, _req: Request, res: Response, _next: NextFunction) => {
    res.status(500).json({ ended: 'error', message: err.message, seen });
  });
  return app;
}

const step =
  (name: string, then: (next: NextFunction) => unknown = (next) => next()) =>
  (req: Request, _res: Response, next: NextFunction) => {
    (req as Request & { seen: string[] }).seen.push(name);
    return then(next);
  };

describe('inSequence: Express handlers run as one, with Express’s own semantics', () => {
  it('runs every step in order, then goes on to the next handler', async () => {
    const res = await request(appWith(step('a'), step('b'), step('c')))
      .post('/t')
      .expect(200);
    expect(res.body).to.deep.equal({ ended: 'next', seen: ['a', 'b', 'c'] });
  });

  it('answers from a step that writes the response, running nothing after it', async () => {
    const answering = (req: Request, res: Response) => {
      (req as Request & { seen: string[] }).seen.push('answer');
      res.status(201).json({ answered: true });
    };
    const res = await request(appWith(step('a'), answering, step('never')))
      .post('/t')
      .expect(201);
    expect(res.body).to.deep.equal({ answered: true });
  });

  it("leaves for the next route on next('route')", async () => {
    const res = await request(
      appWith(
        step('a', (next) => next('route')),
        step('never'),
      ),
    )
      .post('/t')
      .expect(200);
    expect(res.body).to.deep.equal({ ended: 'next route', seen: ['a'] });
  });

  it('turns next(err), a throw, and a rejected promise into the error handler', async () => {
    for (const failing of [
      step('a', (next) => next(new Error('passed'))),
      step('a', () => {
        throw new Error('thrown');
      }),
      step('a', async () => {
        await Promise.resolve();
        throw new Error('rejected');
      }),
    ]) {
      const res = await request(appWith(failing, step('never')))
        .post('/t')
        .expect(500);
      expect(res.body.seen).to.deep.equal(['a']);
      expect(['passed', 'thrown', 'rejected']).to.include(res.body.message);
    }
  });

  it('waits for an async step that calls next later', async () => {
    const later = step('a', async (next) => {
      await new Promise((resolve) => setTimeout(resolve, 5));
      next();
    });
    const res = await request(appWith(later, step('b')))
      .post('/t')
      .expect(200);
    expect(res.body).to.deep.equal({ ended: 'next', seen: ['a', 'b'] });
  });
});
